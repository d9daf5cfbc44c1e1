// The order one thread runs a task graph in (chain_order): a topological order of every
// task that finishes a (layer, direction) chain before it switches to the next.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "graph/graph_runtime.h"
#include "graph/task_graph.h"
#include "support/exec_options.h"
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
  graphs.push_back(build_forward_graph(p, ForwardGraphOptions{true, true, true}));
  graphs.push_back(build_forward_graph(p, ForwardGraphOptions{false, true, false}));
  graphs.push_back(build_backward_graph(p, BackwardGraphOptions{true, true, true, true}));
  graphs.push_back(build_backward_graph(p, BackwardGraphOptions{false, true, true, false}));
  return graphs;
}

/// Both orders a graph carries: the one thread's and the chain runtime's.
TEST(ChainOrder, RunsEveryTaskOnceAfterItsPredecessors) {
  for (int64_t layers : {1, 3}) {
    for (bool bidirectional : {false, true}) {
      for (int64_t splits : {1, 2}) {
        for (const TaskGraph& graph : graphs_of(problem(layers, bidirectional, splits, splits))) {
          for (const std::vector<int32_t>* order : {&graph.one_thread_order, &graph.chains_order}) {
            ASSERT_EQ(static_cast<int64_t>(order->size()), graph.size());
            std::vector<int64_t> position(order->size(), -1);
            for (size_t k = 0; k < order->size(); ++k) {
              ASSERT_EQ(position[(*order)[k]], -1) << "task " << (*order)[k] << " twice";
              position[(*order)[k]] = static_cast<int64_t>(k);
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

/// Directions in turn (directions_in_turn): a bidirectional 2-layer stack whose steps are
/// split in two parts on two threads; each thread of the chain runtime, walking
/// chains_order, runs its part of every step of a layer's direction 0, then of its
/// direction 1, layer by layer.
TEST(ChainOrder, WithAPartPerThreadEachThreadFinishesOneDirectionBeforeTheOther) {
  ExecOptions options{Schedule::wavefront, 2};
  options.step_block = 8;
  options.hidden_splits = 2;
  const ProblemDesc p =
      describe_problem(ModelSpec{CellKind::lstm, 6, 40, 2, true}, 8, 1, false, false, true, options);
  ASSERT_TRUE(runs_by_chains(p, false));
  const TaskGraph graph = build_forward_graph(p, true);
  const std::vector<int32_t> chain = chain_of_tasks(graph);
  for (int thread = 0; thread < 2; ++thread) {
    std::vector<std::pair<int, int>> runs;  // (layer, direction) of each unbroken run
    int steps = 0;
    for (const int32_t i : graph.chains_order) {
      const Task& task = graph.tasks[i];
      if (chain[i] % 2 != thread || task.kind != TaskKind::forward) continue;
      EXPECT_EQ(task.part, thread);
      if (runs.empty() || runs.back() != std::pair{task.layer, task.direction}) {
        runs.emplace_back(task.layer, task.direction);
      }
      ++steps;
    }
    EXPECT_EQ(steps, 32) << thread;
    const std::vector<std::pair<int, int>> in_turn{{0, 0}, {0, 1}, {1, 0}, {1, 1}};
    EXPECT_EQ(runs, in_turn) << "thread " << thread << ": each direction's steps in one run";
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

/// Replays `order` and returns, for each task, how many tasks other than input tasks were
/// ready when it was taken.
std::vector<int64_t> others_ready(const TaskGraph& graph, const std::vector<int32_t>& order) {
  std::vector<int32_t> waiting(static_cast<size_t>(graph.size()));
  std::vector<std::vector<int32_t>> succ(static_cast<size_t>(graph.size()));
  for (int64_t i = 0; i < graph.size(); ++i) {
    waiting[i] = graph.pred_count(i);
    for (int32_t k = 0; k < graph.pred_count(i); ++k) succ[graph.preds_of(i)[k]].push_back(int32_t(i));
  }
  int64_t ready_others = 0;
  for (int64_t i = 0; i < graph.size(); ++i) ready_others += waiting[i] == 0 && graph.tasks[i].kind != TaskKind::input;
  std::vector<int64_t> result(static_cast<size_t>(graph.size()));
  for (const int32_t i : order) {
    const bool other = graph.tasks[i].kind != TaskKind::input;
    result[i] = ready_others - (other ? 1 : 0);
    ready_others -= other ? 1 : 0;
    for (const int32_t j : succ[i]) {
      if (--waiting[j] == 0 && graph.tasks[j].kind != TaskKind::input) ++ready_others;
    }
  }
  return result;
}

/// A stack fed block by block (a pipeline stage): one thread takes an input task, which
/// may wait for the rank below, only when no other task is ready; every projection of
/// layer 0 follows its block's input task.
TEST(ChainOrder, TakesAnInputTaskOnlyWhenNothingElseIsReady) {
  for (const bool top_first : {false, true}) {
    for (const bool bidirectional : {false, true}) {
      const TaskGraph graph = build_forward_graph(problem(3, bidirectional, 2, 1),
                                                  ForwardGraphOptions{true, true, top_first});
      const std::vector<int64_t> others = others_ready(graph, graph.one_thread_order);
      int64_t inputs = 0;
      for (int64_t i = 0; i < graph.size(); ++i) {
        const Task& task = graph.tasks[i];
        if (task.kind == TaskKind::input) {
          ++inputs;
          EXPECT_EQ(others[i], 0) << "input task of steps " << task.t0 << " taken with work ready";
        }
        if (task.kind == TaskKind::project && task.layer == 0) {
          const int32_t* p = graph.preds_of(i);
          ASSERT_EQ(graph.pred_count(i), 1);
          EXPECT_EQ(graph.tasks[p[0]].kind, TaskKind::input);
          EXPECT_EQ(graph.tasks[p[0]].t0, task.t0);
        }
      }
      EXPECT_EQ(inputs, 3);  // 8 steps in blocks of 3
    }
  }
}

/// The same in a backward pass fed with grad_output block by block: the top layer's steps
/// of a block follow its input task, taken only when nothing else is ready; and, without
/// input tasks, lower_first makes the first block of layer 0's input gradient final
/// before the top layer has finished.
TEST(ChainOrder, BackwardTakesAnInputTaskOnlyWhenNothingElseIsReady) {
  for (const bool lower_first : {false, true}) {
    for (const bool bidirectional : {false, true}) {
      const TaskGraph graph = build_backward_graph(problem(3, bidirectional, 2, 1),
                                                   BackwardGraphOptions{true, true, true, lower_first});
      const std::vector<int64_t> others = others_ready(graph, graph.one_thread_order);
      int64_t inputs = 0;
      for (int64_t i = 0; i < graph.size(); ++i) {
        const Task& task = graph.tasks[i];
        if (task.kind == TaskKind::input) {
          ++inputs;
          EXPECT_EQ(others[i], 0) << "input task of steps " << task.t0 << " taken with work ready";
        }
        if (task.kind == TaskKind::backward && task.layer == 2) {
          bool fed = false;
          for (int32_t k = 0; k < graph.pred_count(i); ++k) {
            const Task& pred = graph.tasks[graph.preds_of(i)[k]];
            fed = fed || (pred.kind == TaskKind::input && pred.t0 <= task.t0 && task.t0 < pred.t1);
          }
          EXPECT_TRUE(fed) << "step " << task.t0 << " of the top layer";
        }
      }
      EXPECT_EQ(inputs, 3);
      // Without input tasks (a top rank): the order alone decides.
      if (bidirectional) continue;  // a bidirectional layer's blocks are final at its end
      const TaskGraph top = build_backward_graph(problem(3, false, 2, 1),
                                                 BackwardGraphOptions{true, true, false, lower_first});
      int64_t first_grad = -1, last_top = -1;
      for (size_t k = 0; k < top.one_thread_order.size(); ++k) {
        const Task& task = top.tasks[top.one_thread_order[k]];
        if (task.kind == TaskKind::input_grad && task.layer == 0 && first_grad < 0) first_grad = int64_t(k);
        if (task.kind == TaskKind::backward && task.layer == 2 && task.t0 == 0) last_top = int64_t(k);
      }
      EXPECT_EQ(first_grad < last_top, lower_first);
    }
  }
}

/// top_first: one thread finishes the top layer's first block early (its output task
/// runs before layer 0 reaches its last block), where the plain order runs the layers
/// one after another.
TEST(ChainOrder, TopFirstFinishesTheFirstOutputBlockEarly) {
  for (const bool top_first : {false, true}) {
    const TaskGraph graph = build_forward_graph(problem(3, false, 1, 1), ForwardGraphOptions{true, false, top_first});
    int64_t first_output = -1, last_layer0 = -1;
    for (size_t k = 0; k < graph.one_thread_order.size(); ++k) {
      const Task& task = graph.tasks[graph.one_thread_order[k]];
      if (task.kind == TaskKind::output && task.t0 == 0) first_output = static_cast<int64_t>(k);
      if (task.kind == TaskKind::forward && task.layer == 0 && task.t0 == 7) last_layer0 = static_cast<int64_t>(k);
    }
    EXPECT_EQ(first_output < last_layer0, top_first) << "top_first " << top_first;
  }
}

/// The chain runtime's order (steps of 8 in blocks of 3): each layer's projection of a
/// block runs during the block before it, not all before the layer's first step (which
/// would hold back the layer above); in the backward pass a block's input_grad runs as
/// soon as the block is done, for the layer below. (That the order is topological, with
/// every task once: RunsEveryTaskOnceAfterItsPredecessors.)
TEST(ChainOrder, LongestPathFirstRunsEachBlockJustInTime) {
  const ProblemDesc p = problem(3, false, 1, 1);
  const TaskGraph forward = build_forward_graph(p, true);
  std::vector<int64_t> at(static_cast<size_t>(forward.size()));
  for (size_t k = 0; k < forward.chains_order.size(); ++k) at[forward.chains_order[k]] = int64_t(k);
  auto position = [&](const TaskGraph& graph, TaskKind kind, int32_t layer, int64_t t0) {
    for (int64_t i = 0; i < graph.size(); ++i) {
      const Task& task = graph.tasks[i];
      if (task.kind == kind && task.layer == layer && task.t0 == t0) return at[i];
    }
    ADD_FAILURE() << to_string(kind) << " of layer " << layer << " at step " << t0 << " not found";
    return int64_t{-1};
  };
  for (int32_t layer = 0; layer < 3; ++layer) {
    for (int64_t block = 1; block * 3 < 8; ++block) {
      const int64_t project = position(forward, TaskKind::project, layer, block * 3);
      EXPECT_GT(project, position(forward, TaskKind::forward, layer, block * 3 - 3)) << "layer " << layer;
      EXPECT_LT(project, position(forward, TaskKind::forward, layer, block * 3)) << "layer " << layer;
    }
  }
  const TaskGraph backward = build_backward_graph(p, true, true);
  at.assign(static_cast<size_t>(backward.size()), -1);
  for (size_t k = 0; k < backward.chains_order.size(); ++k) at[backward.chains_order[k]] = int64_t(k);
  // Walking back in time: the block [3, 6) is done at step 3; its input_grad comes within
  // one step of it (before step 1), not after the layer's last step.
  for (int32_t layer = 1; layer < 3; ++layer) {
    const int64_t grad = position(backward, TaskKind::input_grad, layer, 3);
    EXPECT_GT(grad, position(backward, TaskKind::backward, layer, 3)) << "layer " << layer;
    EXPECT_LT(grad, position(backward, TaskKind::backward, layer, 1)) << "layer " << layer;
  }
}

/// Whether task a is an ancestor of task b, for every pair: the graph's creation order
/// is topological, so one forward sweep over the predecessors fills the sets.
std::vector<std::vector<bool>> ancestors(const TaskGraph& graph) {
  const auto n = static_cast<size_t>(graph.size());
  std::vector<std::vector<bool>> before(n, std::vector<bool>(n, false));
  for (size_t i = 0; i < n; ++i) {
    for (int32_t k = 0; k < graph.pred_count(int64_t(i)); ++k) {
      const auto pred = static_cast<size_t>(graph.preds_of(int64_t(i))[k]);
      before[i][pred] = true;
      for (size_t j = 0; j < n; ++j) before[i][j] = before[i][j] || before[pred][j];
    }
  }
  return before;
}

/// The projection tasks of a whole-sequence block split by units where H is whole panels:
/// part p of a step waits for part p's projection and no other; one projection task where
/// the parts' units would cut the panels of W_ih^T, or where there are several blocks.
TEST(ProjectionParts, EachPartOfAStepWaitsForItsOwnUnitsProjection) {
  for (const auto& [hidden, block] : {std::pair{32, 8}, std::pair{24, 8}, std::pair{32, 4}}) {
    ExecOptions options{Schedule::wavefront, 2};
    options.step_block = block;
    options.hidden_splits = 2;
    const ProblemDesc p = describe_problem(ModelSpec{CellKind::lstm, 40, hidden, 2, true}, 8, 4,
                                           false, false, true, options);
    ASSERT_EQ(p.plan.hidden_splits, 2);
    const int64_t parts = hidden == 32 && block == 8 ? 2 : 1, blocks = 8 / block;
    ASSERT_EQ(projection_parts(p), parts);
    const TaskGraph graph = build_forward_graph(p, true);
    int64_t projections = 0;
    for (int64_t i = 0; i < graph.size(); ++i) {
      const Task& task = graph.tasks[i];
      projections += task.kind == TaskKind::project;
      if (task.kind == TaskKind::project) {
        EXPECT_TRUE(parts > 1 ? task.part >= 0 && task.part < parts : task.part == -1) << task.part;
      }
      if (task.kind != TaskKind::forward) continue;
      std::vector<int32_t> own;  // the step's direct projection predecessors
      for (int32_t k = 0; k < graph.pred_count(i); ++k) {
        const Task& pred = graph.tasks[graph.preds_of(i)[k]];
        if (pred.kind == TaskKind::project) own.push_back(pred.part);
        if (pred.kind == TaskKind::project) {
          EXPECT_TRUE(pred.layer == task.layer && pred.direction == task.direction &&
                      pred.t0 <= task.t0 && task.t0 < pred.t1);
        }
      }
      EXPECT_EQ(own, std::vector<int32_t>{parts > 1 ? task.part : -1})
          << hidden << " block " << block << " step " << task.t0;
    }
    EXPECT_EQ(projections, 2 * 2 * blocks * parts) << hidden;  // layers x directions x blocks x parts
  }
}

/// The input gradient of a bidirectional stack's whole-sequence block comes in a share of
/// steps per thread, tiling the sequence; a step of the layer below waits for the share
/// holding its step. One direction keeps one task per block.
TEST(InputGradShares, ABidirectionalWholeSequenceBlockSplitsItsInputGradientByThread) {
  for (const auto& [bidirectional, threads] : {std::pair{true, 3}, std::pair{true, 1}, std::pair{false, 3}}) {
    ExecOptions options{Schedule::wavefront, threads};
    options.step_block = 8;
    const ProblemDesc p = describe_problem(ModelSpec{CellKind::lstm, 40, 32, 2, bidirectional}, 8,
                                           4, true, false, true, options);
    const int64_t shares = bidirectional && threads == 3 ? 3 : 1;
    ASSERT_EQ(input_grad_block(p), shares == 3 ? 3 : 8);  // ceil(8 / 3)
    const TaskGraph graph = build_backward_graph(p, true, true);
    std::vector<std::pair<int64_t, int64_t>> layer1;  // the steps of layer 1's input_grad tasks
    for (int64_t i = 0; i < graph.size(); ++i) {
      const Task& task = graph.tasks[i];
      if (task.kind == TaskKind::input_grad && task.layer == 1) layer1.push_back({task.t0, task.t1});
      if (task.layer != 0 || (task.kind != TaskKind::backward && task.kind != TaskKind::backward_pointwise)) {
        continue;
      }
      int64_t waits = 0;
      for (int32_t k = 0; k < graph.pred_count(i); ++k) {
        const Task& pred = graph.tasks[graph.preds_of(i)[k]];
        if (pred.kind != TaskKind::input_grad) continue;
        ++waits;
        EXPECT_TRUE(pred.layer == 1 && pred.t0 <= task.t0 && task.t0 < pred.t1) << task.t0;
      }
      EXPECT_EQ(waits, 1) << "step " << task.t0;
    }
    const std::vector<std::pair<int64_t, int64_t>> wanted =
        shares == 3 ? std::vector<std::pair<int64_t, int64_t>>{{0, 3}, {3, 6}, {6, 8}}
                    : std::vector<std::pair<int64_t, int64_t>>{{0, 8}};
    EXPECT_EQ(layer1, wanted) << bidirectional << " " << threads;
    // A caller's hook sees whole blocks: one task.
    if (shares > 1) {
      const TaskGraph hooked = build_backward_graph(p, BackwardGraphOptions{true, true, false, false, true});
      int64_t tasks = 0;
      for (const Task& task : hooked.tasks) tasks += task.kind == TaskKind::input_grad && task.layer == 1;
      EXPECT_EQ(tasks, 1);
    }
  }
  // From 8 rows: one task.
  ExecOptions options{Schedule::wavefront, 3};
  options.step_block = 8;
  EXPECT_EQ(input_grad_block(describe_problem(ModelSpec{CellKind::lstm, 40, 32, 2, true}, 8, 8,
                                              true, false, true, options)),
            8);
}

/// In inference with a ring of gate slots (workspace.h: step t of (l, d) uses slot
/// t % gate_slots), a projection overwrites the slots of a block walked `ring` blocks
/// earlier: it must wait for every step of that block (and of no later one, which reads
/// what it writes), with every direction, sub-batch and part, and with a last block that
/// is only partly full (50 steps in blocks of 4).
TEST(GateRing, AProjectionWaitsForTheStepsThatReadItsSlotsBefore) {
  for (const bool bidirectional : {false, true}) {
    for (const int64_t splits : {1, 2}) {
      ExecOptions options{Schedule::wavefront, 2};
      options.step_block = 4;
      options.batch_splits = splits;
      options.hidden_splits = splits;
      const ProblemDesc p = describe_problem(ModelSpec{CellKind::lstm, 256, 256, 2, bidirectional},
                                             50, 64, false, false, true, options);
      ASSERT_EQ(p.layout.gate_ring_blocks, 8);
      const int64_t slots = p.layout.gate_slots, block = p.plan.step_block;
      const TaskGraph graph = build_forward_graph(p, true);
      const std::vector<std::vector<bool>> before = ancestors(graph);
      int64_t checked = 0;
      for (int64_t i = 0; i < graph.size(); ++i) {
        const Task& project = graph.tasks[i];
        if (project.kind != TaskKind::project) continue;
        for (int64_t j = 0; j < graph.size(); ++j) {
          const Task& step = graph.tasks[j];
          const int64_t first = project.t0 % slots, slot = step.t0 % slots;
          if (step.kind != TaskKind::forward || step.layer != project.layer ||
              step.direction != project.direction || slot < first ||
              slot >= first + (project.t1 - project.t0)) {
            continue;
          }
          const std::string what = "project of steps " + std::to_string(project.t0) + " and step " +
                                   std::to_string(step.t0) + ", layer " + std::to_string(step.layer) +
                                   " direction " + std::to_string(step.direction);
          if (step.t0 / block == project.t0 / block) {
            EXPECT_TRUE(before[j][i]) << what << ": the step reads what the projection writes";
            continue;
          }
          // A block walked before reads the slots first; one walked after, last.
          const bool walked_first = p.walks_back(step.direction) ? step.t0 > project.t0 : step.t0 < project.t0;
          EXPECT_TRUE(walked_first ? before[i][j] : before[j][i]) << what;
          ++checked;
        }
      }
      EXPECT_GT(checked, 0);
    }
  }
}

/// In inference with a slot per step, the layers share one set of gates (workspace.h):
/// every task of a layer that touches the gates of a step (the projection of its block, or
/// the step itself, which reads them or projects into them) must come after every such task
/// of each layer below, in the same direction, at the same step. With blocks of 4 steps and
/// of the whole sequence, in every direction, split by rows and by units, and with upper
/// layers whose steps project their own input (blocks of one step; the first layer's
/// input is too wide for that).
TEST(GateLayers, ALayerTouchesAStepsGatesOnlyAfterTheLayersBelow) {
  struct Shape {
    int64_t block, splits, input;
  };
  for (const bool bidirectional : {false, true}) {
    for (const Shape shape : {Shape{4, 1, 40}, Shape{4, 2, 40}, Shape{12, 2, 40}, Shape{1, 1, 1000}}) {
      ExecOptions options{Schedule::wavefront, 2};
      options.step_block = shape.block;
      options.batch_splits = shape.splits;
      options.hidden_splits = shape.splits;
      const ProblemDesc p = describe_problem(ModelSpec{CellKind::lstm, shape.input, 32, 3, bidirectional},
                                             12, 16, false, false, true, options);
      const std::string shape_name = std::to_string(bidirectional) + " " + testing::exec_name(options);
      ASSERT_EQ(p.layout.gate_layers, 1) << shape_name;
      ASSERT_EQ(p.layout.gate_slots, 12) << shape_name;
      ASSERT_EQ(steps_project_input(p, 1), shape.block == 1) << shape_name;
      ASSERT_FALSE(steps_project_input(p, 0)) << shape_name;
      const TaskGraph graph = build_forward_graph(p, true);
      const std::vector<std::vector<bool>> before = ancestors(graph);
      auto touches_gates = [](const Task& task) {
        return task.kind == TaskKind::project || task.kind == TaskKind::forward;
      };
      int64_t checked = 0;
      for (int64_t i = 0; i < graph.size(); ++i) {
        const Task& below = graph.tasks[i];
        for (int64_t j = 0; touches_gates(below) && j < graph.size(); ++j) {
          const Task& above = graph.tasks[j];
          if (!touches_gates(above) || above.layer <= below.layer ||
              above.direction != below.direction || above.t1 <= below.t0 || below.t1 <= above.t0) {
            continue;
          }
          EXPECT_TRUE(before[j][i]) << shape_name << ": layer " << above.layer << " steps "
                                    << above.t0 << "-" << above.t1 << " before layer "
                                    << below.layer << " steps " << below.t0 << "-" << below.t1;
          ++checked;
        }
      }
      EXPECT_GT(checked, 0) << shape_name;
    }
  }
}

}  // namespace
}  // namespace rnnwave
