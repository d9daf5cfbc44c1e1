// The sequential schedule: one thread, layer by layer, step by step.
#include <omp.h>

#include "graph/schedule.h"

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

int64_t step_at(int64_t direction, int64_t i, int64_t steps) {
  return direction == 0 ? i : steps - 1 - i;
}

}  // namespace

template <class T>
void sequential_forward(Pass<T>& pass, const ExecOptions&) {
  SingleThreaded one_thread;
  auto& ws = pass.ws;
  for (int64_t l = 0; l < ws.L; ++l) {
    for (int64_t d = 0; d < ws.D; ++d) {
      project_input(pass, l, d, 0, ws.T_);
      for (int64_t i = 0; i < ws.T_; ++i) forward_step(pass, l, d, step_at(d, i, ws.T_), 0, ws.N);
    }
  }
}

template <class T>
void sequential_backward(Pass<T>& pass, const ExecOptions&) {
  SingleThreaded one_thread;
  auto& ws = pass.ws;
  for (int64_t l = ws.L - 1; l >= 0; --l) {
    for (int64_t d = 0; d < ws.D; ++d) {
      for (int64_t i = ws.T_ - 1; i >= 0; --i) {
        backward_step(pass, l, d, step_at(d, i, ws.T_), 0, ws.N);
      }
      if (pass.grads != nullptr) {
        for_each_weight_grad_block(ws.T_, ws.N, d, [&](int64_t t0, int64_t t1) {
          weight_grad(pass, l, d, t0, t1);
        });
      }
    }
    if (l > 0 || pass.want_input_grad) input_grad(pass, l, 0, ws.T_);
  }
}

template void sequential_forward<float>(Pass<float>&, const ExecOptions&);
template void sequential_forward<double>(Pass<double>&, const ExecOptions&);
template void sequential_backward<float>(Pass<float>&, const ExecOptions&);
template void sequential_backward<double>(Pass<double>&, const ExecOptions&);

}  // namespace rnnwave
