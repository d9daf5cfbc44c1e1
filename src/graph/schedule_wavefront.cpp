// The wavefront schedule: W-Par for one direction, B-Par for two, and the reverse graph
// for backpropagation through time, as OpenMP tasks with data dependencies.
#include "graph/schedule.h"
#include "graph/task_runner.h"

namespace rnnwave {

template <class T>
void wavefront_forward(Pass<T>& pass, const ExecOptions& options) {
  run_forward_graph(pass, options, resolve_threads(options), &run_graph_openmp);
}

template <class T>
void wavefront_backward(Pass<T>& pass, const ExecOptions& options) {
  run_backward_graph(pass, options, resolve_threads(options), &run_graph_openmp);
}

template void wavefront_forward<float>(Pass<float>&, const ExecOptions&);
template void wavefront_forward<double>(Pass<double>&, const ExecOptions&);
template void wavefront_backward<float>(Pass<float>&, const ExecOptions&);
template void wavefront_backward<double>(Pass<double>&, const ExecOptions&);

}  // namespace rnnwave
