// The order one thread runs a task graph in (chain_order): a topological order of every
// task that finishes a (layer, direction) chain before it switches to the next.
#include <gtest/gtest.h>

#include <vector>

#include "graph/task_graph.h"
#include "support/problem.h"

namespace rnnwave {
namespace {

ProblemDesc problem(int64_t layers, bool bidirectional, int64_t splits, int64_t parts) {
  ExecOptions options{Schedule::wavefront, 2};
  options.step_block = 3;
  options.batch_splits = splits;
  options.hidden_splits = parts;
  return describe_problem(ModelSpec{CellKind::lstm, 6, 40, layers, bidirectional}, 8, 4, true,
                          false, true, options);
}

std::vector<TaskGraph> graphs_of(const ProblemDesc& p) {
  std::vector<TaskGraph> graphs;
  graphs.push_back(build_forward_graph(p, true));
  graphs.push_back(build_forward_graph(p, false));
  graphs.push_back(build_backward_graph(p, true, true));
  graphs.push_back(build_backward_graph(p, false, true));
  return graphs;
}

TEST(ChainOrder, RunsEveryTaskOnceAfterItsPredecessors) {
  for (int64_t layers : {1, 3}) {
    for (bool bidirectional : {false, true}) {
      for (const TaskGraph& graph : graphs_of(problem(layers, bidirectional, 2, 2))) {
        const std::vector<int32_t>& order = graph.one_thread_order;
        ASSERT_EQ(static_cast<int64_t>(order.size()), graph.size());
        std::vector<int64_t> position(order.size(), -1);
        for (size_t k = 0; k < order.size(); ++k) {
          ASSERT_EQ(position[order[k]], -1) << "task " << order[k] << " twice";
          position[order[k]] = static_cast<int64_t>(k);
        }
        for (int64_t i = 0; i < graph.size(); ++i) {
          for (int32_t k = 0; k < graph.pred_count(i); ++k) {
            EXPECT_LT(position[graph.preds_of(i)[k]], position[i]) << "task " << i;
          }
        }
      }
    }
  }
}

/// A bidirectional layer: one thread runs every step of the first direction before any
/// step of the second (the creation order alternates them at every step), forward and
/// backward.
TEST(ChainOrder, FinishesOneDirectionBeforeTheOther) {
  for (const TaskGraph& graph : graphs_of(problem(1, true, 1, 1))) {
    int last_direction = -1, switches = 0;
    for (const int32_t i : graph.one_thread_order) {
      const Task& task = graph.tasks[i];
      if (task.kind != TaskKind::forward && task.kind != TaskKind::backward) continue;
      if (task.direction != last_direction) ++switches;
      last_direction = task.direction;
    }
    EXPECT_EQ(switches, 2) << "the steps should run as two unbroken chains";
  }
}

/// One direction: the chains are the layers, which the builders already create in order.
TEST(ChainOrder, KeepsTheLayersOfAOneDirectionStackInOrder) {
  const TaskGraph graph = build_forward_graph(problem(3, false, 1, 1), false);
  int last_layer = 0;
  for (const int32_t i : graph.one_thread_order) {
    const Task& task = graph.tasks[i];
    if (task.kind != TaskKind::forward) continue;
    EXPECT_GE(task.layer, last_layer);
    last_layer = task.layer;
  }
}

}  // namespace
}  // namespace rnnwave
