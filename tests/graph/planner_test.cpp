// The planner: its candidate plans run and give the default plan's bits, the cost model
// ranks them sensibly on an injected calibration (no calibration runs here), and the list
// schedule behind it.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "graph/cost_model.h"
#include "rnnwave/error.h"
#include "rnnwave/planner.h"
#include "support/errors.h"
#include "support/problem.h"

namespace rnnwave::testing {
namespace {

/// A full kernel grid at one rate, with the given per-task costs.
Calibration flat_calibration(double gflops, double task_ns_inline, double task_ns_threads) {
  Calibration c;
  for (int64_t k : {64, 1024}) {
    for (int64_t rows : {1, 256}) c.kernel.push_back({rows, k, 4 * k, gflops});
  }
  c.pointwise_ns = 1;
  c.task_ns_inline = task_ns_inline;
  c.runtime = {{2, task_ns_threads, task_ns_threads}};
  return c;
}

auto key(const Plan& p) {
  return std::make_tuple(int(p.schedule), p.threads, p.step_block, p.batch_splits, p.hidden_splits,
                         p.weight_block);
}

struct Outputs {
  ForwardOut<float> out;
  std::vector<float> input, weights;
};

Outputs run(const Problem<float>& p, const Weights& weights, const ExecOptions& options) {
  const Rnn rnn(weights, options);
  Outputs r;
  const Grads<float> g = run_backward(rnn, p, &r.out, 0.0);
  r.input = g.input;
  r.weights.assign(g.weights.flat().begin(), g.weights.flat().end());
  return r;
}

class PlanCandidates : public ::testing::TestWithParam<CellVariant> {};

// docs/design.md §5: results are bit-identical for any thread count, step block, batch
// split, hidden split and schedule, and the weight-gradient block (which fixes the order
// of the gradients' sums) is the same in every candidate; so every candidate must give
// the default plan's bits, outputs and gradients.
TEST_P(PlanCandidates, EveryCandidateRunsAndGivesTheDefaultPlansBits) {
  for (bool bidirectional : {false, true}) {
    Case c = case_of(GetParam());
    c.layers = 2;
    c.bidirectional = bidirectional;
    c.input_size = 7;
    c.hidden_size = 40;
    c.steps = 9;
    c.batch = 5;
    const Problem<float> p = make_problem<float>(c, 3);
    const Weights weights = Weights::uniform(p.spec, 4);
    const ExecOptions two_threads{Schedule::wavefront, 2};
    // Training passes (run below): the candidates of a training pass.
    const std::vector<Plan> plans = plan_candidates(p.spec, c.steps, c.batch, two_threads, true);
    const Plan fixed = Rnn(weights, two_threads).plan(c.steps, c.batch, true);
    ASSERT_FALSE(plans.empty());
    EXPECT_EQ(key(plans.front()), key(fixed)) << "the default plan comes first";
    std::set<decltype(key(fixed))> seen;
    std::set<Schedule> schedules;
    int64_t most_parts = 1;
    for (const Plan& plan : plans) {
      EXPECT_TRUE(seen.insert(key(plan)).second) << "a candidate appears twice";
      EXPECT_EQ(plan.weight_block, fixed.weight_block);
      schedules.insert(plan.schedule);
      most_parts = std::max(most_parts, plan.hidden_splits);
    }
    EXPECT_EQ(schedules.size(), 3u) << "sequential, wavefront and layerwise at 2 threads";
    EXPECT_EQ(most_parts > 1, splits_by_units(GetParam()));
    EXPECT_GT(plans.size(), 10u);
    const Outputs expected = run(p, weights, two_threads);
    for (const Plan& plan : plans) {
      const ExecOptions options = pin_plan(two_threads, plan);
      EXPECT_EQ(key(Rnn(weights, options).plan(c.steps, c.batch, true)), key(plan)) << "pin_plan must reproduce the plan";
      const Outputs r = run(p, weights, options);
      const std::string what = std::string(to_string(plan.schedule)) + " block " + std::to_string(plan.step_block) +
                               " splits " + std::to_string(plan.batch_splits) + " parts " +
                               std::to_string(plan.hidden_splits) + (bidirectional ? " bi" : " uni");
      EXPECT_TRUE(same_bits(r.out.output, expected.out.output)) << what;
      EXPECT_TRUE(same_bits(r.out.hn, expected.out.hn)) << what;
      EXPECT_TRUE(same_bits(r.input, expected.input)) << what;
      EXPECT_TRUE(same_bits(r.weights, expected.weights)) << what;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cells, PlanCandidates, ::testing::ValuesIn(all_cell_variants()),
                         [](const auto& param_info) { return variant_name(param_info.param); });

TEST(PlanCandidates, OneThreadOffersSequentialPlansOnly) {
  const ModelSpec spec{CellKind::gru, 40, 64, 3};
  for (const Plan& plan : plan_candidates(spec, 500, 17, ExecOptions{Schedule::wavefront, 1})) {
    EXPECT_EQ(plan.threads, 1);
    EXPECT_LE(plan.step_block, 64);
    EXPECT_EQ(plan.batch_splits, 1);
  }
}

TEST(CostModel, PrefersFewerTasksWhenThePerTaskCostDominates) {
  // Tiny steps, 0.1 ms per task inline and 1 ms per task dispatched to a thread (the
  // OpenMP runtime costs several times the inline runner): the fewest tasks win, on one
  // thread, with the longest step block.
  const ModelSpec spec{CellKind::lstm, 16, 16, 1};
  const Calibration c = flat_calibration(50, 1e5, 1e6);
  const Plan best = auto_plan(spec, 50, 4, false, ExecOptions{Schedule::wavefront, 2}, c);
  EXPECT_EQ(best.schedule, Schedule::sequential);
  int64_t longest = 0;
  for (const Plan& plan : plan_candidates(spec, 50, 4, ExecOptions{Schedule::wavefront, 2})) {
    if (plan.schedule == Schedule::sequential) longest = std::max(longest, plan.step_block);
  }
  EXPECT_EQ(best.step_block, longest);
}

TEST(CostModel, PrefersTwoThreadsWhenTasksAreLargeAndCheap) {
  // Large steps, a free runtime: a bidirectional stack's two chains on two threads beat
  // one thread, predicted at close to half the time.
  const ModelSpec spec{CellKind::lstm, 256, 256, 2, true};
  const Calibration c = flat_calibration(50, 1, 1);
  const ExecOptions options{Schedule::wavefront, 2};
  const Plan best = auto_plan(spec, 100, 64, true, options, c);
  EXPECT_EQ(best.threads, 2);
  Plan one = best;
  one.schedule = Schedule::sequential;
  one.threads = 1;
  one.batch_splits = one.hidden_splits = 1;
  const double t1 = predict_ms(spec, 100, 64, true, one, c), t2 = predict_ms(spec, 100, 64, true, best, c);
  EXPECT_LT(t2, 0.6 * t1);
  EXPECT_GT(t2, 0.45 * t1) << "two threads cannot more than halve the time";
}

TEST(CostModel, PredictsTheWorkOfOneThreadFromTheKernelRate) {
  // One thread: the sum of the products' flops at the rate, plus the pointwise math and
  // the per-task cost; at 1 GFLOP/s the products alone take flops / 1e9 s.
  const ModelSpec spec{CellKind::rnn_tanh, 64, 64, 1};
  const Calibration c = flat_calibration(1, 1, 2);
  Plan plan;
  plan.step_block = 10;
  plan.weight_block = 10;
  const double flops = 2.0 * 10 * 8 * 64 * (64 + 64);  // T N H (I + H), forward
  const double ms = predict_ms(spec, 10, 8, false, plan, c);
  EXPECT_GT(ms, flops / 1e6);
  EXPECT_LT(ms, flops / 1e6 * 1.05);
}

TEST(CostModel, TheLayerwiseSchedulePaysABarrierOnlyForLoopsOfSeveralShares) {
  // A runtime whose every parallel loop costs 1 ms and free arithmetic otherwise: one
  // layer, T = 10, inference at two threads. At N = 1 the steps run inline (one share of
  // rows), so only the projection's loop (ten steps in two shares) pays; at N = 8 each of
  // the ten steps pays too.
  const ModelSpec spec{CellKind::lstm, 16, 16, 1};
  Calibration c = flat_calibration(1e6, 1, 1);
  c.runtime = {{2, 1, 1e6}};
  Plan plan;
  plan.schedule = Schedule::layerwise;
  plan.threads = 2;
  const double one_row = predict_ms(spec, 10, 1, false, plan, c);
  EXPECT_GT(one_row, 1.0);
  EXPECT_LT(one_row, 1.5);
  const double rows = predict_ms(spec, 10, 8, false, plan, c);
  EXPECT_GT(rows, 11.0);
  EXPECT_LT(rows, 11.5);
}

TEST(CostModel, TheLayerwiseWeightGradientsTakeTheirLongestChain) {
  // Input weights 16 times the recurrent ones (I = 1024, H = 64): on two threads the
  // weight gradients take as long as the input weights' chain, not half of all chains.
  // Training time at two threads against one, free runtime and pointwise math: the
  // projection, steps and input gradient halve, the weight gradients (most of the rest)
  // do not.
  const ModelSpec spec{CellKind::rnn_tanh, 1024, 64, 1};
  Calibration c = flat_calibration(1, 1, 1);
  c.pointwise_ns = 1e-6;
  Plan plan;
  plan.schedule = Schedule::layerwise;
  plan.threads = 1;
  const double one = predict_ms(spec, 10, 8, true, plan, c);
  plan.threads = 2;
  const double two = predict_ms(spec, 10, 8, true, plan, c);
  // Flops at 1 GFLOP/s (2 per multiply-add, T N = 80 rows): forward 80 x (1024 + 64) x 64,
  // backward 80 x 64 x 64 (steps) + 80 x 64 x 1024 (input gradient), weight gradients
  // 80 x 64 x 1024 (input weights) + 80 x 64 x 64 (recurrent): on two threads every term
  // halves but the input weights' chain, which the recurrent one runs beside.
  const double halved = 2.0 * 80 * (64 * (1024 + 64) + 64 * 64 + 64 * 1024) / 2;
  const double chain = 2.0 * 80 * 64 * 1024;
  EXPECT_NEAR(two, (halved + chain) / 1e6, 0.01 * one);
  EXPECT_GT(two, 0.6 * one);
}

TEST(Calibration, InterpolatesTheKernelRateInLogSpace) {
  Calibration c = flat_calibration(10, 1, 1);
  c.kernel[1].gflops = 40;  // rows 256 at k = 64
  EXPECT_DOUBLE_EQ(c.product_seconds(1, 64, 256), 2.0 * 64 * 256 / 10e9);
  EXPECT_DOUBLE_EQ(c.product_seconds(256, 64, 256), 2.0 * 256 * 64 * 256 / 40e9);
  // 16 rows lie half-way between 1 and 256 in log space: the geometric mean, 20.
  EXPECT_NEAR(c.product_seconds(16, 64, 256), 2.0 * 16 * 64 * 256 / 20e9, 1e-15);
  // Beyond the grid the rate is the edge's.
  EXPECT_DOUBLE_EQ(c.product_seconds(1024, 32, 256), 2.0 * 1024 * 32 * 256 / 40e9);
}

TEST(Calibration, AnIncompleteGridIsInvalidAndRefused) {
  Calibration c = flat_calibration(10, 1, 1);
  EXPECT_TRUE(c.valid());
  c.kernel.pop_back();
  EXPECT_FALSE(c.valid());
  EXPECT_THROW(predict_ms(ModelSpec{CellKind::lstm, 8, 8, 1}, 4, 2, false, Plan{}, c), Error);
  Calibration zero = flat_calibration(10, 0, 1);
  EXPECT_FALSE(zero.valid());
}

/// plan_of is what a model's plan says, and refuses what a model would.
TEST(PlanOf, AModelsPlanWithoutItsWeightsAndOneLineForBadSizes) {
  const ModelSpec spec{CellKind::lstm, 1024, 1024, 4, true};
  ExecOptions options{Schedule::wavefront, 2};
  EXPECT_EQ(plan_of(spec, 100, 64, options).step_block, 16);  // 32 MiB of input weights
  const ModelSpec small{CellKind::gru, 16, 16, 2};
  const Plan plan = plan_of(small, 30, 3, options), model = Rnn(Weights(small), options).plan(30, 3);
  EXPECT_EQ(std::make_tuple(plan.step_block, plan.batch_splits, plan.hidden_splits, plan.weight_block),
            std::make_tuple(model.step_block, model.batch_splits, model.hidden_splits, model.weight_block));
  // A bidirectional inference pass of one sequence takes its directions in turn (two
  // parts), a training pass a direction per thread: the model, plan_of and the first
  // candidate agree.
  const ModelSpec bi{CellKind::lstm, 1024, 1024, 1, true};
  EXPECT_EQ(plan_of(bi, 100, 1, options).hidden_splits, 2);
  EXPECT_EQ(plan_of(bi, 100, 1, options, true).hidden_splits, 1);
  EXPECT_EQ(plan_candidates(bi, 100, 1, options).front().hidden_splits, 2);
  EXPECT_EQ(plan_candidates(bi, 100, 1, options, true).front().hidden_splits, 1);
  options.step_block = 7;
  EXPECT_EQ(plan_of(spec, 100, 64, options).step_block, 7);
  EXPECT_EQ(error_of([&] { plan_of(spec, 0, 64, options); }),
            "plan: steps and batch must be >= 1, got 0 and 64");
  EXPECT_EQ(error_of([&] { plan_of(spec, 100, -1, options); }),
            "plan: steps and batch must be >= 1, got 100 and -1");
  EXPECT_NE(error_of([&] { plan_of(ModelSpec{CellKind::lstm, 8, 0, 1}, 100, 64, options); }),
            "(no error)");
}

TEST(ListSchedule, ChainsAddUpAndIndependentTasksShareTheCores) {
  TaskGraph chain;
  const Task t{TaskKind::forward, 0, 0, 0, 0, 0, 1};
  chain.add(t, {});
  chain.add(t, {0});
  chain.add(t, {1});
  EXPECT_DOUBLE_EQ(list_schedule_seconds(chain, {1, 2, 3}, 4, 0), 6);
  EXPECT_DOUBLE_EQ(list_schedule_seconds(chain, {1, 2, 3}, 4, 0.5), 7.5);
  TaskGraph four;
  for (int i = 0; i < 4; ++i) four.add(t, {});
  EXPECT_DOUBLE_EQ(list_schedule_seconds(four, {1, 1, 1, 1}, 2, 0), 2);
  EXPECT_DOUBLE_EQ(list_schedule_seconds(four, {1, 1, 1, 1}, 1, 0), 4);
  // A join waits for its last predecessor: 0 (3 s) and 1 (1 s) on two cores, then 2.
  TaskGraph join;
  join.add(t, {});
  join.add(t, {});
  join.add(t, {0, 1});
  EXPECT_DOUBLE_EQ(list_schedule_seconds(join, {3, 1, 1}, 2, 0), 4);
}

/// The chain runtime: a thread runs only its own chains, in order; a two-layer wavefront
/// of three steps takes one step more than a layer on two threads.
TEST(ChainsSchedule, EachThreadRunsItsOwnChains) {
  TaskGraph wave;
  const Task t0{TaskKind::forward, 0, 0, 0, 0, 0, 1}, t1{TaskKind::forward, 1, 0, 0, 0, 0, 1};
  for (int i = 0; i < 3; ++i) wave.add(t0, i > 0 ? std::vector<int32_t>{i - 1} : std::vector<int32_t>{});
  wave.add(t1, {0});
  wave.add(t1, {1, 3});
  wave.add(t1, {2, 4});
  const std::vector<double> unit(6, 1.0);
  EXPECT_DOUBLE_EQ(chains_schedule_seconds(wave, unit, 2, 0), 4);
  EXPECT_DOUBLE_EQ(chains_schedule_seconds(wave, unit, 1, 0), 6);
  EXPECT_DOUBLE_EQ(chains_schedule_seconds(wave, unit, 2, 0.5), 6);
  // Independent tasks of one chain stay on its thread, where list scheduling spreads them.
  TaskGraph one_chain;
  for (int i = 0; i < 4; ++i) one_chain.add(t0, {});
  EXPECT_DOUBLE_EQ(chains_schedule_seconds(one_chain, {1, 1, 1, 1}, 2, 0), 4);
  EXPECT_DOUBLE_EQ(list_schedule_seconds(one_chain, {1, 1, 1, 1}, 2, 0), 2);
}

}  // namespace
}  // namespace rnnwave::testing
