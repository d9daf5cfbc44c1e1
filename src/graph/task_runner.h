// Running the tasks of a graph on a pass: the glue between task_graph and cell_ops.
#pragma once

#include "graph/cell_ops.h"
#include "graph/graph_runtime.h"
#include "graph/task_graph.h"
#include "rnnwave/schedule.h"

namespace rnnwave {

/// Runs one task's operation.
template <class T>
void run_task(Pass<T>& pass, const Task& task);

/// How a schedule runs a graph.
using GraphRunner = void (*)(const TaskGraph& graph, int threads, const TaskBody& body);

/// Runs the graph of the forward (or backward) pass with `runner` on the plan's threads
/// (the model's graph for this problem, built on first use), recording a trace if
/// `trace` is set.
template <class T>
void run_forward_graph(Pass<T>& pass, Trace* trace, GraphRunner runner);
template <class T>
void run_backward_graph(Pass<T>& pass, Trace* trace, GraphRunner runner);

}  // namespace rnnwave
