// rnnwave/train/params.h — a parameter and its gradient: the one form in which layers,
// tasks, optimizers, clipping, checkpoints and the Trainer all see a model's parameters.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rnnwave/weights.h"

namespace rnnwave {

/// One parameter tensor and its gradient (as flashlight's Module::params or torch's
/// named_parameters), as flat views over memory its owner (a layer, a task) keeps:
///   name   unique within a model, e.g. "rnn.weight_ih_l0", "head.weight"; the key of the
///          optimizer's per-parameter state and of the tensor in checkpoints and exports;
///   shape  the tensor's dimensions, e.g. {O, I} for a linear layer's weight; its product
///          is value.size() (optimizers and clipping ignore it: they work elementwise);
///   value  the parameter, flattened in row-major order;
///   grad   its gradient, the same number of elements.
/// Optimizers update `value` in place and keep their state under `name`; clip_grad_norm
/// scales `grad` in place. They keep no pointer between calls. A model that keeps its
/// buffers in place (every layer here does) may hand out its list once: the Trainer asks a
/// task for it once and keeps it.
template <class T>
struct Parameter {
  std::string name;
  std::vector<int64_t> shape;
  std::span<T> value;
  std::span<T> grad;
};

/// What a backward pass does with a parameter gradient buffer.
///   overwrite:  the buffer receives this pass's gradient (as BasicRnn::backward does);
///   accumulate: this pass's gradient is added to it (as PyTorch's .grad), e.g. for a
///               weight used twice or a batch processed in parts.
enum class GradMode { overwrite, accumulate };

inline constexpr int kGradModeCount = 2;
inline constexpr std::array<GradMode, kGradModeCount> kAllGradModes = {GradMode::overwrite,
                                                                       GradMode::accumulate};
std::string_view to_string(GradMode mode);

/// One Parameter per parameter of a recurrent stack, in state_dict order, named
/// `prefix` + PyTorch's name (e.g. prefix "rnn." gives "rnn.weight_ih_l0"), with PyTorch's
/// shape. `grads` holds the gradients (BackwardArgs::grad_weights); its spec must equal
/// that of `values` (throws Error otherwise).
template <class T>
std::vector<Parameter<T>> named_parameters(const std::string& prefix, BasicWeights<T>& values,
                                    BasicWeights<T>& grads);

}  // namespace rnnwave
