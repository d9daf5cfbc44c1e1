// Losses, accuracy and sequence pooling: values by hand, stability, bad arguments.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "io/expect_error.h"
#include "rnnwave/train/loss.h"
#include "rnnwave/train/sequence_pool.h"
#include "train/train_test_support.h"

namespace rnnwave::testing {
namespace {

TEST(TrainLoss, CrossEntropyByHand) {
  // Two rows, three classes: nll = log(sum exp) - x_target.
  const std::vector<double> logits = {1, 2, 3, 0, 0, 0};
  const std::vector<int64_t> targets = {2, 1};
  std::vector<double> grad(6);
  const LossValue value = softmax_cross_entropy<double>(logits, 2, 3, targets, {}, grad);
  const double nll0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3;
  const double nll1 = std::log(3.0);
  EXPECT_NEAR(value.total, nll0 + nll1, 1e-15);
  EXPECT_EQ(value.weight, 2);
  EXPECT_NEAR(value.mean, (nll0 + nll1) / 2, 1e-15);
  EXPECT_NEAR(grad[4], (1.0 / 3 - 1) / 2, 1e-16);
  EXPECT_NEAR(grad[3], (1.0 / 3) / 2, 1e-16);
  EXPECT_NEAR(log_likelihood<double>(logits, 2, 3, targets, {}), -(nll0 + nll1), 1e-15);
}

TEST(TrainLoss, CrossEntropyGradScaleScalesOnlyTheGradient) {
  const std::vector<float> logits = {1, 2, 3, 0, 0.5f, 0, -1, 4, 2};
  const std::vector<int64_t> targets = {2, 1, 0};
  std::vector<float> whole(9), share(9);
  const LossValue a = softmax_cross_entropy<float>(logits, 3, 3, targets, {}, whole);
  const LossValue b = softmax_cross_entropy<float>(logits, 3, 3, targets, {}, share, 0.25);
  EXPECT_EQ(a.total, b.total);
  EXPECT_EQ(a.mean, b.mean);
  for (size_t i = 0; i < whole.size(); ++i) EXPECT_EQ(share[i], whole[i] / 4) << i;  // a power of 2: exact
  EXPECT_ERROR_CONTAINING(softmax_cross_entropy<float>(logits, 3, 3, targets, {}, share, std::nan("")),
                          "grad_scale must be finite");
}

TEST(TrainLoss, CrossEntropyIsStableForHugeLogits) {
  const std::vector<float> logits = {1e30f, 0, -1e30f, 3e4f, 3e4f + 1, 3e4f};
  const std::vector<int64_t> targets = {0, 1};
  std::vector<float> grad(6);
  const LossValue value = softmax_cross_entropy<float>(logits, 2, 3, targets, {}, grad);
  // Row 0: nll 0; row 1: log(1 + 2e^-1) (the shift by 3e4 is exact in float).
  EXPECT_NEAR(value.mean, std::log(1 + 2 * std::exp(-1.0)) / 2, 1e-6);
  for (float g : grad) EXPECT_TRUE(std::isfinite(g));
  EXPECT_NEAR(grad[0], 0.0f, 1e-7);
}

TEST(TrainLoss, MaskCountsOnlyWeightedRows) {
  const std::vector<double> logits = random_values<double>(4 * 5, 1, -2, 2);
  const std::vector<int64_t> targets = {0, 4, 2, 2};
  const std::vector<double> mask = {1, 0, 1, 0};
  std::vector<double> grad(20);
  const LossValue masked = softmax_cross_entropy<double>(logits, 4, 5, targets, mask, grad);
  const std::vector<double> kept(logits.begin(), logits.begin() + 5);
  std::vector<double> both = kept;
  both.insert(both.end(), logits.begin() + 10, logits.begin() + 15);
  const LossValue plain =
      softmax_cross_entropy<double>(both, 2, 5, std::vector<int64_t>{0, 2}, {}, {});
  EXPECT_NEAR(masked.mean, plain.mean, 1e-15);
  EXPECT_EQ(masked.weight, 2);
  for (int64_t c = 0; c < 5; ++c) {
    EXPECT_EQ(grad[5 + c], 0.0);  // masked rows get no gradient
    EXPECT_EQ(grad[15 + c], 0.0);
  }
}

TEST(TrainLoss, CrossEntropyBadArgumentsThrow) {
  const std::vector<float> logits(6);
  std::vector<float> grad(6);
  EXPECT_ERROR_CONTAINING(softmax_cross_entropy<float>(logits, 2, 3, std::vector<int64_t>{0, 3}, {}, grad),
                          "targets[1] = 3", "[0, 3)");
  EXPECT_ERROR_CONTAINING(softmax_cross_entropy<float>(logits, 3, 3, std::vector<int64_t>{0, 1, 2}, {}, grad),
                          "logits [M, C]", "[3, 3]", "got 6");
  EXPECT_ERROR_CONTAINING(softmax_cross_entropy<float>(logits, 2, 3, std::vector<int64_t>{0, 1},
                                                       std::vector<float>{0, 0}, grad),
                          "no row counted");
  EXPECT_ERROR_CONTAINING(softmax_cross_entropy<float>(logits, 2, 3, std::vector<int64_t>{0, 1},
                                                       std::vector<float>{1, -1}, grad),
                          "row_weights[1] = -1", ">= 0");
  std::vector<float> bad = logits;
  bad[4] = std::numeric_limits<float>::infinity();
  EXPECT_ERROR_CONTAINING(softmax_cross_entropy<float>(bad, 2, 3, std::vector<int64_t>{0, 1}, {}, grad),
                          "logits contains inf at [1, 1]");
  EXPECT_ERROR_CONTAINING(softmax_cross_entropy<float>(logits, 2, 3, std::vector<int64_t>{0, 1}, {},
                                                       std::span<float>(grad).first(5)),
                          "grad_logits [M, C]");
}

TEST(TrainLoss, MeanSquaredErrorByHand) {
  const std::vector<double> p = {1, 2, 3}, t = {0, 2, 5};
  std::vector<double> grad(3);
  const LossValue value = mse_loss<double>(p, t, {}, grad);
  EXPECT_DOUBLE_EQ(value.mean, (1 + 0 + 4) / 3.0);
  EXPECT_DOUBLE_EQ(grad[0], 2.0 / 3);
  EXPECT_DOUBLE_EQ(grad[2], -4.0 / 3);
  EXPECT_ERROR_CONTAINING(mse_loss<double>(p, std::vector<double>{1, 2}, {}, grad), "targets [M]",
                          "[3]", "got 2");
}

TEST(TrainLoss, AccuracyTakesTheFirstMaximum) {
  const std::vector<float> logits = {1, 3, 3, 0, 5, 1, 2, 2, 2};
  const AccuracyCount all = count_correct<float>(logits, 3, 3, std::vector<int64_t>{1, 1, 0}, {});
  EXPECT_EQ(all.correct, 3);  // row 0: tie -> 1; row 1: 1; row 2: tie -> 0
  const AccuracyCount later = count_correct<float>(logits, 3, 3, std::vector<int64_t>{2, 1, 2}, {});
  EXPECT_EQ(later.correct, 1);  // a tie never picks a later maximum
  EXPECT_EQ(all.counted, 3);
  const AccuracyCount masked =
      count_correct<float>(logits, 3, 3, std::vector<int64_t>{2, 1, 0}, std::vector<float>{1, 0, 1});
  EXPECT_EQ(masked.correct, 1);
  EXPECT_EQ(masked.counted, 2);
  EXPECT_DOUBLE_EQ(masked.fraction(), 0.5);
}

TEST(TrainPooling, LastAndMeanByHand) {
  // T = 3, N = 2, D = 2, H = 1: output[t, n, d] = 100 t + 10 n + d.
  const SequenceShape shape{3, 2, 2, 1};
  std::vector<double> output(12);
  for (int t = 0; t < 3; ++t)
    for (int n = 0; n < 2; ++n)
      for (int d = 0; d < 2; ++d) output[(t * 2 + n) * 2 + d] = 100 * t + 10 * n + d;
  const std::vector<int64_t> lengths = {2, 3};
  std::vector<double> pooled(4);
  pool_sequence<double>(Pooling::last, shape, output, lengths, pooled);
  EXPECT_EQ(pooled, (std::vector<double>{100, 1, 210, 11}));  // forward at len-1, reverse at 0
  pool_sequence<double>(Pooling::mean, shape, output, lengths, pooled);
  EXPECT_EQ(pooled, (std::vector<double>{50, 51, 110, 111}));
  pool_sequence<double>(Pooling::last, shape, output, {}, pooled);  // every sequence T long
  EXPECT_EQ(pooled, (std::vector<double>{200, 1, 210, 11}));
}

TEST(TrainPooling, BadArgumentsThrow) {
  const SequenceShape shape{3, 2, 1, 2};
  std::vector<float> output(12), pooled(4);
  EXPECT_ERROR_CONTAINING(pool_sequence<float>(Pooling::mean, shape, output, std::vector<int64_t>{3, 4}, pooled),
                          "lengths[1] = 4", "[1, T = 3]");
  EXPECT_ERROR_CONTAINING(pool_sequence<float>(Pooling::mean, shape, output, std::vector<int64_t>{0, 1}, pooled),
                          "lengths[0] = 0");
  EXPECT_ERROR_CONTAINING(pool_sequence<float>(Pooling::last, SequenceShape{3, 2, 3, 2}, output, {}, pooled),
                          "directions D must be 1 or 2", "got 3");
  EXPECT_ERROR_CONTAINING(pool_sequence<float>(Pooling::last, shape, std::span<float>(output).first(10), {}, pooled),
                          "output [T, N, D*H]", "[3, 2, 2]", "got 10");
  EXPECT_ERROR_CONTAINING(pool_sequence_backward<float>(Pooling::last, shape, {}, std::span<float>(pooled).first(3), output),
                          "grad_pooled [N, D*H]");
  EXPECT_ERROR_CONTAINING(parse_pooling("max"), "unknown pooling 'max'", "last, mean");
  EXPECT_EQ(parse_pooling("mean"), Pooling::mean);
}

}  // namespace
}  // namespace rnnwave::testing
