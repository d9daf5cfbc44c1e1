// Mean squared error for regression.
#include <cmath>

#include "common/finite.h"
#include "common/strings.h"
#include "rnnwave/train/loss.h"
#include "train/check.h"

namespace rnnwave {

template <class T>
LossValue mse_loss(std::span<const T> predictions, std::span<const T> targets,
                   std::span<const T> row_weights, std::span<T> grad_predictions, double grad_scale) {
  const auto rows = static_cast<int64_t>(predictions.size());
  train::expect_size("mse_loss: targets [M]", targets.size(), {rows});
  if (!grad_predictions.empty()) {
    train::expect_size("mse_loss: grad_predictions [M]", grad_predictions.size(), {rows});
  }
  check_finite<T>(predictions, {rows}, "mse_loss: predictions");
  check_finite<T>(targets, {rows}, "mse_loss: targets");
  double weight = static_cast<double>(rows);
  if (!row_weights.empty()) {
    train::expect_size("mse_loss: row_weights [M]", row_weights.size(), {rows});
    weight = train::checked_weight_sum("mse_loss: row_weights", row_weights);
  }
  if (!(weight > 0)) fail("mse_loss: no row counted (the row weights of ", rows, " rows sum to 0)");
  LossValue value;
  for (int64_t m = 0; m < rows; ++m) {
    const double w = row_weights.empty() ? 1.0 : static_cast<double>(row_weights[m]);
    const double diff = static_cast<double>(predictions[m]) - static_cast<double>(targets[m]);
    value.total += w * diff * diff;
    if (!grad_predictions.empty()) grad_predictions[m] = static_cast<T>(grad_scale * 2.0 * w * diff / weight);
  }
  value.weight = weight;
  value.mean = value.total / weight;
  return value;
}

template LossValue mse_loss<float>(std::span<const float>, std::span<const float>,
                                   std::span<const float>, std::span<float>, double);
template LossValue mse_loss<double>(std::span<const double>, std::span<const double>,
                                    std::span<const double>, std::span<double>, double);

}  // namespace rnnwave
