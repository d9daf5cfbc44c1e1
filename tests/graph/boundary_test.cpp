// The boundary between the caller's buffers and the workspace: where the top layer's steps
// write the caller's output directly (place_output), and that the results are the same
// bits either way, also for an output that is the input's own buffer.
#include "graph/boundary.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "graph/problem.h"
#include "support/exec_options.h"
#include "support/problem.h"

namespace rnnwave::testing {
namespace {

/// A bidirectional GRU whose input is as wide as its output (I = 2H).
Case wide_input_case(bool variable_lengths, int64_t layers = 2) {
  return {.cell = CellKind::gru, .layers = layers, .bidirectional = true, .with_h0 = true,
          .variable_lengths = variable_lengths, .input_size = 32, .hidden_size = 16, .steps = 7,
          .batch = 5};
}

/// Whether the workspace of a forward pass of p would point the top layer's steps at
/// `output` (all steps T long unless `lengths`).
bool writes_directly(const Problem<float>& p, bool training, std::span<const int64_t> lengths,
                     std::span<float> output) {
  Workspace workspace;
  auto& ws = detail::WorkspaceAccess::impl(workspace);
  ws.order = BatchOrder::make(p.steps, p.batch, lengths);
  ws.prepare(describe_problem(p.spec, p.steps, p.batch, training, false, ws.order.identity, ExecOptions{}));
  place_output<float>(ws, output, {p.input, p.h0});
  return ws.direct_output != nullptr && ws.direct_output == output.data();
}

TEST(PlaceOutput, OnlyInInferenceOverSequencesOfEveryStepAndAnOutputOfItsOwn) {
  const Problem<float> p = make_problem<float>(wide_input_case(false), 3);
  std::vector<float> output(static_cast<size_t>(p.output_size()));
  EXPECT_TRUE(writes_directly(p, false, {}, output));
  EXPECT_FALSE(writes_directly(p, true, {}, output)) << "training keeps h for the backward pass";
  const std::vector<int64_t> shorter{7, 7, 7, 7, 6};  // sorted: the rows keep their order
  EXPECT_FALSE(writes_directly(p, false, shorter, output)) << "a reverse initial state lies in slot 7";
  const std::vector<int64_t> unsorted{7, 7, 6, 7, 7};
  EXPECT_FALSE(writes_directly(p, false, unsorted, output)) << "rows reordered by length";
  const std::vector<int64_t> all{7, 7, 7, 7, 7};
  EXPECT_TRUE(writes_directly(p, false, all, output));
  Problem<float> q = p;
  EXPECT_FALSE(writes_directly(q, false, {}, std::span<float>(q.input).subspan(5)))
      << "an output that overlaps the input";
  EXPECT_FALSE(writes_directly(q, false, {}, std::span<float>(q.h0)))
      << "an output that overlaps h0";
  EXPECT_FALSE(writes_directly(p, false, {}, {})) << "no output wanted";
}

/// The output written by the steps, copied from the workspace, or written over the input
/// itself (in place: one layer's forward direction would overwrite input steps its reverse
/// direction has yet to read): the same bits in every schedule.
TEST(PlaceOutput, TheSameBitsWrittenDirectlyCopiedOrInPlace) {
  for (const auto& [variable_lengths, layers] :
       {std::pair{false, 1}, std::pair{false, 2}, std::pair{true, 2}}) {
    const Problem<float> p = make_problem<float>(wide_input_case(variable_lengths, layers), 4);
    const Weights weights = Weights::uniform(p.spec, 5);
    ForwardOut<float> expected;
    Rnn(weights, ExecOptions{Schedule::sequential, 1}).forward(forward_args(p, expected));
    for (const ExecOptions& options : tested_exec_options()) {
      const std::string what =
          exec_name(options) + " L" + std::to_string(layers) + (variable_lengths ? " varlen" : "");
      const Rnn rnn(weights, options);
      ForwardOut<float> out;
      rnn.forward(forward_args(p, out));
      EXPECT_TRUE(same_bits(out.output, expected.output)) << what;
      EXPECT_TRUE(same_bits(out.hn, expected.hn)) << what;
      // In place: the input's buffer is the output's.
      std::vector<float> buffer = p.input;
      ForwardOut<float> in_place;
      ForwardArgs<float> args = forward_args(p, in_place);
      args.input = buffer;
      args.output = buffer;
      rnn.forward(args);
      EXPECT_TRUE(same_bits(buffer, expected.output)) << what << " in place";
      EXPECT_TRUE(same_bits(in_place.hn, expected.hn)) << what << " in place";
    }
  }
}

}  // namespace
}  // namespace rnnwave::testing
