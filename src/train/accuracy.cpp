// Classification accuracy.
#include <algorithm>

#include "common/finite.h"
#include "common/strings.h"
#include "rnnwave/train/loss.h"
#include "train/check.h"

namespace rnnwave {

template <class T>
AccuracyCount count_correct(std::span<const T> logits, int64_t rows, int64_t classes,
                            std::span<const int64_t> targets, std::span<const T> row_weights) {
  train::expect_at_least("count_correct: rows M", rows, 0);
  train::expect_at_least("count_correct: classes C", classes, 1);
  train::expect_size("count_correct: logits [M, C]", logits.size(), {rows, classes});
  train::expect_size("count_correct: targets [M]", targets.size(), {rows});
  train::expect_ids_below("count_correct: targets", targets, classes);
  check_finite<T>(logits, {rows, classes}, "count_correct: logits");
  if (!row_weights.empty()) {
    train::expect_size("count_correct: row_weights [M]", row_weights.size(), {rows});
    train::checked_weight_sum("count_correct: row_weights", row_weights);
  }
  int64_t correct = 0, counted = 0;
  // Integer counts: any order of summation gives the same result.
#pragma omp parallel for reduction(+ : correct, counted) schedule(static)
  for (int64_t m = 0; m < rows; ++m) {
    if (!row_weights.empty() && row_weights[m] == T(0)) continue;
    const T* x = logits.data() + m * classes;
    const int64_t best = std::max_element(x, x + classes) - x;  // the first maximum
    counted += 1;
    correct += best == targets[m] ? 1 : 0;
  }
  return AccuracyCount{correct, counted};
}

template AccuracyCount count_correct<float>(std::span<const float>, int64_t, int64_t,
                                            std::span<const int64_t>, std::span<const float>);
template AccuracyCount count_correct<double>(std::span<const double>, int64_t, int64_t,
                                             std::span<const int64_t>, std::span<const double>);

}  // namespace rnnwave
