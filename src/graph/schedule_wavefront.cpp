// The wavefront schedule: W-Par for one direction, B-Par for two, and the reverse graph
// for backpropagation through time — as OpenMP tasks with data dependencies, or on threads
// that each own whole chains (runs_by_chains); at two threads from 8 rows, the backward
// pass of a single layer or of two halves in lock step, as the layerwise schedule runs it
// (backward_in_lock_step).
#include "graph/schedule.h"
#include "graph/task_runner.h"

namespace rnnwave {

namespace {

/// One thread gains nothing from the runtime: the graph's own order (layer by layer)
/// keeps each layer's weights in cache across its steps, where a dataflow runtime would
/// interleave layers.
void run_inline(const TaskGraph& graph, int, const TaskBody& body) { run_graph_inline(graph, body); }

GraphRunner runner_for(const ProblemDesc& p, bool backward) {
  if (p.plan.threads == 1) return &run_inline;
  return runs_by_chains(p, backward) ? &run_graph_by_chains : &run_graph_openmp;
}

}  // namespace

template <class T>
void wavefront_forward(Pass<T>& pass, Trace* trace) {
  run_forward_graph(pass, trace, runner_for(pass.desc(), false));
}

template <class T>
void wavefront_backward(Pass<T>& pass, Trace* trace) {
  // A pipeline stage's blocks go to the next rank as they come: only the graph does that.
  const bool stage = pass.on_grad_output_block != nullptr || pass.on_grad_input_block != nullptr;
  if (backward_in_lock_step(pass.desc()) && !stage) {
    layerwise_backward(pass, trace);
    return;
  }
  run_backward_graph(pass, trace, runner_for(pass.desc(), true));
}

template void wavefront_forward<float>(Pass<float>&, Trace*);
template void wavefront_forward<double>(Pass<double>&, Trace*);
template void wavefront_backward<float>(Pass<float>&, Trace*);
template void wavefront_backward<double>(Pass<double>&, Trace*);

}  // namespace rnnwave
