// rnnwave/train/optimizer.h — SGD with momentum and Adam, with PyTorch's semantics, over
// any list of parameters (the recurrent stack's BasicWeights and the other layers alike).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rnnwave/tensor.h"
#include "rnnwave/train/params.h"

namespace rnnwave {

/// The update rules, as torch.optim (1.13, defaults otherwise: dampening 0, no amsgrad,
/// not maximize). For every element, with g the gradient and p the parameter:
///   sgd:  g += weight_decay * p
///         momentum > 0:  buf = g at the first step, momentum * buf + g after;
///                        g = nesterov ? g + momentum * buf : buf
///         p -= lr * g
///   adam: g += weight_decay * p                (L2, as torch.optim.Adam, not AdamW)
///         m = beta1 * m + (1 - beta1) * g,  v = beta2 * v + (1 - beta2) * g^2
///         p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
///         where t counts steps from 1 (eps outside the square root).
enum class OptimizerKind { sgd, adam };

inline constexpr int kOptimizerKindCount = 2;
inline constexpr std::array<OptimizerKind, kOptimizerKindCount> kAllOptimizerKinds = {
    OptimizerKind::sgd, OptimizerKind::adam};

std::string_view to_string(OptimizerKind kind);
/// Inverse of to_string; throws Error listing the valid names.
OptimizerKind parse_optimizer_kind(std::string_view name);

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::sgd;
  double learning_rate = 0.01;  ///< lr > 0; change it between steps with set_learning_rate
  double weight_decay = 0;      ///< >= 0
  double momentum = 0;          ///< sgd: in [0, 1)
  bool nesterov = false;        ///< sgd: needs momentum > 0
  double beta1 = 0.9;           ///< adam: in [0, 1)
  double beta2 = 0.999;         ///< adam: in [0, 1)
  double eps = 1e-8;            ///< adam: > 0

  /// Throws Error naming the first out-of-range option and its value.
  void validate() const;
};

/// Everything an optimizer remembers between steps, for checkpoints. Restoring it with
/// load_state makes the following steps bit-identical to an uninterrupted run.
///   scalars: "step" (steps taken, an integer) and "learning_rate";
///   tensors: "<param name>/<buffer>" of shape [size of the parameter], the buffers being
///            "momentum_buffer" (sgd with momentum > 0) or "exp_avg" and "exp_avg_sq"
///            (adam); none for plain sgd.
/// Doubles hold every step count a run reaches (below 2^53) exactly; written as text they
/// need 17 significant digits to come back bit-exact (float tensors: 9, or use .npy/.npz).
template <class T>
struct OptimizerState {
  std::map<std::string, double> scalars;
  std::map<std::string, BasicTensor<T>> tensors;
};

/// An optimizer: per-parameter state kept by parameter name, updated by step().
///
/// The parameter list is fixed by the first step (or by load_state): every later step
/// must pass the same names with the same sizes, in any order. Updates are elementwise,
/// so results do not depend on the number of threads.
template <class T>
class BasicOptimizer {
 public:
  /// Validates the options (throws Error).
  explicit BasicOptimizer(const OptimizerOptions& options);
  ~BasicOptimizer();
  BasicOptimizer(BasicOptimizer&&) noexcept;
  BasicOptimizer& operator=(BasicOptimizer&&) noexcept;

  const OptimizerOptions& options() const;
  double learning_rate() const;
  /// For learning-rate schedules (lr_schedule.h); lr must be finite and > 0.
  void set_learning_rate(double lr);
  /// Steps taken so far (restored by load_state).
  int64_t steps() const;
  /// The buffers kept per parameter: {}, {"momentum_buffer"} or {"exp_avg", "exp_avg_sq"}.
  std::vector<std::string> buffer_names() const;

  /// One update of every parameter from its gradient. Validates first, throwing Error
  /// before anything is changed for: an empty or repeated name, value and grad of
  /// different sizes, a non-finite gradient (naming the parameter and element), or a
  /// list that differs from the bound one (naming the first missing, extra or resized
  /// parameter).
  void step(std::span<const Parameter<T>> params);

  /// A copy of the state (see OptimizerState).
  OptimizerState<T> state() const;

  /// Replaces the state by a saved one. Throws Error, changing nothing, if it is not the
  /// state of an optimizer of this kind and buffers: a missing or extra scalar, a tensor
  /// name that is not "<param>/<buffer>" for this kind's buffers, a parameter lacking a
  /// buffer, buffers of one parameter with different sizes, a non-1-D tensor, a
  /// non-finite value, a step count that is not a non-negative integer.
  void load_state(const OptimizerState<T>& state);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

using Optimizer = BasicOptimizer<float>;

extern template class BasicOptimizer<float>;
extern template class BasicOptimizer<double>;

}  // namespace rnnwave
