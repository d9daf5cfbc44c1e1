#include "graph/dropout.h"

#include <gtest/gtest.h>

#include <cstring>

#include "rnnwave/error.h"
#include "support/problem.h"

namespace rnnwave::testing {
namespace {

TEST(Dropout, DrawsAreUniformAndACounterAlwaysGivesTheSameDraw) {
  double sum = 0;
  int below_third = 0;
  const int count = 1000000;
  for (int i = 0; i < count; ++i) {
    const double u = dropout_draw(5, static_cast<uint64_t>(i));
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    below_third += u < 1.0 / 3.0;
  }
  EXPECT_NEAR(sum / count, 0.5, 2e-3);
  EXPECT_NEAR(below_third / double(count), 1.0 / 3.0, 2e-3);
  EXPECT_EQ(dropout_draw(5, 12345), dropout_draw(5, 12345));
  EXPECT_NE(dropout_draw(5, 12345), dropout_draw(6, 12345));
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
