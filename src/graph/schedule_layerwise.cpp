// The layerwise schedule: what the frameworks do, kept as our in-house baseline on the
// same kernels (and the wavefront schedule's backward pass where it runs in lock step,
// backward_in_lock_step). Layer by layer, direction by direction, step by step; each step
// is split over rows, a layer's input dropout, input projection and input gradient over
// its steps, the weight gradients of a layer run as parallel chains (one per direction and
// parameter), and every step ends in a barrier. Every product is computed as the graph
// schedules compute it, so the results are bit-identical to theirs.
#include <algorithm>
#include <exception>
#include <iterator>

#include "common/scoped_threads.h"
#include "graph/boundary.h"
#include "graph/dropout.h"
#include "graph/graph_runtime.h"
#include "graph/schedule.h"
#include "kernels/denormals.h"
#include "rnnwave/trace.h"

namespace rnnwave {
namespace {

/// Records each operation of the pass as one event (on thread 0: it spans all threads).
/// Under the wavefront schedule (its backward pass in lock step, backward_in_lock_step)
/// the events form a chain, each waiting for the one before, so that a trace of that
/// schedule carries a graph for every pass, as tools that replay traces expect.
class OpRecorder {
 public:
  OpRecorder(Trace* trace, const char* pass, const ProblemDesc& problem)
      : trace_(trace), pass_(pass), problem_(problem), origin_(now_ns()),
        chain_(problem.plan.schedule == Schedule::wavefront) {}
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
    e.reverse = d >= 0 && problem_.walks_back(d);
    e.step_begin = t0;
    e.step_end = t1;
    e.batch_end = problem_.N;
    if (chain_) {
      e.task = static_cast<int64_t>(events_.size());
      if (e.task > 0) e.preds = {static_cast<int32_t>(e.task - 1)};
    }
    e.start_us = static_cast<double>(start - origin_) / 1e3;
    e.duration_us = static_cast<double>(now_ns() - start) / 1e3;
    events_.push_back(std::move(e));
  }

 private:
  Trace* trace_;
  const char* pass_;
  const ProblemDesc& problem_;
  int64_t origin_;
  bool chain_;
  std::vector<TraceEvent> events_;
};

/// How parallel_for hands out its items: `fixed`, item i to thread i mod team (a step's
/// rows go to the same thread step after step, with the rows it touched before in its
/// cache), or `next_free`, each thread taking the next item when it is free (the weight
/// gradients' chains differ in cost: a bias sum is a fraction of a product).
enum class Deal { fixed, next_free };

/// Runs op(i) for i in [0, count) on up to `threads` threads. Each worker flushes
/// denormals and runs its products on itself alone, as a task of the graph does, so a
/// product computes the same bits here as under every other schedule. The first exception
/// is rethrown once all have finished: none escapes the parallel region.
template <class F>
void parallel_for(int threads, int64_t count, Deal deal, F&& op) {
  const int64_t team = std::min<int64_t>(threads, count);
  if (team <= 1) {
    for (int64_t i = 0; i < count; ++i) op(i);
    return;
  }
  std::exception_ptr error;
  const auto run = [&](int64_t i) {
    try {
      op(i);
    } catch (...) {
#pragma omp critical(rnnwave_layerwise_error)
      if (!error) error = std::current_exception();
    }
  };
#pragma omp parallel num_threads(static_cast<int>(team))
  {
    kernels::ScopedFlushDenormals flush;
    ScopedThreads one_thread(1);
    if (deal == Deal::fixed) {
#pragma omp for schedule(static, 1)
      for (int64_t i = 0; i < count; ++i) run(i);
    } else {
#pragma omp for schedule(dynamic, 1)
      for (int64_t i = 0; i < count; ++i) run(i);
    }
  }
  if (error) std::rethrow_exception(error);
}

/// Runs op(r0, r1) over `threads` ranges of [0, rows) in parallel: the rows of a step, or
/// the steps of a layer. Steps are consecutive rows of a layer's matrices here because
/// the layerwise plan's step block is the whole sequence (problem.cpp) and a training pass
/// keeps a slot per step whatever its block (layout_of), so gates are never in a ring; and
/// a product computes each element as one sum whatever rows it is given with.
template <class F>
void parallel_rows(int threads, int64_t rows, F&& op) {
  const int64_t chunks = std::min<int64_t>(threads, rows);
  parallel_for(threads, chunks, Deal::fixed,
               [&](int64_t c) { op(c * rows / chunks, (c + 1) * rows / chunks); });
}

/// The weight gradients of layer l. Each (direction, term) is an independent chain that
/// sums the blocks of for_each_weight_grad_block in order, with the products the graph's
/// weight_grad tasks compute: the same bits as every other schedule and thread count. The
/// parallelism comes from running the chains side by side, never from splitting a sum.
template <class T>
void layer_weight_grads(Pass<T>& pass, int64_t l, int threads) {
  const ProblemDesc& p = pass.desc();
  const int64_t terms = weight_grad_terms(p);
  parallel_for(threads, p.D * terms, Deal::next_free, [&](int64_t chain) {
    const int64_t d = chain / terms, term = chain % terms;
    for_each_weight_grad_block(p.T, p.N, p.walks_back(d), [&](int64_t t0, int64_t t1) {
      weight_grad(pass, l, d, t0, t1, term);
    });
  });
}

/// The step direction d processes i-th in a pass (the forward pass, or the backward one).
int64_t step_at(const ProblemDesc& p, int64_t d, int64_t i, bool backward) {
  return p.walks_back(d) != backward ? p.T - 1 - i : i;
}

}  // namespace

template <class T>
void layerwise_forward(Pass<T>& pass, Trace* trace) {
  const ProblemDesc& p = pass.desc();
  const int threads = p.plan.threads;
  ScopedThreads products_alone(1);  // on the calling thread, as in every parallel_for
  kernels::ScopedFlushDenormals flush;
  OpRecorder record(trace, "forward", p);
  if (pass.on_input_block != nullptr) {  // the whole input before the first layer
    record.run("input", 0, -1, 0, p.T, [&] {
      (*pass.on_input_block)(0, p.T);
      load_input_steps<T>(pass.ws, pass.input, 0, p.T);
    });
  }
  for (int64_t l = 0; l < p.L; ++l) {
    if (l > 0 && pass.ws.dropout > 0) {
      record.run("dropout", l, -1, 0, p.T, [&] {
        parallel_rows(threads, p.T, [&](int64_t t0, int64_t t1) { apply_dropout(pass, l, t0, t1); });
      });
    }
    for (int64_t d = 0; d < p.D; ++d) {
      record.run("project", l, d, 0, p.T, [&] {
        parallel_rows(threads, p.T,
                      [&](int64_t t0, int64_t t1) { project_input(pass, l, d, t0, t1, 0, p.H); });
      });
      for (int64_t i = 0; i < p.T; ++i) {
        const int64_t t = step_at(p, d, i, false);
        // Rows are independent within a step: its products and pointwise math split by rows.
        record.run("forward", l, d, t, t + 1, [&] {
          parallel_rows(threads, p.N, [&](int64_t r0, int64_t r1) {
            forward_step(pass, l, d, t, StepPart{r0, r1, 0, p.H});
          });
        });
      }
    }
  }
}

template <class T>
void layerwise_backward(Pass<T>& pass, Trace* trace) {
  const ProblemDesc& p = pass.desc();
  const int threads = p.plan.threads;
  ScopedThreads products_alone(1);  // on the calling thread, as in every parallel_for
  kernels::ScopedFlushDenormals flush;
  OpRecorder record(trace, "backward", p);
  if (pass.on_grad_output_block != nullptr) {  // the whole gradient before the top layer
    record.run("input", p.L - 1, -1, 0, p.T, [&] {
      (*pass.on_grad_output_block)(0, p.T);
      load_output_grad_steps<T>(pass.ws, pass.grad_output, 0, p.T);
    });
  }
  for (int64_t l = p.L - 1; l >= 0; --l) {
    for (int64_t d = 0; d < p.D; ++d) {
      for (int64_t i = 0; i < p.T; ++i) {
        const int64_t t = step_at(p, d, i, true);
        record.run("backward", l, d, t, t + 1, [&] {
          parallel_rows(threads, p.N, [&](int64_t r0, int64_t r1) {
            backward_step(pass, l, d, t, StepPart{r0, r1, 0, p.H});
          });
        });
      }
    }
    if (pass.grads != nullptr) {
      record.run("weight_grad", l, -1, 0, p.T, [&] { layer_weight_grads(pass, l, threads); });
      if (pass.on_layer_grads_final != nullptr) (*pass.on_layer_grads_final)(l);
    }
    if (l > 0 || pass.want_input_grad) {
      record.run("input_grad", l, -1, 0, p.T, [&] {
        parallel_rows(threads, p.T, [&](int64_t t0, int64_t t1) { input_grad(pass, l, t0, t1); });
      });
    }
  }
  if (pass.on_grad_input_block != nullptr) {
    store_input_grad_steps<T>(pass.ws, pass.grad_input, 0, p.T);
    (*pass.on_grad_input_block)(0, p.T);
  }
}

template void layerwise_forward<float>(Pass<float>&, Trace*);
template void layerwise_forward<double>(Pass<double>&, Trace*);
template void layerwise_backward<float>(Pass<float>&, Trace*);
template void layerwise_backward<double>(Pass<double>&, Trace*);

}  // namespace rnnwave
