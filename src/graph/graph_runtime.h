// Runtimes that execute a TaskGraph.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "graph/task_graph.h"

namespace rnnwave {

/// Runs task i of the graph.
using TaskBody = std::function<void(int64_t)>;

/// Runs every task on the calling thread, in the graph's (topological) order, with the
/// products inside tasks on that thread alone.
void run_graph_inline(const TaskGraph& graph, const TaskBody& body);

/// Runs the graph as OpenMP tasks on `threads` threads: each task is created with a
/// depend(in:) on the token of each predecessor and a depend(out:) on its own, and runs as
/// soon as they are done — no barrier anywhere but at the end. Worker threads flush
/// denormals to zero. If a task throws, the tasks not yet started are skipped, and the
/// first exception is rethrown once the graph has drained: none escapes a task.
void run_graph_openmp(const TaskGraph& graph, int threads, const TaskBody& body);

/// The chain of each task: (layer * D + direction) * P + part for the graph's P parts of
/// a step, a task of both directions (direction -1) on direction 0's, a task of every
/// part (part -1) on part 0's. With one direction and P threads, part p of every layer
/// is thread p's; with two directions and 2P threads, part p of direction d is dP + p's;
/// with two directions and P threads, part p of both is thread p's.
std::vector<int32_t> chain_of_tasks(const TaskGraph& graph);

/// The graph's chains_order, or 0, 1, 2, ... for a graph built without one.
std::vector<int32_t> chains_order_of(const TaskGraph& graph);

/// Runs the graph on `threads` threads, each owning whole chains (a layer and direction's,
/// or one part of its steps): chain c (chain_of_tasks) belongs to thread c mod the team's
/// size, which runs its tasks in the graph's chains_order, waiting (spinning, then
/// yielding) for predecessors on other threads. A thread thus keeps its weights (a
/// layer's, or its part of them) in its cache for a whole chain, as one thread does,
/// where the dataflow runtime hands each core whichever task is ready. No two
/// threads can wait on each other: every thread walks the same topological order, so the
/// first task of that order not yet run always has its predecessors done. Failures as in
/// run_graph_openmp.
void run_graph_by_chains(const TaskGraph& graph, int threads, const TaskBody& body);

/// Start and end times (steady clock, ns) and thread of every task, when tracing.
struct TaskTimes {
  std::vector<int64_t> start_ns, end_ns;
  std::vector<int32_t> thread;
  explicit TaskTimes(int64_t tasks);
  /// Wraps body so that it records the times of each task.
  TaskBody timed(const TaskBody& body);
};

int64_t now_ns();

}  // namespace rnnwave
