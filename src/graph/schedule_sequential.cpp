// The sequential schedule: the task graph run in order on the calling thread, one
// thread for the GEMMs too. The reference point of every speed-up.
#include <omp.h>

#include "graph/schedule.h"
#include "graph/task_runner.h"

namespace rnnwave {
namespace {

/// Limits the OpenMP threads the GEMMs may use to one, for the scope.
class SingleThreaded {
 public:
  SingleThreaded() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~SingleThreaded() { omp_set_num_threads(saved_); }
  SingleThreaded(const SingleThreaded&) = delete;
  SingleThreaded& operator=(const SingleThreaded&) = delete;

 private:
  int saved_;
};

void run_inline(const TaskGraph& graph, int, const TaskBody& body) { run_graph_inline(graph, body); }

}  // namespace

template <class T>
void sequential_forward(Pass<T>& pass, const ExecOptions& options) {
  SingleThreaded one_thread;
  run_forward_graph(pass, options, 1, &run_inline);
}

template <class T>
void sequential_backward(Pass<T>& pass, const ExecOptions& options) {
  SingleThreaded one_thread;
  run_backward_graph(pass, options, 1, &run_inline);
}

template void sequential_forward<float>(Pass<float>&, const ExecOptions&);
template void sequential_forward<double>(Pass<double>&, const ExecOptions&);
template void sequential_backward<float>(Pass<float>&, const ExecOptions&);
template void sequential_backward<double>(Pass<double>&, const ExecOptions&);

}  // namespace rnnwave
