// The runtimes that execute a task graph: every task once, after its predecessors, on any
// number of threads; the chain runtime's ownership of (layer, direction) chains; failures.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <stdexcept>
#include <string>
#include <vector>

#include "graph/graph_runtime.h"
#include "graph/task_graph.h"
#include "support/problem.h"

namespace rnnwave {
namespace {

ProblemDesc problem(int64_t layers, bool bidirectional) {
  ExecOptions options{Schedule::wavefront, 2};
  options.step_block = 3;
  options.batch_splits = 1;
  options.hidden_splits = 1;
  return describe_problem(ModelSpec{CellKind::lstm, 6, 40, layers, bidirectional}, 8, 4, true,
                          false, true, options);
}

std::vector<TaskGraph> graphs_of(const ProblemDesc& p) {
  std::vector<TaskGraph> graphs;
  graphs.push_back(build_forward_graph(p, true));
  graphs.push_back(build_forward_graph(p, ForwardGraphOptions{true, true, true}));
  graphs.push_back(build_backward_graph(p, true, true));
  graphs.push_back(build_backward_graph(p, BackwardGraphOptions{true, true, true, true}));
  return graphs;
}

/// The order in which the tasks started and finished, from one shared counter.
struct Stamps {
  std::vector<int64_t> start, end;
  std::atomic<int64_t> clock{0};
  explicit Stamps(int64_t n) : start(static_cast<size_t>(n), -1), end(static_cast<size_t>(n), -1) {}
  TaskBody body() {
    return [this](int64_t i) {
      EXPECT_EQ(start[i], -1) << "task " << i << " ran twice";
      start[i] = clock++;
      end[i] = clock++;
    };
  }
};

void expect_dataflow_order(const TaskGraph& graph, const Stamps& stamps) {
  for (int64_t i = 0; i < graph.size(); ++i) {
    ASSERT_GE(stamps.start[i], 0) << "task " << i << " never ran";
    for (int32_t k = 0; k < graph.pred_count(i); ++k) {
      EXPECT_LT(stamps.end[graph.preds_of(i)[k]], stamps.start[i]) << "task " << i;
    }
  }
}

TEST(GraphRuntime, ChainsRunEveryTaskOnceAfterItsPredecessors) {
  for (int64_t layers : {1, 2, 5}) {
    for (bool bidirectional : {false, true}) {
      for (const TaskGraph& graph : graphs_of(problem(layers, bidirectional))) {
        for (int threads : {1, 2, 3, 4}) {  // 3 and 4 oversubscribe a 2-core machine
          Stamps stamps(graph.size());
          run_graph_by_chains(graph, threads, stamps.body());
          expect_dataflow_order(graph, stamps);
        }
      }
    }
  }
}

TEST(GraphRuntime, OpenMPRunsEveryTaskOnceAfterItsPredecessors) {
  for (const TaskGraph& graph : graphs_of(problem(3, true))) {
    Stamps stamps(graph.size());
    run_graph_openmp(graph, 2, stamps.body());
    expect_dataflow_order(graph, stamps);
  }
}

/// Chain c = layer * D + direction runs on thread c mod threads, with the tasks of both
/// directions (dropout, input_grad, output, input) on direction 0's thread.
TEST(GraphRuntime, ChainsDealtRoundRobinOverTheThreads) {
  for (bool bidirectional : {false, true}) {
    const int64_t D = bidirectional ? 2 : 1;
    for (const TaskGraph& graph : graphs_of(problem(4, bidirectional))) {
      TaskTimes times(graph.size());
      const TaskBody nothing = [](int64_t) {};
      run_graph_by_chains(graph, 2, times.timed(nothing));
      for (int64_t i = 0; i < graph.size(); ++i) {
        const Task& task = graph.tasks[i];
        const int64_t chain = task.layer * D + std::max(task.direction, 0);
        EXPECT_EQ(times.thread[i], chain % 2) << to_string(task.kind) << " of layer " << task.layer;
      }
    }
  }
}

/// Directions in turn (two directions, a step in two parts on two threads): thread p runs
/// part p of both directions' steps and projections, and each layer's direction 0 tasks
/// end before its direction 1 tasks start on that thread.
TEST(GraphRuntime, ChainsOfBothDirectionsInTurnAPartPerThread) {
  ExecOptions options{Schedule::wavefront, 2};
  options.step_block = 8;
  options.hidden_splits = 2;
  const ProblemDesc p =
      describe_problem(ModelSpec{CellKind::lstm, 6, 48, 2, true}, 8, 1, false, false, true, options);
  ASSERT_TRUE(runs_by_chains(p, false));
  const TaskGraph graph = build_forward_graph(p, true);
  TaskTimes times(graph.size());
  const TaskBody nothing = [](int64_t) {};
  run_graph_by_chains(graph, 2, times.timed(nothing));
  for (int32_t layer = 0; layer < 2; ++layer) {
    for (int thread = 0; thread < 2; ++thread) {
      int64_t last_end_of_0 = 0, first_start_of_1 = INT64_MAX;
      for (int64_t i = 0; i < graph.size(); ++i) {
        const Task& task = graph.tasks[i];
        if (task.layer != layer || task.part < 0) continue;
        EXPECT_EQ(times.thread[i], task.part) << to_string(task.kind) << " " << i;
        if (task.part != thread) continue;
        if (task.direction == 0) last_end_of_0 = std::max(last_end_of_0, times.end_ns[i]);
        if (task.direction == 1) first_start_of_1 = std::min(first_start_of_1, times.start_ns[i]);
      }
      EXPECT_LE(last_end_of_0, first_start_of_1) << "layer " << layer << ", thread " << thread;
    }
  }
}

TEST(GraphRuntime, ChainsRethrowTheFirstFailureAndSkipTheRest) {
  const TaskGraph graph = build_forward_graph(problem(3, false), true);
  const int64_t failing = graph.size() / 3;
  std::atomic<int64_t> ran{0};
  const TaskBody body = [&](int64_t i) {
    ++ran;
    if (i == failing) throw std::runtime_error("task failed");
  };
  try {
    run_graph_by_chains(graph, 2, body);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "task failed");
  }
  // Every successor of the failing task (at least the rest of its chain) was skipped.
  EXPECT_LT(ran.load(), graph.size());
}

}  // namespace
}  // namespace rnnwave
