// Outputs and every gradient are bit-identical whatever the schedule's thread count and
// decomposition: weight gradients are summed in an order fixed by the graph, and every
// other value is computed row by row by kernels that do not depend on the row grouping.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "graph/problem.h"
#include "support/exec_options.h"
#include "support/problem.h"

namespace rnnwave::testing {
namespace {

struct Result {
  ForwardOut<float> out;
  std::vector<float> input, h0, c0, weights;
};

Result run(const Problem<float>& p, const Weights& weights, const ExecOptions& options,
           double dropout) {
  const Rnn rnn(weights, options);
  Result r;
  const Grads<float> g = run_backward(rnn, p, &r.out, dropout);
  r.input = g.input;
  r.h0 = g.h0;
  r.c0 = g.c0;
  r.weights.assign(g.weights.flat().begin(), g.weights.flat().end());
  return r;
}

void expect_same_bits(const Result& r, const Result& expected, const std::string& what) {
  EXPECT_TRUE(same_bits(r.out.output, expected.out.output)) << what << ": output";
  EXPECT_TRUE(same_bits(r.out.hn, expected.out.hn)) << what << ": hn";
  EXPECT_TRUE(same_bits(r.out.cn, expected.out.cn)) << what << ": cn";
  EXPECT_TRUE(same_bits(r.input, expected.input)) << what << ": grad input";
  EXPECT_TRUE(same_bits(r.h0, expected.h0)) << what << ": grad h0";
  EXPECT_TRUE(same_bits(r.c0, expected.c0)) << what << ": grad c0";
  EXPECT_TRUE(same_bits(r.weights, expected.weights)) << what << ": weight grads";
}

/// A 3-layer stack with initial states and variable lengths over 23 steps. Directions: 0
/// one forward, 1 both, 2 one reverse.
Case stack_case(const CellVariant& variant, int directions, int64_t batch) {
  Case c = case_of(variant);
  c.layers = 3;
  c.bidirectional = directions == 1;
  c.reverse = directions == 2;
  c.with_h0 = true;
  c.variable_lengths = true;
  c.input_size = 10;
  c.hidden_size = 40;
  c.steps = 23;
  c.batch = batch;
  return c;
}

class Determinism : public ::testing::TestWithParam<CellVariant> {};

TEST_P(Determinism, BitIdenticalForEveryThreadCountAndDecomposition) {
  // Directions: 0 one forward, 1 both, 2 one reverse.
  for (const auto& [directions, dropout] : {std::pair{0, 0.0}, std::pair{1, 0.0}, std::pair{0, 0.3},
                                            std::pair{1, 0.3}, std::pair{2, 0.3}}) {
    const Case c = stack_case(GetParam(), directions, 12);
    const Problem<float> p = make_problem<float>(c, 7);
    const Weights weights = Weights::uniform(p.spec, 8);
    const Result expected = run(p, weights, ExecOptions{Schedule::sequential, 1}, dropout);
    for (int threads : {1, 2, 3, 4, 8}) {
      for (int64_t block : {0, 1, 5, 12, 23}) {  // 12: two blocks, the default's halves
        for (int64_t splits : {0, 1, 3, 12}) {
          ExecOptions options{Schedule::wavefront, threads};
          options.step_block = block;
          options.batch_splits = splits;
          options.hidden_splits = 1 + (block + splits) % 3;  // 16-unit parts of H = 40
          const Result r = run(p, weights, options, dropout);
          const std::string what = std::string(directions == 1 ? "bi " : directions == 2 ? "rev " : "uni ") +
                                   exec_name(options) +
                                   (dropout > 0 ? " dropout" : "");
          expect_same_bits(r, expected, what);
        }
      }
    }
  }
}

/// At two threads from 8 rows a single layer's backward pass runs in lock step
/// (backward_in_lock_step) after any forward decomposition: the bits of one thread, in
/// every direction.
TEST_P(Determinism, TheLockStepBackwardGivesTheSameBits) {
  for (const int directions : {0, 1, 2}) {
    Case c = stack_case(GetParam(), directions, 12);
    c.layers = 1;
    const Problem<float> p = make_problem<float>(c, 7);
    const Weights weights = Weights::uniform(p.spec, 8);
    const Result expected = run(p, weights, ExecOptions{Schedule::sequential, 1}, 0);
    for (int64_t block : {0, 1, 5, 23}) {
      for (int64_t splits : {0, 1, 3}) {
        ExecOptions options{Schedule::wavefront, 2};
        options.step_block = block;
        options.batch_splits = splits;
        options.hidden_splits = 1 + (block + splits) % 3;
        const ProblemDesc desc = describe_problem(p.spec, c.steps, c.batch, true, false, false, options);
        ASSERT_TRUE(backward_in_lock_step(desc)) << exec_name(options);
        const std::string what = std::to_string(directions) + " " + exec_name(options);
        expect_same_bits(run(p, weights, options, 0), expected, what);
      }
    }
  }
}

/// So does a stack the plan runs in two halves (runs_in_halves: input weights above 4 MiB,
/// here a wide input to a narrow layer), with dropout between its layers.
TEST(DeterminismOfHalves, TheLockStepBackwardOfTwoHalvesGivesTheSameBits) {
  Case c;
  c.layers = 2;
  c.input_size = 16500;  // 4 x 16 x 16500 floats: just above 4 MiB
  c.hidden_size = 16;
  c.steps = 6;
  c.batch = 16;
  c.with_h0 = true;
  const Problem<float> p = make_problem<float>(c, 7);
  const Weights weights = Weights::uniform(p.spec, 8);
  const ExecOptions options{Schedule::wavefront, 2};
  const ProblemDesc desc = describe_problem(p.spec, c.steps, c.batch, true, true, false, options);
  ASSERT_EQ(desc.plan.step_block, 3);
  ASSERT_EQ(desc.plan.batch_splits, 2);
  ASSERT_TRUE(backward_in_lock_step(desc));
  expect_same_bits(run(p, weights, options, 0.3), run(p, weights, ExecOptions{Schedule::sequential, 1}, 0.3),
                   "halves");
}

/// Where H is whole panels and one block is the whole sequence, the projection tasks
/// split by units like the steps (projection_parts): the bits of one thread, in every
/// direction, on 1 to 3 threads (and, beside them, blocks of several steps).
TEST_P(Determinism, ProjectionsSplitByUnitsGiveTheSameBits) {
  for (const int directions : {0, 1, 2}) {
    Case c = stack_case(GetParam(), directions, 6);
    c.hidden_size = 48;
    const Problem<float> p = make_problem<float>(c, 11);
    const Weights weights = Weights::uniform(p.spec, 12);
    const Result expected = run(p, weights, ExecOptions{Schedule::sequential, 1}, 0.3);
    for (const int threads : {1, 2, 3}) {
      for (const int64_t block : {5, 23}) {
        for (const int64_t parts : {2, 3}) {
          ExecOptions options{Schedule::wavefront, threads};
          options.step_block = block;
          options.hidden_splits = parts;
          const ProblemDesc desc = describe_problem(p.spec, c.steps, c.batch, true, true, false, options);
          const std::string what = std::to_string(directions) + " " + exec_name(options);
          if (splits_by_units(GetParam())) {
            EXPECT_EQ(projection_parts(desc), block == c.steps ? parts : 1) << what;
          }
          expect_same_bits(run(p, weights, options, 0.3), expected, what);
        }
      }
    }
  }
}

/// Small batches of one-direction stacks run on the chain runtime (runs_by_chains), whose
/// threads own whole layers: the same bits as one thread, forward and reverse, with and
/// without dropout, with blocks of one step and of several.
TEST_P(Determinism, TheChainRuntimeGivesTheSameBits) {
  for (const auto& [reverse, dropout] : {std::pair{false, 0.0}, std::pair{false, 0.3}, std::pair{true, 0.3}}) {
    const Case c = stack_case(GetParam(), reverse ? 2 : 0, 4);
    const Problem<float> p = make_problem<float>(c, 9);
    const Weights weights = Weights::uniform(p.spec, 10);
    const Result expected = run(p, weights, ExecOptions{Schedule::sequential, 1}, dropout);
    for (int threads : {2, 3}) {
      for (int64_t block : {0, 1, 5}) {
        ExecOptions options{Schedule::wavefront, threads};
        options.step_block = block;
        const ProblemDesc desc = describe_problem(p.spec, c.steps, c.batch, true, dropout > 0, true, options);
        ASSERT_TRUE(runs_by_chains(desc, false) && runs_by_chains(desc, true));
        const Result r = run(p, weights, options, dropout);
        expect_same_bits(r, expected, std::string(reverse ? "rev " : "uni ") + exec_name(options) +
                                          (dropout > 0 ? " dropout" : ""));
      }
    }
  }
}

/// With whole-sequence blocks, small batches run a layer at a time, each thread one
/// direction's part of every step, or with a part per thread, the directions in turn: the
/// forward graph on the chain runtime (runs_by_chains), the backward one on the dataflow
/// runtime. The bits of one thread, in training (with dropout) and inference, one direction
/// (forward and reverse) and both.
TEST_P(Determinism, TheChainRuntimeByPartsGivesTheSameBits) {
  for (const int directions : {0, 1, 2}) {  // one forward, both, one reverse
    Case c = stack_case(GetParam(), directions, 4);
    c.hidden_size = 48;
    const Problem<float> p = make_problem<float>(c, 15);
    const Weights weights = Weights::uniform(p.spec, 16);
    const ExecOptions one{Schedule::sequential, 1};
    const Result expected = run(p, weights, one, 0.3);
    ForwardOut<float> inferred;
    Rnn(weights, one).forward(forward_args(p, inferred));
    const int64_t D = directions == 1 ? 2 : 1;
    // (parts, threads): a direction's part per thread, or both directions' (in turn).
    for (const auto& [parts, threads] :
         {std::pair{1, 2}, std::pair{2, 2}, std::pair{2, 4}, std::pair{3, 3}}) {
      if (threads != D * parts && (D == 1 || threads != parts)) continue;
      ExecOptions options{Schedule::wavefront, threads};
      options.step_block = c.steps;
      options.hidden_splits = parts;
      const std::string what = std::to_string(directions) + " " + exec_name(options);
      const ProblemDesc desc = describe_problem(p.spec, c.steps, c.batch, true, true, false, options);
      // A cell that cannot split by units keeps one part. Both directions' parts on each
      // thread (in turn) take the chain runtime at two threads only.
      const int64_t kept = splits_by_units(GetParam()) ? parts : 1;
      const bool chains = D * kept == threads || (D == 2 && threads == 2 && kept == 2);
      ASSERT_EQ(runs_by_chains(desc, false), chains) << what;
      EXPECT_FALSE(runs_by_chains(desc, true)) << what;
      expect_same_bits(run(p, weights, options, 0.3), expected, what + " dropout");
      ForwardOut<float> out;
      Rnn(weights, options).forward(forward_args(p, out));
      EXPECT_TRUE(same_bits(out.output, inferred.output)) << what << ": inference output";
      EXPECT_TRUE(same_bits(out.hn, inferred.hn)) << what << ": inference hn";
      EXPECT_TRUE(same_bits(out.cn, inferred.cn)) << what << ": inference cn";
    }
  }
}

/// With one step per projection block and no more threads than independent chains, the
/// steps compute their own input projection (steps_project_input), within the first
/// product where it adds to the gates (steps_fuse_input): the bits of a separate
/// projection, with and without dropout, on every layer (I = 10 below, 32 or 64 above),
/// in every schedule; and so does inference, whose steps then share one slot of gates
/// per (layer, direction).
TEST_P(Determinism, StepsThatProjectTheirInputGiveTheSameBits) {
  struct Config {
    Schedule schedule;
    int threads;
    int64_t batch_splits;
    int64_t hidden_splits = 1;  // parts of 16 units (cells of one stage)
  };
  for (const auto& [directions, dropout] : {std::pair{0, 0.0}, std::pair{1, 0.3}, std::pair{2, 0.3},
                                            std::pair{1, 0.0}, std::pair{2, 0.0}}) {
    Case c = stack_case(GetParam(), directions, 12);
    c.hidden_size = 32;  // whole panels: the two weights' panels hold the same columns
    const Problem<float> p = make_problem<float>(c, 16);
    const Weights weights = Weights::uniform(p.spec, 17);
    ExecOptions separate{Schedule::sequential, 1};
    separate.step_block = 5;
    const Result expected = run(p, weights, separate, dropout);
    for (const Config& config : {Config{Schedule::sequential, 1, 0}, Config{Schedule::wavefront, 1, 0},
                                 Config{Schedule::layerwise, 1, 0}, Config{Schedule::layerwise, 3, 0},
                                 Config{Schedule::wavefront, 2, 2},
                                 Config{Schedule::wavefront, 3, 3}, Config{Schedule::wavefront, 2, 1, 2},
                                 Config{Schedule::sequential, 1, 1, 2}}) {
      ExecOptions options{config.schedule, config.threads};
      options.step_block = 1;
      options.batch_splits = config.batch_splits;
      options.hidden_splits = config.hidden_splits;
      const ProblemDesc desc = describe_problem(p.spec, c.steps, c.batch, true, dropout > 0, false, options);
      // The layerwise schedule projects a whole layer at once (its plan's step block is
      // the sequence); the GRUs' products go to their own buffers, and apart from the
      // products the steps project only in inference on one thread.
      const bool fused = config.schedule != Schedule::layerwise && GetParam().cell != CellKind::gru &&
                         GetParam().cell != CellKind::gru_rb;
      const bool in_step = fused;
      const ProblemDesc apart = describe_problem(p.spec, c.steps, c.batch, true, dropout > 0, false, separate);
      for (int64_t l = 0; l < c.layers; ++l) {
        EXPECT_EQ(steps_project_input(desc, l), in_step) << exec_name(options) << " layer " << l;
        EXPECT_EQ(steps_fuse_input(desc, l), fused) << exec_name(options) << " layer " << l;
        EXPECT_FALSE(steps_project_input(apart, l));
      }
      const std::string what = std::string(directions == 1 ? "bi " : directions == 2 ? "rev " : "uni ") +
                               exec_name(options) + (dropout > 0 ? " dropout" : "");
      const Result r = run(p, weights, options, dropout);
      expect_same_bits(r, expected, what);
      if (dropout > 0) continue;  // inference has none: its rounds are those without
      const ProblemDesc inference = describe_problem(p.spec, c.steps, c.batch, false, false, false, options);
      const bool in_step_inference =
          fused || (config.schedule != Schedule::layerwise && config.threads == 1);
      EXPECT_EQ(steps_project_input(inference, 0), in_step_inference) << what;
      EXPECT_EQ(inference.layout.gate_slots, in_step_inference ? 1 : c.steps) << what;
      ForwardOut<float> out;
      Rnn(weights, options).forward(forward_args(p, out));
      EXPECT_TRUE(same_bits(out.output, expected.out.output)) << what << ": inference output";
      EXPECT_TRUE(same_bits(out.hn, expected.out.hn)) << what << ": inference hn";
      EXPECT_TRUE(same_bits(out.cn, expected.out.cn)) << what << ": inference cn";
    }
  }
}

/// The promise of train --help: results do not depend on the schedule. At a size where
/// the weight gradients are summed over several blocks (T = 100, N = 16: blocks of 32
/// steps), every schedule at 1, 2 and 3 threads gives the bits of the sequential one.
TEST_P(Determinism, EveryScheduleGivesTheSameBits) {
  Case c = case_of(GetParam());
  c.layers = 2;
  c.bidirectional = true;
  c.input_size = 32;
  c.hidden_size = 64;
  c.steps = 100;
  c.batch = 16;
  const Problem<float> p = make_problem<float>(c, 14);
  const Weights weights = Weights::uniform(p.spec, 15);
  // Several blocks, or the test would not see the order of their sum.
  ASSERT_LT(Rnn(weights).plan(c.steps, c.batch).weight_block, c.steps / 2);
  const Result expected = run(p, weights, ExecOptions{Schedule::sequential, 1}, 0);
  for (Schedule schedule : kAllSchedules) {
    // Three threads cut the layerwise schedule's projections and input gradients into
    // unequal ranges of steps (100 / 3).
    for (int threads : {1, 2, 3}) {
      const Result r = run(p, weights, ExecOptions{schedule, threads}, 0);
      const std::string what = exec_name(ExecOptions{schedule, threads});
      EXPECT_TRUE(same_bits(r.out.output, expected.out.output)) << what << ": output";
      EXPECT_TRUE(same_bits(r.out.hn, expected.out.hn)) << what << ": hn";
      EXPECT_TRUE(same_bits(r.out.cn, expected.out.cn)) << what << ": cn";
      EXPECT_TRUE(same_bits(r.input, expected.input)) << what << ": grad input";
      EXPECT_TRUE(same_bits(r.h0, expected.h0)) << what << ": grad h0";
      EXPECT_TRUE(same_bits(r.c0, expected.c0)) << what << ": grad c0";
      // Each parameter on its own, so that a failure names it.
      Weights actual(p.spec), wanted(p.spec);
      std::copy(r.weights.begin(), r.weights.end(), actual.flat().begin());
      std::copy(expected.weights.begin(), expected.weights.end(), wanted.flat().begin());
      for (const ParamInfo& info : weights.params()) {
        const auto x = actual.get(info.name), y = wanted.get(info.name);
        EXPECT_TRUE(std::memcmp(x.data(), y.data(), x.size_bytes()) == 0)
            << what << ": gradient of " << info.name;
      }
    }
  }
}

/// A 2-layer LSTM stack of 256 rows over 100 steps whose inference gates take a ring
/// in blocks of 32 or 48 steps (256 x 128 floats of gates a step per layer and direction).
Case ring_case(int directions) {
  Case c = stack_case(CellVariant{CellKind::lstm}, directions, 256);
  c.layers = 2;
  c.input_size = 8;
  c.hidden_size = 32;
  c.steps = 100;
  return c;
}

/// Inference whose projection tasks fill a ring of gate slots (problem.cpp's
/// gate_ring_blocks: two or more blocks, where every step's gates would exceed 8 MiB per
/// (layer, direction)) gives the bits of steps that keep one slot: 100 steps of 256 rows
/// with variable lengths, in blocks of 32 (the last of 4 steps) and of 48, forward,
/// bidirectional and reverse, on 1 to 3 threads, split by rows and by units.
TEST(GateRingDeterminism, TheBitsOfOneSlotPerStep) {
  for (const int directions : {0, 1, 2}) {
    const Case c = ring_case(directions);
    const Problem<float> p = make_problem<float>(c, 18);
    const Weights weights = Weights::uniform(p.spec, 19);
    ForwardOut<float> expected;
    Rnn(weights, ExecOptions{Schedule::sequential, 1}).forward(forward_args(p, expected));
    for (const int threads : {1, 2, 3}) {
      for (const int64_t block : {32, 48}) {
        ExecOptions options{Schedule::wavefront, threads};
        options.step_block = block;
        options.batch_splits = threads == 3 ? 2 : 0;
        options.hidden_splits = threads == 3 ? 2 : 0;
        const std::string what = std::to_string(directions) + " " + exec_name(options);
        const ProblemDesc desc = describe_problem(p.spec, c.steps, c.batch, false, false, false, options);
        ASSERT_EQ(desc.layout.gate_ring_blocks, 2) << what;
        ForwardOut<float> out;
        Rnn(weights, options).forward(forward_args(p, out));
        EXPECT_TRUE(same_bits(out.output, expected.output)) << what << ": output";
        EXPECT_TRUE(same_bits(out.hn, expected.hn)) << what << ": hn";
        EXPECT_TRUE(same_bits(out.cn, expected.cn)) << what << ": cn";
      }
    }
  }
}

/// A model keeps its graphs (graph_cache.h): an inference pass after a training pass of
/// the same sizes and plan, whose graph keeps every step's gates and so waits for no
/// step, still waits in the ring; and so does one whose steps projected their own input
/// (one slot, at one thread) before its options moved the projections to tasks in a ring
/// (at two threads).
TEST(GateRingDeterminism, OneModelAfterATrainingPassAndAfterOtherOptions) {
  Case c = ring_case(1);
  Problem<float> p = make_problem<float>(c, 20);
  Weights weights = Weights::uniform(p.spec, 21);
  ForwardOut<float> expected, trained, out;
  Rnn(weights, ExecOptions{Schedule::sequential, 1}).forward(forward_args(p, expected));
  ExecOptions options{Schedule::wavefront, 1};
  options.step_block = 32;
  const Rnn rnn(weights, options);
  Workspace workspace;
  rnn.forward(forward_args(p, trained), workspace);
  rnn.forward(forward_args(p, out));
  EXPECT_TRUE(same_bits(out.output, expected.output)) << "inference after training";

  c = stack_case(CellVariant{CellKind::lstm}, 0, 64);
  c.layers = 1;
  c.with_h0 = false;
  c.variable_lengths = false;
  c.input_size = c.hidden_size = 512;  // not fused: the steps project apart, at one thread
  c.steps = 24;
  p = make_problem<float>(c, 22);
  weights = Weights::uniform(p.spec, 23);
  Rnn(weights, ExecOptions{Schedule::sequential, 1}).forward(forward_args(p, expected));
  options = ExecOptions{Schedule::wavefront, 1};
  options.step_block = options.batch_splits = options.hidden_splits = 1;
  Rnn model(weights, options);
  for (const int threads : {1, 2}) {
    options.threads = threads;
    const ProblemDesc desc = describe_problem(p.spec, c.steps, c.batch, false, false, true, options);
    EXPECT_EQ(desc.layout.gate_ring_blocks, threads == 1 ? 0 : 16);
    model.set_options(options);
    model.forward(forward_args(p, out));
    EXPECT_TRUE(same_bits(out.output, expected.output)) << "inference at " << threads << " threads";
  }
}

INSTANTIATE_TEST_SUITE_P(AllCells, Determinism, ::testing::ValuesIn(all_cell_variants()),
                         [](const auto& param_info) { return variant_name(param_info.param); });

}  // namespace
}  // namespace rnnwave::testing
