// The sequential schedule: the task graph run in order on the calling thread, one
// thread for the GEMMs too. The reference point of every speed-up.
#include "graph/schedule.h"
#include "graph/task_runner.h"

namespace rnnwave {
namespace {

void run_inline(const TaskGraph& graph, int, const TaskBody& body) { run_graph_inline(graph, body); }

}  // namespace

template <class T>
void sequential_forward(Pass<T>& pass, Trace* trace) {
  run_forward_graph(pass, trace, &run_inline);
}

template <class T>
void sequential_backward(Pass<T>& pass, Trace* trace) {
  run_backward_graph(pass, trace, &run_inline);
}

template void sequential_forward<float>(Pass<float>&, Trace*);
template void sequential_forward<double>(Pass<double>&, Trace*);
template void sequential_backward<float>(Pass<float>&, Trace*);
template void sequential_backward<double>(Pass<double>&, Trace*);

}  // namespace rnnwave
