// Adam, as torch.optim.Adam (L2 weight decay, eps outside the square root, no amsgrad).
#include <cmath>

#include "train/optimizer_rules.h"

namespace rnnwave::train {

std::vector<std::string_view> adam_buffers(const OptimizerOptions&) {
  return {"exp_avg", "exp_avg_sq"};
}

template <class T>
void adam_update(const OptimizerOptions& options, const StepScalars& scalars, T* value,
                 const T* grad, std::span<T* const> buffers, int64_t begin, int64_t end) {
  // The scalars in double, in PyTorch's order of operations.
  const auto t = static_cast<double>(scalars.step);
  const double correction1 = 1 - std::pow(options.beta1, t);
  const double correction2 = 1 - std::pow(options.beta2, t);
  const T step_size = static_cast<T>(-(scalars.learning_rate / correction1));
  const T correction2_sqrt = static_cast<T>(std::sqrt(correction2));
  const T beta1 = static_cast<T>(options.beta1), beta2 = static_cast<T>(options.beta2);
  const T one_minus_beta1 = static_cast<T>(1 - options.beta1);
  const T one_minus_beta2 = static_cast<T>(1 - options.beta2);
  const T decay = static_cast<T>(options.weight_decay), eps = static_cast<T>(options.eps);
  // Distinct arrays (the optimizer's own buffers beside a parameter and its gradient), so
  // that the loop vectorises: the same IEEE operations per element, the same bits.
  T* __restrict out = value;
  const T* __restrict g_in = grad;
  T* __restrict exp_avg = buffers[0];
  T* __restrict exp_avg_sq = buffers[1];
  const T use_decay = options.weight_decay != 0 ? T(1) : T(0);  // no branch in the loop
  for (int64_t i = begin; i < end; ++i) {
    const T g = use_decay != 0 ? g_in[i] + decay * out[i] : g_in[i];
    const T m = beta1 * exp_avg[i] + one_minus_beta1 * g;
    const T v = beta2 * exp_avg_sq[i] + one_minus_beta2 * (g * g);
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    const T denom = std::sqrt(v) / correction2_sqrt + eps;
    out[i] = out[i] + step_size * (m / denom);
  }
}

template void adam_update<float>(const OptimizerOptions&, const StepScalars&, float*, const float*,
                                 std::span<float* const>, int64_t, int64_t);
template void adam_update<double>(const OptimizerOptions&, const StepScalars&, double*,
                                  const double*, std::span<double* const>, int64_t, int64_t);

}  // namespace rnnwave::train
