// The problem-only rules every schedule shares: the blocks weight gradients are summed
// over, which fix the bits of every gradient, and the automatic step block.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "graph/problem.h"

namespace rnnwave {
namespace {

TEST(WeightGradBlocks, CoverEveryStepOnceAndOnlyTheFirstWrites) {
  for (int64_t steps : {1, 2, 31, 100, 127, 128, 129, 1000}) {
    for (int64_t batch : {1, 3, 8, 64, 600}) {
      for (bool walks_back : {false, true}) {
        std::vector<int> covered(static_cast<size_t>(steps), 0);
        int64_t blocks = 0;
        for_each_weight_grad_block(steps, batch, walks_back, [&](int64_t t0, int64_t t1) {
          const std::string where = "steps " + std::to_string(steps) + " batch " +
                                    std::to_string(batch) + " block " + std::to_string(blocks);
          ASSERT_LT(t0, t1) << where;
          for (int64_t t = t0; t < t1; ++t) ++covered[static_cast<size_t>(t)];
          // The first block the order visits writes the gradients, every later one adds.
          EXPECT_EQ(first_weight_grad_block(steps, batch, walks_back, t0), blocks == 0) << where;
          ++blocks;
        });
        for (int64_t t = 0; t < steps; ++t) EXPECT_EQ(covered[static_cast<size_t>(t)], 1) << "step " << t;
      }
    }
  }
}

TEST(WeightGradBlocks, AddEnoughRowsToOutweighTheGradientsBytes) {
  // At N = 1 the blocks of a 100-step sequence were 32 steps, and each block moved every
  // gradient byte of its layer for 32 multiply-adds; now one block covers all 100.
  EXPECT_EQ(weight_grad_block(100, 1), 100);
  EXPECT_EQ(weight_grad_block(1000, 1), 128);
  EXPECT_EQ(weight_grad_block(100, 64), 8);
  EXPECT_EQ(weight_grad_block(100, 600), 1);
}

int64_t automatic_step_block(CellKind cell, int64_t input, int64_t hidden, int64_t layers,
                             bool bidirectional, int64_t batch, bool training = true,
                             int threads = 1, int64_t steps = 100, int64_t asked = 0) {
  const ModelSpec spec{cell, input, hidden, layers, bidirectional};
  ExecOptions options{Schedule::wavefront, threads};
  options.step_block = asked;
  return describe_problem(spec, steps, batch, training, false, true, options).plan.step_block;
}

TEST(StepBlocks, AboutSixtyFourRowsAndUpToSixteenStepsWhereInputWeightsExceedFourMiB) {
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 256, 256, 4, false, 1), 16);
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 256, 256, 1, false, 8), 8);
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 256, 256, 4, true, 64), 1);
  // 4 x 1024 x 1024 floats: 16 MiB. Two blocks of gates within the layer's I + H = 2048
  // rows: 16 steps up to N = 64, then fewer, but never below the 256 rows of before.
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 1024, 1024, 1, false, 64), 16);
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 1024, 1024, 1, false, 32), 16);
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 1024, 1024, 1, false, 128), 8);
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 1024, 1024, 1, false, 256), 4);
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 1024, 1024, 1, false, 1024), 1);
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 1024, 1024, 1, false, 8), 16);
  // The widest layer counts: a bidirectional stack's upper layers take 2H = 2048 inputs
  // (3072 rows), so 12 steps at N = 128.
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 1024, 1024, 2, true, 128), 12);
  // 1024 x 1024 floats are 4 MiB, not more: 64 rows. The bidirectional stack's upper
  // layers take 2048 inputs (8 MiB): 16 steps, for every layer.
  EXPECT_EQ(automatic_step_block(CellKind::rnn_tanh, 1024, 1024, 4, false, 64), 1);
  EXPECT_EQ(automatic_step_block(CellKind::rnn_tanh, 1024, 1024, 2, true, 64), 16);
  EXPECT_EQ(automatic_step_block(CellKind::rnn_tanh, 1024, 1024, 1, true, 64), 1);
}

TEST(StepBlocks, TheWholeSequenceBelowEightRowsWhereItsGatesFit) {
  for (const int64_t batch : {1, 4}) {
    EXPECT_EQ(automatic_step_block(CellKind::lstm, 1024, 1024, 1, false, batch), 100) << batch;
    EXPECT_EQ(automatic_step_block(CellKind::gru, 1024, 1024, 4, true, batch), 100) << batch;
  }
  // Only where every step's gates take no more than the widest layer's input and recurrent
  // weights (T x N rows of at most I + H: 2048 for I = H = 1024; 3072 above a bidirectional
  // layer of 1024) or 8 MiB, whichever is more (2^21 floats: 4096 rows of a one-gate cell at
  // H = 512, more than its I + H = 3512); else blocks of 16 steps, as from 8 rows; never
  // from 8 rows.
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 1024, 1024, 1, false, 7), 100);
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 1024, 1024, 1, false, 8), 16);
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 1024, 1024, 1, false, 1, false, 2, 2048), 2048);
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 1024, 1024, 1, false, 1, false, 2, 2049), 16);
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 1024, 1024, 1, false, 4, true, 1, 512), 512);
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 1024, 1024, 1, false, 4, true, 1, 513), 16);
  EXPECT_EQ(automatic_step_block(CellKind::gru, 1024, 1024, 4, true, 1, false, 2, 3072), 3072);
  EXPECT_EQ(automatic_step_block(CellKind::gru, 1024, 1024, 4, true, 1, false, 2, 3073), 16);
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 80, 1024, 3, false, 1, false, 2, 1000), 1000);
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 1024, 1024, 1, false, 1, false, 2, 1000), 1000);
  EXPECT_EQ(automatic_step_block(CellKind::rnn_tanh, 3000, 512, 1, false, 1, false, 2, 4096), 4096);
  EXPECT_EQ(automatic_step_block(CellKind::rnn_tanh, 3000, 512, 1, false, 1, false, 2, 4097), 16);
}

TEST(StepBlocks, BelowEightRowsTwoDirectionsOneLayerOrInputWeightsAboveOneMiBTakeTheSequence) {
  // Two directions, whatever their size; single layers whose steps split in two (N G H^2
  // at least 2 x 64K: not a one-gate layer of 256 units at N = 1, but at N = 4).
  EXPECT_EQ(automatic_step_block(CellKind::gru, 256, 256, 4, true, 1), 100);
  EXPECT_EQ(automatic_step_block(CellKind::rnn_tanh, 64, 64, 1, true, 1), 100);
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 256, 256, 1, false, 1), 100);
  EXPECT_EQ(automatic_step_block(CellKind::rnn_tanh, 256, 256, 1, false, 1), 16);
  EXPECT_EQ(automatic_step_block(CellKind::rnn_tanh, 256, 256, 1, false, 4), 100);
  // Input weights above 4 MiB, as before, even where the steps are too small to split
  // (4 x 128 rows of 4096 inputs: 8 MiB; N G H^2 = 64K).
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 4096, 128, 1, false, 1), 100);
  // One-direction stacks: input weights above 1 MiB (1024 x 1024 floats: 4 MiB; 4 x 384
  // x 384: 2.25 MiB), not at 1 MiB (4 x 256 x 256; 512 x 512) or below.
  EXPECT_EQ(automatic_step_block(CellKind::rnn_tanh, 1024, 1024, 4, false, 1), 100);
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 384, 384, 4, false, 1), 100);
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 256, 256, 4, false, 1), 16);
  EXPECT_EQ(automatic_step_block(CellKind::rnn_tanh, 512, 512, 4, false, 1), 16);
  EXPECT_EQ(automatic_step_block(CellKind::gru, 256, 256, 2, false, 1), 16);
  // Within 8 MiB of gates (2^21 floats: 2048 rows of 4 x 256) or the widest layer's
  // weights, whichever is more; never from 8 rows.
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 256, 256, 1, false, 1, false, 1, 2048), 2048);
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 256, 256, 1, false, 1, false, 1, 2049), 16);
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 256, 256, 1, false, 8), 8);
}

Plan automatic_plan(int64_t layers, bool bidirectional, int threads, int64_t hidden = 1024) {
  const ModelSpec spec{CellKind::lstm, hidden, hidden, layers, bidirectional};
  return describe_problem(spec, 100, 1, false, false, true, ExecOptions{Schedule::wavefront, threads})
      .plan;
}

TEST(HiddenSplits, AOneDirectionStackOfWholeSequenceBlocksSplitsItsStepsAcrossTheThreads) {
  // One layer at a time: its steps take every thread.
  EXPECT_EQ(automatic_plan(4, false, 2).hidden_splits, 2);
  EXPECT_EQ(automatic_plan(4, false, 4).hidden_splits, 4);
  EXPECT_EQ(automatic_plan(4, false, 1).hidden_splits, 1);
  // Two directions are two chains (but see directions in turn below); blocks of 16 steps
  // leave the wavefront its layers.
  EXPECT_EQ(automatic_plan(4, true, 4).hidden_splits, 2);
  EXPECT_EQ(automatic_plan(4, false, 2, 256).hidden_splits, 1);
}

TEST(StepBlocks, TheSameInInferenceAndTrainingAtAnyThreadCount) {
  for (const bool training : {false, true}) {
    for (const int threads : {1, 2, 16}) {
      EXPECT_EQ(automatic_step_block(CellKind::lstm, 1024, 1024, 4, true, 64, training, threads), 16);
    }
  }
}

Plan two_thread_plan(CellKind cell, int64_t hidden, int64_t layers, bool bidirectional,
                     int64_t steps, int64_t batch, bool training = false, int threads = 2) {
  const ModelSpec spec{cell, hidden, hidden, layers, bidirectional};
  return describe_problem(spec, steps, batch, training, false, true, ExecOptions{Schedule::wavefront, threads})
      .plan;
}

/// Bidirectional inference below 8 rows at two threads runs its directions in turn, a part
/// of each step per thread, where both directions' recurrent weights exceed 16 MiB; the
/// forward graph then runs on the chain runtime, a part per thread.
TEST(HiddenSplits, BidirectionalInferenceTakesItsDirectionsInTurnWhereTheirWeightsExceedSixteenMiB) {
  // Both directions' recurrent weights: 32 MiB (four gates, H = 1024), 24 (three), 8 (one
  // gate), 2 (four gates, H = 256).
  EXPECT_EQ(two_thread_plan(CellKind::lstm, 1024, 4, true, 100, 1).hidden_splits, 2);
  EXPECT_EQ(two_thread_plan(CellKind::gru, 1024, 1, true, 100, 1).hidden_splits, 2);
  EXPECT_EQ(two_thread_plan(CellKind::rnn_tanh, 1024, 1, true, 100, 1).hidden_splits, 1);
  EXPECT_EQ(two_thread_plan(CellKind::lstm, 256, 1, true, 100, 1).hidden_splits, 1);
  // Not in training, from 8 rows, in blocks shorter than the sequence, or at other thread
  // counts (four threads: two parts per direction, each direction's chains side by side).
  EXPECT_EQ(two_thread_plan(CellKind::lstm, 1024, 4, true, 100, 1, true).hidden_splits, 1);
  EXPECT_EQ(two_thread_plan(CellKind::lstm, 1024, 1, true, 5000, 1).hidden_splits, 1);
  EXPECT_EQ(two_thread_plan(CellKind::lstm, 1024, 1, true, 100, 1, false, 4).hidden_splits, 2);
  // Nor for H not a multiple of 16 (32 MiB at H = 1000: its projections would stay whole).
  EXPECT_EQ(two_thread_plan(CellKind::lstm, 1000, 1, true, 100, 1).hidden_splits, 1);
  const ModelSpec spec{CellKind::lstm, 1024, 1024, 1, true};
  const auto plan_with = [&](int64_t batch, auto&& set) {
    ExecOptions options{Schedule::wavefront, 2};
    set(options);
    return describe_problem(spec, 100, batch, false, false, true, options).plan;
  };
  // Nor from 8 rows (the whole sequence asked for), nor for an asked batch split, nor with
  // bf16 weights, which take half the bytes.
  EXPECT_EQ(plan_with(8, [](ExecOptions& o) { o.step_block = 100; }).hidden_splits, 1);
  EXPECT_EQ(plan_with(2, [](ExecOptions& o) { o.batch_splits = 2; }).hidden_splits, 1);
  EXPECT_EQ(plan_with(1, [](ExecOptions& o) { o.precision = Precision::bf16; }).hidden_splits, 1);
  const ProblemDesc in_turn =
      describe_problem(spec, 100, 1, false, false, true, ExecOptions{Schedule::wavefront, 2});
  EXPECT_TRUE(runs_by_chains(in_turn, false));
  EXPECT_FALSE(runs_by_chains(in_turn, true));
}

TEST(Halves, AOneDirectionStackOfLargeInputWeightsRunsInTwoHalvesAtTwoThreads) {
  for (const bool training : {false, true}) {
    for (const CellKind cell : {CellKind::lstm, CellKind::gru}) {
      const Plan plan = two_thread_plan(cell, 1024, 4, false, 100, 64, training);
      EXPECT_EQ(plan.step_block, 50) << training;
      EXPECT_EQ(plan.batch_splits, 2) << training;
      EXPECT_EQ(plan.hidden_splits, 1) << training;
    }
  }
  EXPECT_EQ(two_thread_plan(CellKind::lstm, 1024, 2, false, 101, 16).step_block, 51);
  // Not at one thread or four, on two directions, one layer, input weights of 4 MiB, or
  // sub-batches below 8 rows: the rules of before.
  EXPECT_EQ(two_thread_plan(CellKind::lstm, 1024, 4, false, 100, 64, false, 1).step_block, 16);
  EXPECT_EQ(two_thread_plan(CellKind::lstm, 1024, 4, false, 100, 64, false, 4).step_block, 16);
  EXPECT_EQ(two_thread_plan(CellKind::lstm, 1024, 4, true, 100, 64).step_block, 16);
  const Plan one_layer = two_thread_plan(CellKind::lstm, 1024, 1, false, 100, 64);
  EXPECT_EQ(one_layer.step_block, 16);
  EXPECT_EQ(one_layer.batch_splits, 2);
  EXPECT_EQ(two_thread_plan(CellKind::lstm, 512, 4, false, 100, 64).step_block, 1);
  EXPECT_EQ(two_thread_plan(CellKind::rnn_tanh, 1024, 4, false, 100, 64).step_block, 1);
  const Plan eight_rows = two_thread_plan(CellKind::lstm, 1024, 4, false, 100, 8);
  EXPECT_EQ(eight_rows.step_block, 16);
  EXPECT_EQ(eight_rows.batch_splits, 1);
}

TEST(Halves, OnlyWhereTheSequencesGatesTakeNoMoreThanTheStacksWeights) {
  // Four layers of I + H = 2048 rows of gates' width: 8192 rows, 128 steps of 64.
  EXPECT_EQ(two_thread_plan(CellKind::lstm, 1024, 4, false, 128, 64).step_block, 64);
  EXPECT_EQ(two_thread_plan(CellKind::lstm, 1024, 4, false, 129, 64).step_block, 16);
  EXPECT_EQ(two_thread_plan(CellKind::lstm, 1024, 2, false, 64, 64).step_block, 32);
  EXPECT_EQ(two_thread_plan(CellKind::lstm, 1024, 2, false, 65, 64).step_block, 16);
  // One set of gates for all layers: the sequence's, no ring.
  ExecOptions options{Schedule::wavefront, 2};
  const ProblemDesc p = describe_problem(ModelSpec{CellKind::lstm, 1024, 1024, 4, false}, 100, 64,
                                         false, false, true, options);
  EXPECT_EQ(p.layout.gate_ring_blocks, 0);
  EXPECT_EQ(p.layout.gate_slots, 100);
  EXPECT_EQ(p.layout.gate_layers, 1);
}

TEST(Halves, AnAskedBlockOrSplitKeepsTheRulesOfBefore) {
  const ModelSpec spec{CellKind::lstm, 1024, 1024, 4, false};
  ExecOptions block{Schedule::wavefront, 2};
  block.step_block = 8;
  const Plan asked_block = describe_problem(spec, 100, 64, false, false, true, block).plan;
  EXPECT_EQ(asked_block.step_block, 8);
  EXPECT_EQ(asked_block.batch_splits, 1);
  ExecOptions splits{Schedule::wavefront, 2};
  splits.batch_splits = 1;
  EXPECT_EQ(describe_problem(spec, 100, 64, false, false, true, splits).plan.step_block, 16);
}

ProblemDesc inference(CellKind cell, int64_t hidden, int64_t steps, int64_t batch, int64_t block,
                      int threads = 1) {
  ExecOptions options{Schedule::wavefront, threads};
  options.step_block = block;
  return describe_problem(ModelSpec{cell, hidden, hidden, 4, true}, steps, batch, false, false,
                          true, options);
}

TEST(GateRing, InferenceKeepsTwoBlocksOfGatesWhereEveryStepsWouldTakeMoreThanEightMiB) {
  // 4 x 1024 gates of 64 rows a step: 100 steps would be 100 MiB per (layer, direction).
  const ProblemDesc large = inference(CellKind::lstm, 1024, 100, 64, 0);
  EXPECT_EQ(large.plan.step_block, 16);
  EXPECT_EQ(large.layout.gate_ring_blocks, 2);
  EXPECT_EQ(large.layout.gate_slots, 32);
  // Blocks of 1 MiB: a ring of 8 (8 MiB) of the 12 blocks of 48 steps; of 13 blocks, the
  // last one partial, at 50.
  EXPECT_EQ(inference(CellKind::lstm, 256, 48, 64, 4, 2).layout.gate_slots, 32);
  EXPECT_EQ(inference(CellKind::lstm, 256, 50, 64, 4, 2).layout.gate_ring_blocks, 8);
  // Every step's gates fit in 8 MiB: a slot per step.
  for (const int64_t steps : {8, 32}) {
    const ProblemDesc small = inference(CellKind::lstm, 256, steps, 64, 4, 2);
    EXPECT_EQ(small.layout.gate_ring_blocks, 0) << steps;
    EXPECT_EQ(small.layout.gate_slots, steps) << steps;
  }
  // Training keeps every step's gates for the backward pass.
  ExecOptions options{Schedule::wavefront, 1};
  const ProblemDesc training =
      describe_problem(ModelSpec{CellKind::lstm, 1024, 1024, 4, true}, 100, 64, true, false, true, options);
  EXPECT_EQ(training.layout.gate_ring_blocks, 0);
  EXPECT_EQ(training.layout.gate_slots, 100);
}

TEST(GateLayers, InferenceWithASlotPerStepKeepsOneSetOfGatesForAllLayers) {
  // A slot per step: every step's gates fit in 8 MiB, or the block is the whole sequence.
  const ProblemDesc small = inference(CellKind::lstm, 256, 32, 64, 4, 2);
  ASSERT_EQ(small.layout.gate_slots, 32);
  EXPECT_EQ(small.layout.gate_layers, 1);
  ExecOptions whole{Schedule::wavefront, 2};
  const ProblemDesc sequence =
      describe_problem(ModelSpec{CellKind::gru, 1024, 1024, 3, true}, 500, 1, false, false, true, whole);
  ASSERT_EQ(sequence.plan.step_block, 500);
  EXPECT_EQ(sequence.layout.gate_layers, 1);
  // The gates' region holds one layer's: 2 directions x 32 steps x 64 rows.
  const int64_t next = small.buffers > 0 ? small.layout.buffer[0] : small.layout.dropped;
  EXPECT_EQ(next - small.layout.gates, 2 * 32 * 64 * small.GH());
  // A ring, or a slot serving every step, serves several steps of a layer while the
  // layers run side by side: a set per layer. Training keeps every layer's.
  EXPECT_EQ(inference(CellKind::lstm, 1024, 100, 64, 0).layout.gate_layers, 4);
  const ProblemDesc one_slot = inference(CellKind::lstm, 256, 8, 64, 1, 1);
  ASSERT_EQ(one_slot.layout.gate_slots, 1);
  EXPECT_EQ(one_slot.layout.gate_layers, 4);
  ExecOptions trains{Schedule::wavefront, 2};
  trains.step_block = 4;
  EXPECT_EQ(describe_problem(ModelSpec{CellKind::lstm, 256, 256, 4, true}, 32, 64, true, false, true,
                             trains).layout.gate_layers,
            4);
}

TEST(StepBlocks, AnAskedBlockAndShortSequencesWin) {
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 1024, 1024, 1, false, 64, true, 1, 100, 1), 1);
  EXPECT_EQ(automatic_step_block(CellKind::lstm, 1024, 1024, 1, false, 64, true, 1, 3), 3);
}

/// The wavefront schedule's backward pass runs in lock step from 8 rows at two threads, for
/// a single layer or a stack in two halves.
TEST(LockStep, ASingleLayerOrTwoHalvesFromEightRowsAtTwoThreads) {
  const auto lock_step = [](const ModelSpec& spec, int64_t batch, int threads,
                            Schedule schedule = Schedule::wavefront, int64_t step_block = 0) {
    ExecOptions options{schedule, threads};
    options.step_block = step_block;
    return backward_in_lock_step(describe_problem(spec, 100, batch, true, false, true, options));
  };
  const ModelSpec layer{CellKind::gru, 16, 32, 1, true};
  EXPECT_TRUE(lock_step(layer, 8, 2));
  EXPECT_TRUE(lock_step(layer, 64, 2));
  EXPECT_FALSE(lock_step(layer, 7, 2));
  EXPECT_FALSE(lock_step(layer, 64, 1));
  EXPECT_FALSE(lock_step(layer, 64, 3));
  EXPECT_FALSE(lock_step(layer, 64, 2, Schedule::sequential));
  EXPECT_FALSE(lock_step(layer, 64, 2, Schedule::layerwise));  // (it is the layerwise schedule)
  // The grid's 4-layer LSTM of H = 1024 at N = 64 runs in two halves (runs_in_halves);
  // asked for blocks of 16 steps, or at H = 256, it keeps the graph.
  const ModelSpec halves{CellKind::lstm, 1024, 1024, 4, false};
  EXPECT_TRUE(lock_step(halves, 64, 2));
  EXPECT_FALSE(lock_step(halves, 64, 2, Schedule::wavefront, 16));
  EXPECT_FALSE(lock_step(ModelSpec{CellKind::lstm, 256, 256, 4, false}, 64, 2));
}

}  // namespace
}  // namespace rnnwave
