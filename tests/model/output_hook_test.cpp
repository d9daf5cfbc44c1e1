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

Case hook_case() {
  Case c;
  c.cell = CellKind::gru;
  c.layers = 2;
  c.bidirectional = true;
  c.variable_lengths = true;
  c.hidden_size = 20;
  c.steps = 9;
  c.batch = 4;
  return c;
}

TEST_P(OutputHook, BlocksTileTheStepsAndSeeFinalOutputs) {
  const Problem<float> p = make_problem<float>(hook_case(), 5);
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
