// Dropout: masks are functions of the counters only; scale, modes, backward, bad arguments.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "io/expect_error.h"
#include "rnnwave/train/dropout.h"
#include "train/train_test_support.h"

namespace rnnwave::testing {
namespace {

std::vector<uint8_t> mask_of(const Dropout& dropout, size_t n, uint64_t step, uint64_t first = 0) {
  std::vector<uint8_t> mask(n);
  dropout.mask(mask, step, first);
  return mask;
}

TEST(TrainDropout, SameCountersSameMask) {
  const Dropout a(0.5, 42, 1), b(0.5, 42, 1);
  EXPECT_EQ(mask_of(a, 1000, 7), mask_of(b, 1000, 7));
  EXPECT_NE(mask_of(a, 1000, 7), mask_of(a, 1000, 8));                 // another step
  EXPECT_NE(mask_of(a, 1000, 7), mask_of(Dropout(0.5, 42, 2), 1000, 7));  // another stream
  EXPECT_NE(mask_of(a, 1000, 7), mask_of(Dropout(0.5, 43, 1), 1000, 7));  // another seed
  // Pieces of a tensor, given their offsets, draw the whole tensor's mask.
  std::vector<uint8_t> pieces = mask_of(a, 300, 7);
  const std::vector<uint8_t> rest = mask_of(a, 700, 7, 300);
  pieces.insert(pieces.end(), rest.begin(), rest.end());
  EXPECT_EQ(pieces, mask_of(a, 1000, 7));
}

TEST(TrainDropout, KeepsOneMinusPAndPreservesTheMean) {
  const double p = 0.3;
  const Dropout dropout(p, 5, 0);
  const int64_t n = 200000;
  const std::vector<float> x(n, 1.0f);
  std::vector<float> y(n);
  dropout.forward<float>(x, y, Phase::training, 0);
  double sum = 0;
  int64_t kept = 0;
  for (float v : y) {
    sum += v;
    if (v != 0) {
      ++kept;
      EXPECT_FLOAT_EQ(v, static_cast<float>(1 / (1 - p)));
    }
  }
  // Standard error of the kept fraction: sqrt(p (1-p) / n) = 0.001.
  EXPECT_NEAR(static_cast<double>(kept) / n, 1 - p, 0.005);
  EXPECT_NEAR(sum / n, 1.0, 0.01);
}

TEST(TrainDropout, FloatAndDoubleShareTheMask) {
  const Dropout dropout(0.4, 9, 3);
  const std::vector<float> xf = random_values<float>(500, 1, 0.5, 1.5);
  const std::vector<double> xd(xf.begin(), xf.end());
  std::vector<float> yf(500);
  std::vector<double> yd(500);
  dropout.forward<float>(xf, yf, Phase::training, 11);
  dropout.forward<double>(xd, yd, Phase::training, 11);
  const std::vector<uint8_t> mask = mask_of(dropout, 500, 11);
  for (size_t i = 0; i < 500; ++i) {
    EXPECT_EQ(yf[i] != 0, mask[i] == 1);
    EXPECT_EQ(yd[i] != 0, mask[i] == 1);
  }
}

TEST(TrainDropout, BackwardAppliesTheForwardMask) {
  const Dropout dropout(0.5, 3, 4);
  const std::vector<float> ones(256, 1.0f);
  std::vector<float> y(256), dx(256);
  dropout.forward<float>(ones, y, Phase::training, 2, 64);
  dropout.backward<float>(ones, dx, Phase::training, 2, 64);
  EXPECT_EQ(y, dx);
}

TEST(TrainDropout, EvaluationAndZeroProbabilityAreIdentity) {
  const std::vector<float> x = random_values<float>(100, 2);
  std::vector<float> y(100);
  Dropout(0.5, 1, 1).forward<float>(x, y, Phase::evaluation, 0);
  EXPECT_EQ(x, y);
  Dropout(0.0, 1, 1).forward<float>(x, y, Phase::training, 0);
  EXPECT_EQ(x, y);
}

TEST(TrainDropout, InPlaceEqualsOutOfPlace) {
  const Dropout dropout(0.2, 8, 0);
  std::vector<float> x = random_values<float>(40000, 3);
  std::vector<float> y(x.size());
  dropout.forward<float>(x, y, Phase::training, 1);
  dropout.forward<float>(x, x, Phase::training, 1);
  EXPECT_EQ(x, y);
}

TEST(TrainDropout, BadArgumentsThrow) {
  EXPECT_ERROR_CONTAINING(Dropout(1.0, 0, 0), "dropout probability", "[0, 1)", "got 1");
  EXPECT_ERROR_CONTAINING(Dropout(-0.1, 0, 0), "got -0.1");
  const Dropout dropout(0.5, 0, 0);
  std::vector<float> x(10), y(9);
  EXPECT_ERROR_CONTAINING(dropout.forward<float>(x, y, Phase::training, 0), "10 elements", "output 9");
  EXPECT_ERROR_CONTAINING(dropout.forward<float>(std::span<const float>(x).first(5),
                                                 std::span<float>(x).subspan(2, 5), Phase::training, 0),
                          "overlap");
}

}  // namespace
}  // namespace rnnwave::testing
