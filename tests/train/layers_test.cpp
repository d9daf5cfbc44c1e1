// Embedding and Linear: values against plain loops, initialisation, state_dict round trips,
// gradient accumulation, bad arguments.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "io/expect_error.h"
#include "rnnwave/train/embedding.h"
#include "rnnwave/train/linear.h"
#include "train/train_test_support.h"

namespace rnnwave::testing {
namespace {

TEST(TrainLinear, ForwardMatchesLoops) {
  const int64_t rows = 7, in = 5, out = 4;
  const BasicLinear<double> layer = BasicLinear<double>::uniform(in, out, 1);
  const std::vector<double> x = random_values<double>(rows * in, 2);
  std::vector<double> y(rows * out);
  layer.forward(x, rows, y);
  for (int64_t m = 0; m < rows; ++m) {
    for (int64_t o = 0; o < out; ++o) {
      double expected = layer.bias()[o];
      for (int64_t i = 0; i < in; ++i) expected += x[m * in + i] * layer.weight()[o * in + i];
      EXPECT_NEAR(y[m * out + o], expected, 1e-14);
    }
  }
}

TEST(TrainLinear, UniformInitialisationIsPyTorchs) {
  const int64_t in = 64, out = 300;
  const Linear layer = Linear::uniform(in, out, 3);
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  double sum = 0, sum_squares = 0;
  for (float w : layer.weight()) {
    ASSERT_GE(w, -bound);
    ASSERT_LE(w, bound);
    sum += w;
    sum_squares += static_cast<double>(w) * w;
  }
  const double n = static_cast<double>(layer.weight().size());
  EXPECT_NEAR(sum / n, 0.0, 0.01 * bound);
  EXPECT_NEAR(sum_squares / n, bound * bound / 3, 0.03 * bound * bound / 3);  // U(-b, b): b^2/3
  for (float b : layer.bias()) {
    ASSERT_GE(b, -bound);
    ASSERT_LE(b, bound);
  }
  // The same seed gives the same layer; another seed another.
  const Linear again = Linear::uniform(in, out, 3), other = Linear::uniform(in, out, 4);
  EXPECT_TRUE(std::equal(layer.weight().begin(), layer.weight().end(), again.weight().begin()));
  EXPECT_FALSE(std::equal(layer.weight().begin(), layer.weight().end(), other.weight().begin()));
}

TEST(TrainLinear, AccumulateAddsToTheGradient) {
  const int64_t rows = 3, in = 2, out = 2;
  const BasicLinear<double> layer = BasicLinear<double>::uniform(in, out, 5);
  const std::vector<double> x = random_values<double>(rows * in, 6);
  const std::vector<double> dy = random_values<double>(rows * out, 7);
  BasicLinear<double> once(in, out), twice(in, out);
  layer.backward(x, dy, rows, {}, &once);
  layer.backward(x, dy, rows, {}, &twice);
  layer.backward(x, dy, rows, {}, &twice, GradMode::accumulate);
  // The old value joins the sum first, so the bits may differ from 2 * once.
  for (size_t i = 0; i < once.weight().size(); ++i) {
    EXPECT_NEAR(twice.weight()[i], 2 * once.weight()[i], 1e-15);
  }
  for (size_t i = 0; i < once.bias().size(); ++i) EXPECT_NEAR(twice.bias()[i], 2 * once.bias()[i], 1e-15);
  // Overwrite forgets what was there.
  layer.backward(x, dy, rows, {}, &twice);
  for (size_t i = 0; i < once.weight().size(); ++i) EXPECT_EQ(twice.weight()[i], once.weight()[i]);
}

TEST(TrainLinear, ZeroRowsGiveZeroGradients) {
  const Linear layer = Linear::uniform(3, 2, 8);
  Linear grad = Linear::uniform(3, 2, 9);  // not zero before
  std::vector<float> y;
  layer.forward({}, 0, y);
  layer.backward({}, {}, 0, {}, &grad);
  for (float g : grad.weight()) EXPECT_EQ(g, 0.0f);
  for (float g : grad.bias()) EXPECT_EQ(g, 0.0f);
}

TEST(TrainLinear, TensorsRoundTrip) {
  const Linear layer = Linear::uniform(3, 2, 10);
  const auto named = layer.to_tensors();
  ASSERT_EQ(named.at("weight").shape(), (std::vector<int64_t>{2, 3}));
  ASSERT_EQ(named.at("bias").shape(), (std::vector<int64_t>{2}));
  const Linear back = Linear::from_tensors(named);
  EXPECT_EQ(back.in_features(), 3);
  EXPECT_EQ(back.out_features(), 2);
  EXPECT_TRUE(std::equal(layer.weight().begin(), layer.weight().end(), back.weight().begin()));
  EXPECT_TRUE(std::equal(layer.bias().begin(), layer.bias().end(), back.bias().begin()));
}

TEST(TrainLinear, BadArgumentsThrow) {
  EXPECT_ERROR_CONTAINING(Linear(0, 3), "input features I", ">= 1", "got 0");
  const Linear layer(3, 2);
  std::vector<float> x(6), y(4), dx(6);
  EXPECT_ERROR_CONTAINING(layer.forward(x, 2, std::span<float>(y).first(3)), "y [M, O]", "[2, 2]", "got 3");
  EXPECT_ERROR_CONTAINING(layer.forward(std::span<float>(x).first(5), 2, y), "x [M, I]", "[2, 3]", "got 5");
  EXPECT_ERROR_CONTAINING(layer.forward(x, -1, y), "rows M", "got -1");
  Linear wrong(2, 2);
  EXPECT_ERROR_CONTAINING(layer.backward(x, y, 2, dx, &wrong), "gradient layer", "I = 2", "expected I = 3");
  EXPECT_ERROR_CONTAINING(layer.backward(x, y, 2, std::span<float>(dx).first(2), nullptr), "grad_x [M, I]");
  auto named = layer.to_tensors();
  named.erase("bias");
  EXPECT_ERROR_CONTAINING(Linear::from_tensors(named), "missing tensor 'bias'");
  named = layer.to_tensors();
  named["extra"] = Tensor({1});
  EXPECT_ERROR_CONTAINING(Linear::from_tensors(named), "unexpected tensor 'extra'");
  named = layer.to_tensors();
  named["bias"] = Tensor({3});
  EXPECT_ERROR_CONTAINING(Linear::from_tensors(named), "'bias'", "expected shape [2]", "got [3]");
  named = layer.to_tensors();
  named["weight"].data()[4] = std::nanf("");
  EXPECT_ERROR_CONTAINING(Linear::from_tensors(named), "NaN", "[1, 1]");
}

TEST(TrainEmbedding, ForwardCopiesRows) {
  const Embedding table = Embedding::normal(5, 3, 1);
  const std::vector<int64_t> ids = {4, 0, 4};
  std::vector<float> out(9);
  table.forward(ids, out);
  for (int64_t m = 0; m < 3; ++m) {
    for (int64_t e = 0; e < 3; ++e) EXPECT_EQ(out[m * 3 + e], table.weight()[ids[m] * 3 + e]);
  }
}

TEST(TrainEmbedding, NormalInitialisationIsStandard) {
  const Embedding table = Embedding::normal(1000, 50, 2);
  double sum = 0, sum_squares = 0;
  for (float w : table.weight()) {
    sum += w;
    sum_squares += static_cast<double>(w) * w;
  }
  const double n = static_cast<double>(table.weight().size());
  EXPECT_NEAR(sum / n, 0.0, 0.01);  // standard error 1/sqrt(50000) = 0.0045
  EXPECT_NEAR(sum_squares / n, 1.0, 0.02);
}

TEST(TrainEmbedding, BackwardSumsRepeatedIdsInOrder) {
  const BasicEmbedding<double> table(4, 2);
  const std::vector<int64_t> ids = {1, 3, 1, 1};
  const std::vector<double> dy = {1e16, 1, 2, 3, -1e16, 5, 1, 7};
  BasicEmbedding<double> grad(4, 2);
  table.backward(ids, dy, &grad);
  // Row 1 gets rows 0, 2, 3 in that order: (1e16 + -1e16) + 1, and (1 + 5) + 7.
  EXPECT_EQ(grad.weight()[2], (1e16 + -1e16) + 1.0);
  EXPECT_EQ(grad.weight()[3], 13.0);
  EXPECT_EQ(grad.weight()[6], 2.0);
  EXPECT_EQ(grad.weight()[0], 0.0);
  table.backward(ids, dy, &grad, GradMode::accumulate);
  EXPECT_EQ(grad.weight()[3], 26.0);
}

TEST(TrainEmbedding, BadArgumentsThrow) {
  const Embedding table(5, 2);
  std::vector<float> out(6);
  EXPECT_ERROR_CONTAINING(table.forward(std::vector<int64_t>{0, 5, 1}, out), "ids[1] = 5", "[0, 5)");
  EXPECT_ERROR_CONTAINING(table.forward(std::vector<int64_t>{0, 1, -2}, out), "ids[2] = -2");
  EXPECT_ERROR_CONTAINING(table.forward(std::vector<int64_t>{0, 1}, out), "out [M, E]", "[2, 2]", "got 6");
  Embedding wrong(4, 2);
  EXPECT_ERROR_CONTAINING(table.backward(std::vector<int64_t>{0, 1, 2}, out, &wrong),
                          "gradient table is [4, 2]", "expected [5, 2]");
  EXPECT_ERROR_CONTAINING(table.backward(std::vector<int64_t>{0, 1, 2}, out, nullptr),
                          "no gradient table");
  EXPECT_ERROR_CONTAINING(Embedding(0, 2), "vocabulary size V", "got 0");
  std::map<std::string, Tensor> named;
  named["weight"] = Tensor({5});
  EXPECT_ERROR_CONTAINING(Embedding::from_tensors(named), "[V, E]", "got [5]");
}

TEST(TrainEmbedding, TensorsRoundTrip) {
  const Embedding table = Embedding::normal(5, 3, 4);
  const Embedding back = Embedding::from_tensors(table.to_tensors());
  EXPECT_EQ(back.vocab_size(), 5);
  EXPECT_TRUE(std::equal(table.weight().begin(), table.weight().end(), back.weight().begin()));
}

}  // namespace
}  // namespace rnnwave::testing
