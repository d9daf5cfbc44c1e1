// The layerwise schedule: what the frameworks do, kept as our in-house baseline on the
// same kernels. Layer by layer, direction by direction, step by step; the pointwise math
// is split over rows, the weight gradients of a layer run as parallel chains (directions,
// input and hidden side), and every step ends in a barrier. Every product is computed as
// the graph schedules compute it, so the results are bit-identical to theirs.
#include <algorithm>
#include <exception>
#include <iterator>

#include "common/scoped_threads.h"
#include "graph/decomposition.h"
#include "graph/dropout.h"
#include "graph/graph_runtime.h"
#include "graph/schedule.h"
#include "kernels/denormals.h"
#include "rnnwave/trace.h"

namespace rnnwave {
namespace {

/// Records each operation of the pass as one event (on thread 0: it spans all threads).
class OpRecorder {
 public:
  OpRecorder(Trace* trace, const char* pass) : trace_(trace), pass_(pass), origin_(now_ns()) {}
  ~OpRecorder() {
    if (trace_ != nullptr) trace_->append(std::move(events_), origin_);
  }
  template <class F>
  void run(const char* kind, int64_t l, int64_t d, int64_t t0, int64_t t1, F&& op) {
    if (trace_ == nullptr) {
      op();
      return;
    }
    const int64_t start = now_ns();
    op();
    TraceEvent e;
    e.pass = pass_;
    e.kind = kind;
    e.layer = static_cast<int>(l);
    e.direction = static_cast<int>(d);
    e.step_begin = t0;
    e.step_end = t1;
    e.start_us = static_cast<double>(start - origin_) / 1e3;
    e.duration_us = static_cast<double>(now_ns() - start) / 1e3;
    events_.push_back(std::move(e));
  }

 private:
  Trace* trace_;
  const char* pass_;
  int64_t origin_;
  std::vector<TraceEvent> events_;
};

/// Runs op(i) for i in [0, count) on up to `threads` threads. Each worker flushes
/// denormals and runs its products on itself alone, as a task of the graph does, so a
/// product computes the same bits here as under every other schedule. The first exception
/// is rethrown once all have finished: none escapes the parallel region.
template <class F>
void parallel_for(int threads, int64_t count, F&& op) {
  const int64_t team = std::min<int64_t>(threads, count);
  if (team <= 1) {
    for (int64_t i = 0; i < count; ++i) op(i);
    return;
  }
  std::exception_ptr error;
#pragma omp parallel num_threads(static_cast<int>(team))
  {
    kernels::ScopedFlushDenormals flush;
    ScopedThreads one_thread(1);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < count; ++i) {
      try {
        op(i);
      } catch (...) {
#pragma omp critical(rnnwave_layerwise_error)
        if (!error) error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

/// Runs op(r0, r1) over `threads` row ranges of [0, rows) in parallel.
template <class F>
void parallel_rows(int threads, int64_t rows, F&& op) {
  const int64_t chunks = std::min<int64_t>(threads, rows);
  parallel_for(threads, chunks, [&](int64_t c) { op(c * rows / chunks, (c + 1) * rows / chunks); });
}

/// The weight gradients of layer l. Each (direction, side) is an independent chain that
/// sums the blocks of for_each_weight_grad_block in order, with the products the graph's
/// weight_grad tasks compute: the same bits as every other schedule and thread count. The
/// parallelism comes from running the chains side by side, never from splitting a sum.
template <class T>
void layer_weight_grads(Pass<T>& pass, int64_t l, int threads) {
  constexpr int64_t kSides = std::size(kWeightGradSides);
  parallel_for(threads, pass.ws.D * kSides, [&](int64_t chain) {
    const int64_t d = chain / kSides;
    const WeightGradSide side = kWeightGradSides[chain % kSides];
    for_each_weight_grad_block(pass.ws.T_, pass.ws.N, d, [&](int64_t t0, int64_t t1) {
      weight_grad(pass, l, d, t0, t1, side);
    });
  });
}

int64_t step_at(int64_t d, int64_t i, int64_t steps, bool backward) {
  return (d == 0) != backward ? i : steps - 1 - i;
}

}  // namespace

template <class T>
void layerwise_forward(Pass<T>& pass, const ExecOptions& options) {
  const int threads = resolve_threads(options);
  ScopedThreads products_alone(1);  // on the calling thread, as in every parallel_for
  kernels::ScopedFlushDenormals flush;
  OpRecorder record(options.trace, "forward");
  auto& ws = pass.ws;
  for (int64_t l = 0; l < ws.L; ++l) {
    if (l > 0 && ws.dropout > 0) {
      record.run("dropout", l, -1, 0, ws.T_, [&] { apply_dropout(pass, l, 0, ws.T_); });
    }
    for (int64_t d = 0; d < ws.D; ++d) {
      record.run("project", l, d, 0, ws.T_, [&] { project_input(pass, l, d, 0, ws.T_); });
      for (int64_t i = 0; i < ws.T_; ++i) {
        const int64_t t = step_at(d, i, ws.T_, false);
        record.run("recurrent_gemm", l, d, t, t + 1,
                   [&] { forward_recurrent_gemm(pass, l, d, t, StepPart{0, ws.N, 0, ws.H}); });
        record.run("pointwise", l, d, t, t + 1, [&] {
          parallel_rows(threads, ws.N, [&](int64_t r0, int64_t r1) {
            forward_pointwise(pass, l, d, t, StepPart{r0, r1, 0, ws.H});
          });
        });
      }
    }
  }
}

template <class T>
void layerwise_backward(Pass<T>& pass, const ExecOptions& options) {
  const int threads = resolve_threads(options);
  ScopedThreads products_alone(1);  // on the calling thread, as in every parallel_for
  kernels::ScopedFlushDenormals flush;
  OpRecorder record(options.trace, "backward");
  auto& ws = pass.ws;
  for (int64_t l = ws.L - 1; l >= 0; --l) {
    for (int64_t d = 0; d < ws.D; ++d) {
      for (int64_t i = 0; i < ws.T_; ++i) {
        const int64_t t = step_at(d, i, ws.T_, true);
        record.run("pointwise", l, d, t, t + 1, [&] {
          parallel_rows(threads, ws.N, [&](int64_t r0, int64_t r1) {
            backward_pointwise(pass, l, d, t, StepPart{r0, r1, 0, ws.H});
          });
        });
        record.run("recurrent_gemm", l, d, t, t + 1,
                   [&] { backward_recurrent_gemm(pass, l, d, t, StepPart{0, ws.N, 0, ws.H}); });
      }
    }
    if (pass.grads != nullptr) {
      record.run("weight_grad", l, -1, 0, ws.T_, [&] { layer_weight_grads(pass, l, threads); });
    }
    if (l > 0 || pass.want_input_grad) {
      record.run("input_grad", l, -1, 0, ws.T_, [&] { input_grad(pass, l, 0, ws.T_); });
    }
  }
}

template void layerwise_forward<float>(Pass<float>&, const ExecOptions&);
template void layerwise_forward<double>(Pass<double>&, const ExecOptions&);
template void layerwise_backward<float>(Pass<float>&, const ExecOptions&);
template void layerwise_backward<double>(Pass<double>&, const ExecOptions&);

}  // namespace rnnwave
