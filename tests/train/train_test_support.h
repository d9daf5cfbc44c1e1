// Helpers of the training-layer tests: deterministic random data, finite differences, the
// thread counts the determinism tests compare.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "common/scoped_threads.h"
#include "rnnwave/random.h"
#include "support/problem.h"

namespace rnnwave::testing {

/// n values uniform in [lo, hi), a function of (seed, n) alone.
template <class T>
std::vector<T> random_values(int64_t n, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  const uint64_t key = counter_key(seed, 7, 0);
  std::vector<T> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    values[i] = static_cast<T>(lo + (hi - lo) * counter_uniform(key, static_cast<uint64_t>(i)));
  }
  return values;
}

/// n ids uniform in [0, limit).
inline std::vector<int64_t> random_ids(int64_t n, int64_t limit, uint64_t seed) {
  const uint64_t key = counter_key(seed, 8, 0);
  std::vector<int64_t> ids(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    ids[i] = static_cast<int64_t>(counter_bits(key, static_cast<uint64_t>(i)) %
                                  static_cast<uint64_t>(limit));
  }
  return ids;
}

/// sum_i a[i] * b[i] in double: a scalar "loss" whose gradient with respect to a is b.
template <class T>
double dot(std::span<const T> a, std::span<const T> b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  return sum;
}

/// Compares analytic gradients with central differences of a loss in double precision.
/// With eps = 1e-5 the differences are good to about 1e-10 on these small problems
/// (truncation ~eps^2, rounding ~1e-16 |loss| / eps); a wrong gradient is off by far more.
class GradChecker {
 public:
  static constexpr double kTolerance = 1e-7;

  /// Checks every element of `values` against `analytic`.
  template <class Loss>
  void check_all(std::span<double> values, std::span<const double> analytic, Loss&& loss,
                 const std::string& what) {
    ASSERT_EQ(values.size(), analytic.size()) << what;
    for (size_t i = 0; i < values.size(); ++i) {
      expect_close(analytic[i], central_difference(values[i], loss), what + "[" + std::to_string(i) + "]");
    }
  }

  void expect_close(double analytic, double numeric_value, const std::string& what) {
    const double error = std::abs(analytic - numeric_value) / (1e-2 + std::abs(numeric_value));
    worst_ = std::max(worst_, error);
    EXPECT_LT(error, kTolerance) << what << ": analytic " << analytic << ", finite difference "
                                 << numeric_value;
  }

  double worst() const { return worst_; }

  /// Prints the worst error, for the record of how close the gradients are.
  void report(const std::string& what) const {
    std::printf("[ gradcheck] %-28s worst relative error %.3g\n", what.c_str(), worst_);
  }

 private:
  double worst_ = 0;
};

/// The thread counts every determinism test compares.
inline const std::vector<int> kThreadCounts = {1, 2, 3, 4};

}  // namespace rnnwave::testing
