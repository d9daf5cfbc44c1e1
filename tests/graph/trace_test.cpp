// A trace says which way each task's direction walks, whatever its index, and carries the
// task graph each pass ran (indices and predecessors).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "rnnwave/trace.h"
#include "support/problem.h"

namespace rnnwave::testing {
namespace {

TEST(Trace, EventsSayWhichWayTheirDirectionWalks) {
  for (Schedule schedule : kAllSchedules) {
    for (int directions : {0, 1, 2}) {  // forward, both, reverse only
      Case c;
      c.cell = CellKind::gru;
      c.bidirectional = directions == 1;
      c.reverse = directions == 2;
      const Problem<float> p = make_problem<float>(c, 1);
      Trace trace;
      ExecOptions options{schedule, 2};
      options.trace = &trace;
      run_backward(Rnn(Weights::uniform(p.spec, 2), options), p);
      int directed = 0;
      for (const TraceEvent& e : trace.events()) {
        if (e.direction < 0) continue;
        ++directed;
        EXPECT_EQ(e.reverse, e.direction == 1 || directions == 2)
            << to_string(schedule) << " " << e.kind << " direction " << e.direction;
      }
      EXPECT_GT(directed, 0) << to_string(schedule);
    }
  }
}

// From 8 rows at two threads the wavefront schedule runs a single layer's backward pass
// in lock step (backward_in_lock_step): its events, one per operation over the whole
// batch, form a chain; with a pipeline stage's hook for grad_output the backward pass
// keeps its graph, whose tasks wait for more than the one before.
TEST(Trace, ABackwardPassInLockStepIsAChainUnlessAStageHookIsSet) {
  Case c;  // one layer
  c.batch = 8;
  const Problem<float> p = make_problem<float>(c, 1);
  for (const bool hook : {false, true}) {
    Trace trace;
    ExecOptions options{Schedule::wavefront, 2};
    options.trace = &trace;
    const Rnn rnn(Weights::uniform(p.spec, 2), options);
    ForwardOut<float> out;
    BasicWorkspace<float> ws;
    rnn.forward(forward_args(p, out), ws);
    BackwardArgs<float> b;
    b.grad_output = p.grad_output;
    b.grad_hn = p.grad_hn;
    b.grad_cn = p.grad_cn;
    int64_t asked = 0;
    if (hook) b.on_grad_output_block = [&](int64_t, int64_t) { ++asked; };
    rnn.backward(b, ws);
    int64_t backward = 0, chained = 0;  // events of the backward pass; of them, a chain's
    for (const TraceEvent& e : trace.events()) {
      ASSERT_GE(e.task, 0) << e.pass << " " << e.kind;
      if (e.pass != "backward") continue;
      ++backward;
      const std::vector<int32_t> chain =
          e.task > 0 ? std::vector<int32_t>{int32_t(e.task - 1)} : std::vector<int32_t>{};
      chained += e.preds == chain && e.batch_begin == 0 && e.batch_end == c.batch;
    }
    EXPECT_GT(backward, 0) << hook;
    EXPECT_EQ(chained == backward, !hook);
    EXPECT_EQ(asked > 0, hook);
  }
}

// The graph in a trace is the one of the plan: the task count of every kind follows from
// the decomposition, task i of a pass is its i-th event, and every predecessor comes
// earlier (the graph is acyclic), as bench/scaling_model.py assumes.
TEST(Trace, CarriesTheTaskGraphOfThePlan) {
  Case c;
  c.layers = 2;
  c.bidirectional = true;
  c.hidden_size = 32;  // two 16-unit panels: two hidden parts
  c.steps = 5;
  c.batch = 4;
  const Problem<float> p = make_problem<float>(c, 1);
  Trace trace;
  ExecOptions options{Schedule::wavefront, 2};
  options.step_block = 2;
  options.batch_splits = 2;
  options.hidden_splits = 2;
  options.trace = &trace;
  run_backward(Rnn(Weights::uniform(p.spec, 2), options), p);
  // L = 2, D = 2, T = 5, blocks of 2 steps (3), S = 2, P = 2; one weight-gradient block
  // (5 steps x 4 rows is below the block's 128 rows); the input gradient of both layers.
  const int64_t steps = 2 * 2 * 5 * 2 * 2;
  const std::map<std::string, int64_t> expected = {
      {"forward/project", 2 * 2 * 3}, {"forward/forward", steps},
      {"forward/output", 3},          {"backward/backward_pointwise", steps},
      {"backward/backward_gemm", steps}, {"backward/weight_grad", 2 * 2},
      {"backward/input_grad", 2 * 3}};
  std::map<std::string, int64_t> counts;
  std::map<std::string, int64_t> next_index;  // per pass
  for (const TraceEvent& e : trace.events()) {
    ++counts[e.pass + "/" + e.kind];
    EXPECT_EQ(e.task, next_index[e.pass]++) << e.pass << " " << e.kind;
    for (int32_t pred : e.preds) {
      EXPECT_GE(pred, 0) << e.pass << " task " << e.task;
      EXPECT_LT(pred, e.task) << e.pass << " task " << e.task;
    }
    if (e.kind == "forward" && e.step_begin > 0 && e.direction == 0) {
      // A step waits for both parts of its sub-batch's previous step (and its projection).
      EXPECT_EQ(e.preds.size(), 3u) << "forward task " << e.task;
    }
  }
  EXPECT_EQ(counts, expected);
}

}  // namespace
}  // namespace rnnwave::testing
