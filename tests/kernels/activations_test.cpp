#include "kernels/activations.h"

#include <gtest/gtest.h>

#include <cmath>

namespace rnnwave::kernels {
namespace {

/// Every float in [lo, hi) at a fine spacing, plus the end points.
template <class F>
void sweep(float lo, float hi, F&& check) {
  const int count = 2000003;
  for (int i = 0; i <= count; ++i) check(lo + (hi - lo) * static_cast<float>(i) / count);
}

TEST(Activations, ExpIsAccurateOverItsRange) {
  double worst = 0;
  sweep(-87.0f, 88.0f, [&](float x) {
    const double expected = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::abs(exp_approx(x) - expected) / expected);
  });
  EXPECT_LT(worst, 4e-7);
  EXPECT_EQ(exp_approx(0.0f), 1.0f);
  EXPECT_LT(exp_approx(-200.0f), 1e-37f);
  EXPECT_GT(exp_approx(200.0f), 1e38f);
}

TEST(Activations, SigmoidIsAccurateAndSaturates) {
  double worst = 0;
  sweep(-30.0f, 30.0f, [&](float x) {
    const double expected = 1.0 / (1.0 + std::exp(-static_cast<double>(x)));
    worst = std::max(worst, std::abs(sigmoid(x) - expected) / expected);
  });
  EXPECT_LT(worst, 1e-6);
  EXPECT_EQ(sigmoid(100.0f), 1.0f);
  EXPECT_GE(sigmoid(-100.0f), 0.0f);
  EXPECT_LT(sigmoid(-100.0f), 1e-30f);
}

TEST(Activations, TanhIsAccurateNearZeroAndAtTheTails) {
  double worst_relative = 0, worst_absolute = 0;
  sweep(-12.0f, 12.0f, [&](float x) {
    const double expected = std::tanh(static_cast<double>(x));
    const double error = std::abs(tanh(x) - expected);
    worst_absolute = std::max(worst_absolute, error);
    if (expected != 0) worst_relative = std::max(worst_relative, error / std::abs(expected));
  });
  EXPECT_LT(worst_absolute, 2e-7);
  EXPECT_LT(worst_relative, 1e-6);
  EXPECT_EQ(tanh(0.0f), 0.0f);
  EXPECT_EQ(tanh(50.0f), 1.0f);
  EXPECT_EQ(tanh(-50.0f), -1.0f);
  EXPECT_FLOAT_EQ(tanh(1e-20f), 1e-20f);
}

}  // namespace
}  // namespace rnnwave::kernels
