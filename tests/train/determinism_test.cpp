// Every training layer gives bit-identical float results for every OpenMP thread count.
// Sizes span several GEMM tiles and element blocks, so the work is really split.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rnnwave/train/train.h"
#include "train/train_test_support.h"

namespace rnnwave::testing {
namespace {

/// Everything the layers compute on one problem, in float.
struct Results {
  std::vector<float> y, grad_x, grad_w, grad_b, grad_table, grad_logits, pooled, grad_output;
  std::vector<float> dropped, clipped, adam_value, adam_exp_avg_sq;
  double loss = 0, norm = 0;

  bool operator==(const Results&) const = default;
};

Results run_all() {
  Results r;
  const int64_t rows = 300, in = 200, out = 700;  // 3 x 3 tiles; K = 300 for the weight gradient
  const Linear layer = Linear::uniform(in, out, 1);
  const std::vector<float> x = random_values<float>(rows * in, 2);
  const std::vector<float> dy = random_values<float>(rows * out, 3);
  r.y.resize(rows * out);
  layer.forward(x, rows, r.y);
  Linear grad(in, out);
  r.grad_x.resize(rows * in);
  layer.backward(x, dy, rows, r.grad_x, &grad);
  r.grad_w.assign(grad.weight().begin(), grad.weight().end());
  r.grad_b.assign(grad.bias().begin(), grad.bias().end());

  const Embedding table = Embedding::normal(1000, 32, 4);
  const std::vector<int64_t> ids = random_ids(5000, 1000, 5);
  Embedding table_grad(1000, 32);
  table.backward(ids, random_values<float>(5000 * 32, 6), &table_grad);
  r.grad_table.assign(table_grad.weight().begin(), table_grad.weight().end());

  const std::vector<int64_t> targets = random_ids(rows, out, 7);
  r.grad_logits.resize(r.y.size());
  r.loss = softmax_cross_entropy<float>(r.y, rows, out, targets, {}, r.grad_logits).mean;

  const SequenceShape shape{20, 15, 2, 10};
  const std::vector<float> output = random_values<float>(20 * 15 * 20, 8);
  const std::vector<int64_t> lengths = {20, 3, 5, 1, 19, 20, 7, 8, 9, 10, 11, 2, 13, 14, 15};
  r.pooled.resize(15 * 20);
  pool_sequence<float>(Pooling::mean, shape, output, lengths, r.pooled);
  r.grad_output.resize(output.size());
  pool_sequence_backward<float>(Pooling::mean, shape, lengths, r.pooled, r.grad_output);

  r.dropped.resize(r.y.size());
  Dropout(0.4, 9, 1).forward<float>(r.y, r.dropped, Phase::training, 3);

  std::vector<float> value_a = random_values<float>(100000, 10), value_b(700);
  r.clipped = random_values<float>(100000, 11);
  std::vector<float> grad_b = random_values<float>(700, 12);
  const std::vector<Parameter<float>> refs = {{"a", {100000}, value_a, r.clipped}, {"b", {700}, value_b, grad_b}};
  r.norm = clip_grad_norm<float>(refs, 1.0);

  OptimizerOptions o;
  o.kind = OptimizerKind::adam;
  Optimizer adam(o);
  adam.step(refs);
  adam.step(refs);
  r.adam_value = value_a;
  r.adam_exp_avg_sq = adam.state().tensors.at("a/exp_avg_sq").vector();
  return r;
}

class TrainDeterminism : public ::testing::TestWithParam<int> {};

TEST_P(TrainDeterminism, SameBitsAsOneThread) {
  Results one, many;
  {
    const ScopedThreads scope(1);
    one = run_all();
  }
  {
    const ScopedThreads scope(GetParam());
    many = run_all();
  }
  EXPECT_EQ(one.y, many.y);
  EXPECT_EQ(one.grad_x, many.grad_x);
  EXPECT_EQ(one.grad_w, many.grad_w);
  EXPECT_EQ(one.grad_b, many.grad_b);
  EXPECT_EQ(one.grad_table, many.grad_table);
  EXPECT_EQ(one.grad_logits, many.grad_logits);
  EXPECT_EQ(one.loss, many.loss);
  EXPECT_EQ(one.pooled, many.pooled);
  EXPECT_EQ(one.grad_output, many.grad_output);
  EXPECT_EQ(one.dropped, many.dropped);
  EXPECT_EQ(one.clipped, many.clipped);
  EXPECT_EQ(one.norm, many.norm);
  EXPECT_EQ(one.adam_value, many.adam_value);
  EXPECT_EQ(one.adam_exp_avg_sq, many.adam_exp_avg_sq);
}

INSTANTIATE_TEST_SUITE_P(Threads, TrainDeterminism, ::testing::Values(2, 3, 4),
                         [](const auto& param_info) { return std::to_string(param_info.param) + "threads"; });

}  // namespace
}  // namespace rnnwave::testing
