// Softmax cross-entropy and log-likelihood over rows of logits.
#include <algorithm>
#include <cmath>
#include <vector>

#include "common/finite.h"
#include "common/strings.h"
#include "kernels/activations.h"
#include "rnnwave/train/loss.h"
#include "train/check.h"
#include "train/parallel.h"

namespace rnnwave {
namespace {

// float: the vectorisable exp of the cells (a few ulp); double: libm.
inline float exp_of(float x) { return kernels::exp_approx(x); }
inline double exp_of(double x) { return std::exp(x); }

/// Validates a (logits, targets, row_weights) triple; returns the sum of the weights.
template <class T>
double check_rows(std::string_view what, std::span<const T> logits, int64_t rows, int64_t classes,
                  std::span<const int64_t> targets, std::span<const T> row_weights) {
  train::expect_at_least(cat(what, ": rows M"), rows, 0);
  train::expect_at_least(cat(what, ": classes C"), classes, 1);
  train::expect_size(cat(what, ": logits [M, C]"), logits.size(), {rows, classes});
  train::expect_size(cat(what, ": targets [M]"), targets.size(), {rows});
  train::expect_ids_below(cat(what, ": targets"), targets, classes);
  check_finite<T>(logits, {rows, classes}, cat(what, ": logits"));
  if (row_weights.empty()) return static_cast<double>(rows);
  train::expect_size(cat(what, ": row_weights [M]"), row_weights.size(), {rows});
  return train::checked_weight_sum(cat(what, ": row_weights"), row_weights);
}

/// nll[m] = logsumexp(logits[m]) - logits[m, targets[m]] for every row; if grad is not
/// empty, also grad[m, :] = scale * w_m * (softmax - onehot). Rows in parallel, each row
/// on one thread with sums in increasing class order.
template <class T>
std::vector<double> row_nll(std::span<const T> logits, int64_t rows, int64_t classes,
                            std::span<const int64_t> targets, std::span<const T> row_weights,
                            double scale, std::span<T> grad) {
  std::vector<double> nll(static_cast<size_t>(rows));
  const int64_t block = std::max<int64_t>(1, train::kElementBlock / classes);
  train::parallel_blocks(rows, block, [&](int64_t begin, int64_t end) {
    std::vector<T> scratch(grad.empty() ? static_cast<size_t>(classes) : 0);
    for (int64_t m = begin; m < end; ++m) {
      const T* x = logits.data() + m * classes;
      T* e = grad.empty() ? scratch.data() : grad.data() + m * classes;
      const T max = *std::max_element(x, x + classes);
      for (int64_t c = 0; c < classes; ++c) e[c] = exp_of(x[c] - max);
      double sum = 0;
      for (int64_t c = 0; c < classes; ++c) sum += static_cast<double>(e[c]);
      const int64_t target = targets[m];
      nll[m] = static_cast<double>(max) + std::log(sum) - static_cast<double>(x[target]);
      if (grad.empty()) continue;
      const double w = row_weights.empty() ? 1.0 : static_cast<double>(row_weights[m]);
      const double row_scale = scale * w, inverse = 1.0 / sum;
      const double p_target = static_cast<double>(e[target]) * inverse;
      for (int64_t c = 0; c < classes; ++c) {
        e[c] = static_cast<T>(row_scale * (static_cast<double>(e[c]) * inverse));
      }
      e[target] = static_cast<T>(row_scale * (p_target - 1.0));
    }
  });
  return nll;
}

/// sum_m w_m nll_m in increasing m.
template <class T>
double weighted_total(const std::vector<double>& nll, std::span<const T> row_weights) {
  double total = 0;
  for (size_t m = 0; m < nll.size(); ++m) {
    total += (row_weights.empty() ? 1.0 : static_cast<double>(row_weights[m])) * nll[m];
  }
  return total;
}

}  // namespace

template <class T>
LossValue softmax_cross_entropy(std::span<const T> logits, int64_t rows, int64_t classes,
                                std::span<const int64_t> targets, std::span<const T> row_weights,
                                std::span<T> grad_logits, double grad_scale) {
  constexpr std::string_view kWhat = "softmax_cross_entropy";
  if (!std::isfinite(grad_scale)) fail(kWhat, ": grad_scale must be finite, got ", grad_scale);
  const double weight = check_rows(kWhat, logits, rows, classes, targets, row_weights);
  if (!grad_logits.empty()) {
    train::expect_size(cat(kWhat, ": grad_logits [M, C]"), grad_logits.size(), {rows, classes});
  }
  if (!(weight > 0)) fail(kWhat, ": no row counted (the row weights of ", rows, " rows sum to 0)");
  const std::vector<double> nll =
      row_nll(logits, rows, classes, targets, row_weights, grad_scale / weight, grad_logits);
  LossValue value;
  value.total = weighted_total(nll, row_weights);
  value.weight = weight;
  value.mean = value.total / weight;
  return value;
}

template <class T>
double log_likelihood(std::span<const T> logits, int64_t rows, int64_t classes,
                      std::span<const int64_t> targets, std::span<const T> row_weights) {
  check_rows("log_likelihood", logits, rows, classes, targets, row_weights);
  const std::vector<double> nll = row_nll(logits, rows, classes, targets, row_weights, 0.0, {});
  return -weighted_total(nll, row_weights);
}

#define RNNWAVE_INSTANTIATE(T)                                                                 \
  template LossValue softmax_cross_entropy<T>(std::span<const T>, int64_t, int64_t,          \
                                              std::span<const int64_t>, std::span<const T>,  \
                                              std::span<T>, double);                          \
  template double log_likelihood<T>(std::span<const T>, int64_t, int64_t,                    \
                                    std::span<const int64_t>, std::span<const T>);
RNNWAVE_INSTANTIATE(float)
RNNWAVE_INSTANTIATE(double)
#undef RNNWAVE_INSTANTIATE

}  // namespace rnnwave
