// Task graphs are built once per problem and reused: the cache, the graphs it holds, and a
// model called with changing sizes giving the results of fresh models.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <tuple>

#include "graph/graph_cache.h"
#include "support/problem.h"

namespace rnnwave {
namespace {

ProblemDesc small_problem(int64_t steps, int64_t batch, bool bidirectional, int64_t splits) {
  ExecOptions options{Schedule::wavefront, 2};
  options.step_block = 2;
  options.batch_splits = splits;
  options.hidden_splits = 2;
  return describe_problem(ModelSpec{CellKind::lstm, 3, 40, 2, bidirectional}, steps, batch, true,
                          false, true, options);
}

TEST(GraphCache, BuildsEachGraphOnceAndKeepsTheMostRecent) {
  GraphCache cache;
  int builds = 0;
  auto get = [&](int64_t steps) {
    const ProblemDesc p = small_problem(steps, 4, false, 2);
    return cache.get(forward_graph_key(p, true), [&] {
      ++builds;
      return build_forward_graph(p, true);
    });
  };
  const auto first = get(3);
  EXPECT_EQ(get(3), first) << "the same problem must reuse its graph";
  EXPECT_EQ(builds, 1);
  for (int64_t steps = 4; steps < 4 + int64_t{GraphCache::kCapacity}; ++steps) get(steps);
  EXPECT_EQ(cache.size(), GraphCache::kCapacity);
  EXPECT_EQ(builds, 1 + int64_t{GraphCache::kCapacity});
  // The oldest (T = 3) was evicted; a pointer held to it stays valid.
  EXPECT_GT(first->size(), 0);
  get(3);
  EXPECT_EQ(builds, 2 + int64_t{GraphCache::kCapacity});
}

TEST(GraphCache, KeysSeparateEverythingAGraphDependsOn) {
  const ProblemDesc p = small_problem(5, 4, true, 2);
  std::set<std::tuple<bool, int64_t, int64_t, int64_t, int64_t, int64_t, bool, bool>> keys;
  auto add = [&](const GraphKey& k) {
    keys.insert({k.backward, k.steps, k.batch, k.step_block, k.batch_splits, k.hidden_splits,
                 k.flag_a, k.flag_b});
  };
  add(forward_graph_key(p, true));
  add(forward_graph_key(p, false));
  add(backward_graph_key(p, true, true));
  add(backward_graph_key(p, false, true));
  add(forward_graph_key(small_problem(6, 4, true, 2), true));
  add(forward_graph_key(small_problem(5, 5, true, 2), true));
  add(forward_graph_key(small_problem(5, 4, true, 1), true));
  EXPECT_EQ(keys.size(), 7u);
}

/// Every graph lists its tasks in a topological order, and each step of each chain once.
TEST(TaskGraph, TopologicalWithEveryStepOnce) {
  for (bool bidirectional : {false, true}) {
    const ProblemDesc p = small_problem(7, 5, bidirectional, 2);
    for (const TaskGraph& graph : {build_forward_graph(p, true), build_backward_graph(p, true, true)}) {
      std::set<std::tuple<int, int, int64_t, int, int, int>> steps;
      for (int64_t i = 0; i < graph.size(); ++i) {
        for (int32_t k = 0; k < graph.pred_count(i); ++k) ASSERT_LT(graph.preds_of(i)[k], i);
        const Task& t = graph.tasks[i];
        if (t.split >= 0) {
          EXPECT_TRUE(steps.insert({t.layer, t.direction, t.t0, t.split, t.part, int(t.kind)}).second);
        }
      }
      const size_t per_kind = size_t(p.L * p.D * p.T * p.plan.batch_splits * p.plan.hidden_splits);
      EXPECT_EQ(steps.size() % per_kind, 0u);
      EXPECT_GE(steps.size(), per_kind);
    }
  }
}

/// One model called with changing sizes (its cache hits, misses and evicts) computes what a
/// fresh model computes for each call.
TEST(GraphCache, AModelReusingItsGraphsGivesTheResultsOfFreshModels) {
  testing::Case c;
  c.cell = CellKind::gru;
  c.layers = 2;
  c.bidirectional = true;
  c.with_h0 = true;
  c.hidden_size = 20;
  const Weights weights = Weights::uniform(ModelSpec{c.cell, c.input_size, c.hidden_size, c.layers, true}, 3);
  ExecOptions options{Schedule::wavefront, 2};
  const Rnn reused(weights, options);
  int round = 0;
  for (int repeat = 0; repeat < 2; ++repeat) {
    for (int64_t steps : {4, 6, 4, 9, 3, 5, 7, 8, 10, 11, 4}) {
      c.steps = steps;
      c.batch = 2 + steps % 3;
      c.variable_lengths = steps % 2 == 0;
      const auto p = testing::make_problem<float>(c, 100 + steps);
      testing::ForwardOut<float> a, b;
      const testing::Grads<float> ga = testing::run_backward(reused, p, &a);
      const testing::Grads<float> gb = testing::run_backward(Rnn(weights, options), p, &b);
      EXPECT_TRUE(testing::same_bits(a.output, b.output)) << "round " << round;
      EXPECT_TRUE(testing::same_bits(ga.input, gb.input)) << "round " << round;
      EXPECT_TRUE(testing::same_bits(std::vector<float>(ga.weights.flat().begin(), ga.weights.flat().end()),
                                     std::vector<float>(gb.weights.flat().begin(), gb.weights.flat().end())))
          << "round " << round;
      ++round;
    }
  }
}

}  // namespace
}  // namespace rnnwave
