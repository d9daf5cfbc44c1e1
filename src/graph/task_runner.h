// Running the tasks of a graph on a pass: the glue between task_graph and cell_ops.
#pragma once

#include "graph/cell_ops.h"
#include "graph/decomposition.h"
#include "graph/graph_runtime.h"
#include "graph/task_graph.h"
#include "rnnwave/schedule.h"

namespace rnnwave {

/// The sizes of the workspace's current problem.
template <class T>
GraphShape graph_shape(const typename BasicWorkspace<T>::Impl& ws) {
  return {ws.L, ws.D, ws.T_, ws.N, ws.I, ws.H, ws.G};
}

/// Runs one task's operation.
template <class T>
void run_task(Pass<T>& pass, const Decomposition& dec, const Task& task);

/// How a schedule runs a graph.
using GraphRunner = void (*)(const TaskGraph& graph, int threads, const TaskBody& body);

/// Builds the graph of the forward (or backward) pass and runs it with `runner`,
/// recording a trace if options.trace is set.
template <class T>
void run_forward_graph(Pass<T>& pass, const ExecOptions& options, int threads, GraphRunner runner);
template <class T>
void run_backward_graph(Pass<T>& pass, const ExecOptions& options, int threads, GraphRunner runner);

}  // namespace rnnwave
