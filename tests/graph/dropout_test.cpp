#include "graph/dropout.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

#include "rnnwave/dropout.h"
#include "rnnwave/error.h"
#include "rnnwave/random.h"
#include "support/problem.h"

namespace rnnwave::testing {
namespace {

TEST(Dropout, KeepsAboutOneMinusPAndAnElementAlwaysGetsTheSameDecision) {
  const int count = 1000000;
  for (const double p : {0.2, 0.5}) {
    int kept = 0;
    for (int i = 0; i < count; ++i) kept += dropout_keep(5, static_cast<uint64_t>(i), p);
    // The standard error of the fraction is below 5e-4; 2e-3 is four of them.
    EXPECT_NEAR(kept / double(count), 1 - p, 2e-3) << "p = " << p;
  }
  EXPECT_EQ(dropout_keep(5, 12345, 0.5), dropout_keep(5, 12345, 0.5));
  EXPECT_TRUE(dropout_keep(5, 12345, 0.0));
  int same = 0;  // another key gives another mask
  for (int i = 0; i < 1000; ++i) same += dropout_keep(5, i, 0.5) == dropout_keep(6, i, 0.5);
  EXPECT_GT(same, 400);
  EXPECT_LT(same, 600);
}

/// A two-layer rnn_relu whose second layer passes its input through (W_ih = identity,
/// W_hh = 0, biases 0) outputs relu of the dropped output of the first, which is positive:
/// the output is exactly the mask applied by the engine. It must be apply_dropout_mask of
/// the first layer's outputs, element ((l*T + t)*N + n)*H + j of the key dropout_seed, as
/// rnn.h documents: the engine's dropout is the one of rnnwave/dropout.h.
TEST(Dropout, TheMaskBetweenLayersIsApplyDropoutMaskNumberedByLayerStepRowAndUnit) {
  const int64_t T = 5, N = 3, I = 4, H = 6;
  const ModelSpec one{CellKind::rnn_relu, I, H, 1, false};
  const ModelSpec two{CellKind::rnn_relu, I, H, 2, false};
  Weights first(one), both(two);
  for (Weights* w : {&first, &both}) {
    std::ranges::fill(w->get("weight_ih_l0"), 0.3f);  // positive inputs, weights and bias:
    std::ranges::fill(w->get("weight_hh_l0"), 0.2f);  // every output of layer 0 is > 0
    std::ranges::fill(w->get("bias_ih_l0"), 0.1f);
  }
  std::span<float> pass = both.get("weight_ih_l1");
  for (int64_t j = 0; j < H; ++j) pass[static_cast<size_t>(j * H + j)] = 1.0f;
  std::vector<float> x(static_cast<size_t>(T * N * I));
  for (size_t i = 0; i < x.size(); ++i) x[i] = counter_uniform_float(9, i);

  std::vector<float> hidden(static_cast<size_t>(T * N * H)), output(hidden.size());
  ForwardArgs<float> args;
  args.steps = T;
  args.batch = N;
  args.input = x;
  args.output = hidden;
  Rnn(first).forward(args);
  args.output = output;
  args.dropout = 0.5;
  args.dropout_seed = 2024;
  // As a stage of a larger stack whose layer 0 is the whole stack's layer first_layer
  // (dist::PipelineStage), layer 1's masks are the whole stack's layer first_layer + 1's.
  for (const int64_t first_layer : {0, 2}) {
    args.dropout_first_layer = first_layer;
    Workspace training;
    Rnn(both).forward(args, training);
    std::vector<float> expected(hidden.size());
    apply_dropout_mask<float>(hidden, expected, 0.5, 2024, static_cast<uint64_t>((first_layer + 1) * T * N * H));
    EXPECT_EQ(output, expected) << "dropout_first_layer " << first_layer;
    const auto zeros = std::ranges::count(output, 0.0f);
    EXPECT_GT(zeros, 0);
    EXPECT_LT(zeros, static_cast<int64_t>(output.size()));
  }
  args.dropout_first_layer = -1;
  Workspace training;
  EXPECT_THROW(Rnn(both).forward(args, training), rnnwave::Error);
}

TEST(Dropout, OnlyTrainingForwardsDropAndProbabilityZeroChangesNothing) {
  Case c;
  c.layers = 2;
  c.bidirectional = true;
  const Problem<float> p = make_problem<float>(c, 1);
  const Rnn rnn(Weights::uniform(p.spec, 2));
  ForwardOut<float> plain, inference, training_zero, training;
  rnn.forward(forward_args(p, plain));
  ForwardArgs<float> args = forward_args(p, inference);
  args.dropout = 0.5;
  rnn.forward(args);  // inference: dropout ignored, as in PyTorch's eval mode
  Workspace ws;
  ForwardArgs<float> zero = forward_args(p, training_zero);
  rnn.forward(zero, ws);
  ForwardArgs<float> dropped = forward_args(p, training);
  dropped.dropout = 0.5;
  rnn.forward(dropped, ws);
  EXPECT_EQ(plain.output, inference.output);
  EXPECT_EQ(plain.output, training_zero.output);
  EXPECT_NE(plain.output, training.output);
  dropped.dropout = 1.0;
  EXPECT_THROW(rnn.forward(dropped, ws), rnnwave::Error);
}

}  // namespace
}  // namespace rnnwave::testing
