// Stochastic gradient descent with momentum, as torch.optim.SGD (dampening 0).
#include "train/optimizer_rules.h"

namespace rnnwave::train {

std::vector<std::string_view> sgd_buffers(const OptimizerOptions& options) {
  if (options.momentum == 0) return {};
  return {"momentum_buffer"};
}

template <class T>
void sgd_update(const OptimizerOptions& options, const StepScalars& scalars, T* value,
                const T* grad, std::span<T* const> buffers, int64_t begin, int64_t end) {
  const T lr = static_cast<T>(scalars.learning_rate);
  const T decay = static_cast<T>(options.weight_decay);
  const T momentum = static_cast<T>(options.momentum);
  const bool first = scalars.step == 1;
  T* buffer = buffers.empty() ? nullptr : buffers[0];
  if (buffer == nullptr && options.weight_decay == 0) {
    // Plain SGD (a language model's 20-million-element embedding and head): the same
    // arithmetic as below, in a loop without branches that the compiler vectorises.
    for (int64_t i = begin; i < end; ++i) value[i] = value[i] - lr * grad[i];
    return;
  }
  for (int64_t i = begin; i < end; ++i) {
    T d = grad[i];
    if (options.weight_decay != 0) d = d + decay * value[i];
    if (buffer != nullptr) {
      buffer[i] = first ? d : momentum * buffer[i] + d;  // the buffer starts as the gradient
      d = options.nesterov ? d + momentum * buffer[i] : buffer[i];
    }
    value[i] = value[i] - lr * d;
  }
}

template void sgd_update<float>(const OptimizerOptions&, const StepScalars&, float*, const float*,
                                std::span<float* const>, int64_t, int64_t);
template void sgd_update<double>(const OptimizerOptions&, const StepScalars&, double*,
                                 const double*, std::span<double* const>, int64_t, int64_t);

}  // namespace rnnwave::train
