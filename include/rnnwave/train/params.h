// rnnwave/train/params.h — a parameter and its gradient, as optimizers and clipping see them.
#pragma once

#include <array>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rnnwave/weights.h"

namespace rnnwave {

/// One parameter tensor and its gradient, as flat views over memory the caller owns.
/// Optimizers update `value` in place and keep their per-parameter state under `name`;
/// clip_grad_norm scales `grad` in place. The views must stay valid for the call only:
/// optimizers keep no pointer between calls, so a list may be rebuilt every step.
template <class T>
struct ParamRef {
  std::string name;    ///< unique among the parameters of one optimizer, e.g. "decoder.weight"
  std::span<T> value;  ///< the parameter, any shape, flattened
  std::span<T> grad;   ///< its gradient, the same number of elements
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

/// One ParamRef per parameter of a recurrent stack, in state_dict order, named
/// `prefix` + PyTorch's name (e.g. prefix "rnn." gives "rnn.weight_ih_l0"). `grads` holds
/// the gradients (BackwardArgs::grad_weights); its spec must equal that of `values`
/// (throws Error otherwise).
template <class T>
std::vector<ParamRef<T>> param_refs(const std::string& prefix, BasicWeights<T>& values,
                                    BasicWeights<T>& grads);

}  // namespace rnnwave
