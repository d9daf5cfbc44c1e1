// ForwardArgs::on_output_block: the blocks tile the steps, each call sees its block's final
// output, and an exception thrown by the hook reaches the caller.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>

#include "support/exec_options.h"
#include "support/problem.h"

namespace rnnwave::testing {
namespace {

class OutputHook : public ::testing::TestWithParam<ExecOptions> {};

/// With variable lengths or without, the output is copied from the workspace block by block
/// (a hook may write its block of the output: it must not feed the next step).
Case hook_case(bool variable_lengths = true) {
  Case c;
  c.cell = CellKind::gru;
  c.layers = 2;
  c.bidirectional = true;
  c.variable_lengths = variable_lengths;
  c.hidden_size = 20;
  c.steps = 9;
  c.batch = 4;
  return c;
}

TEST_P(OutputHook, BlocksTileTheStepsAndSeeFinalOutputs) {
  for (bool variable_lengths : {true, false}) {
    const Problem<float> p = make_problem<float>(hook_case(variable_lengths), 5);
    Rnn rnn(Weights::uniform(p.spec, 8), GetParam());
    ForwardOut<float> out;
    ForwardArgs<float> args = forward_args(p, out);
    const int64_t row = p.batch * p.spec.directions() * p.spec.hidden_size;  // one step
    std::vector<float> seen(out.output.size(), -7.0f);
    std::vector<int> calls(static_cast<size_t>(p.steps), 0);
    std::mutex mutex;
    args.on_output_block = [&](int64_t t0, int64_t t1) {
      ASSERT_TRUE(0 <= t0 && t0 < t1 && t1 <= p.steps) << t0 << " " << t1;
      std::copy(out.output.begin() + t0 * row, out.output.begin() + t1 * row, seen.begin() + t0 * row);
      std::lock_guard<std::mutex> lock(mutex);
      for (int64_t t = t0; t < t1; ++t) ++calls[t];
    };
    for (int pass = 0; pass < 2; ++pass) {  // inference, then training
      std::fill(calls.begin(), calls.end(), 0);
      std::fill(seen.begin(), seen.end(), -7.0f);
      if (pass == 0) {
        rnn.forward(args);
      } else {
        Workspace ws;
        rnn.forward(args, ws);
      }
      for (int64_t t = 0; t < p.steps; ++t) EXPECT_EQ(calls[t], 1) << "step " << t;
      EXPECT_EQ(seen, out.output);
    }
  }
}

/// A hook may write its own block of the output (the header allows it): the steps after
/// it read their states elsewhere, so the outputs it saw and the final states are those
/// of a pass without a hook.
TEST_P(OutputHook, AHookThatWritesItsBlockChangesNoLaterStep) {
  const Problem<float> p = make_problem<float>(hook_case(false), 7);
  Rnn rnn(Weights::uniform(p.spec, 10), GetParam());
  ForwardOut<float> expected;
  rnn.forward(forward_args(p, expected));
  ForwardOut<float> out;
  ForwardArgs<float> args = forward_args(p, out);
  const int64_t row = p.batch * p.spec.directions() * p.spec.hidden_size;  // one step
  std::vector<float> seen(out.output.size(), -7.0f);
  args.on_output_block = [&](int64_t t0, int64_t t1) {
    std::copy(out.output.begin() + t0 * row, out.output.begin() + t1 * row, seen.begin() + t0 * row);
    std::fill(out.output.begin() + t0 * row, out.output.begin() + t1 * row, 1e6f);
  };
  rnn.forward(args);
  EXPECT_EQ(seen, expected.output);
  EXPECT_EQ(out.hn, expected.hn);
}

TEST_P(OutputHook, AnExceptionFromTheHookReachesTheCaller) {
  const Problem<float> p = make_problem<float>(hook_case(), 6);
  Rnn rnn(Weights::uniform(p.spec, 9), GetParam());
  ForwardOut<float> out;
  ForwardArgs<float> args = forward_args(p, out);
  args.on_output_block = [](int64_t, int64_t) { throw std::runtime_error("head failed"); };
  EXPECT_THROW(rnn.forward(args), std::runtime_error);
  // The model stays usable.
  args.on_output_block = nullptr;
  EXPECT_NO_THROW(rnn.forward(args));
}

INSTANTIATE_TEST_SUITE_P(Schedules, OutputHook, ::testing::ValuesIn(tested_exec_options()),
                         [](const auto& param_info) { return exec_name(param_info.param); });

}  // namespace
}  // namespace rnnwave::testing
