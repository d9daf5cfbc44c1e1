#include "graph/graph_runtime.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <numeric>
#include <thread>

#include "common/scoped_threads.h"
#include "kernels/denormals.h"

namespace rnnwave {
namespace {

/// The first exception thrown by any task; later tasks see failed() and skip their work.
class FirstError {
 public:
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  void record(std::exception_ptr error) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = std::move(error);
    failed_.store(true, std::memory_order_relaxed);
  }
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::atomic<bool> failed_{false};
  std::mutex mutex_;
  std::exception_ptr error_;
};

}  // namespace

std::vector<int32_t> chain_of_tasks(const TaskGraph& graph) {
  int32_t directions = 1, parts = 1;
  for (const Task& task : graph.tasks) {
    directions = std::max(directions, task.direction + 1);
    parts = std::max(parts, task.part + 1);
  }
  std::vector<int32_t> chain(graph.tasks.size());
  for (size_t i = 0; i < chain.size(); ++i) {
    const Task& task = graph.tasks[i];
    chain[i] = (task.layer * directions + std::max(task.direction, 0)) * parts + std::max(task.part, 0);
  }
  return chain;
}

namespace {

/// Waits until `flag` is set: a short spin (a step of a small cell takes microseconds),
/// then yielding the core, which matters when there are more threads than cores.
void wait_for(const std::atomic<bool>& flag) {
  for (int spins = 0; !flag.load(std::memory_order_acquire); ++spins) {
    if (spins < 4096) {
      _mm_pause();
    } else {
      std::this_thread::yield();
    }
  }
}

}  // namespace

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void run_graph_inline(const TaskGraph& graph, const TaskBody& body) {
  kernels::ScopedFlushDenormals flush;
  // The products inside tasks run on this one thread too.
  ScopedThreads one_thread(1);
  if (graph.one_thread_order.empty()) {
    for (int64_t i = 0; i < graph.size(); ++i) body(i);
    return;
  }
  for (const int32_t i : graph.one_thread_order) body(i);
}

void run_graph_openmp(const TaskGraph& graph, int threads, const TaskBody& body) {
  // One dependency token per task; only their addresses matter.
  std::vector<char> tokens(static_cast<size_t>(graph.size()));
  char* token = tokens.data();
  (void)token;  // used only in depend clauses, which g++ 12 does not count as a use
  const int32_t* preds = graph.preds.data();
  const int32_t* pred_begin = graph.pred_begin.data();
  FirstError error;
#pragma omp parallel num_threads(threads)
  {
    kernels::ScopedFlushDenormals flush;
    // Tasks inherit this: the GEMMs inside them run on one thread, never a nested team
    // (a team of one is not "in parallel" to a BLAS, which would then start its own).
    ScopedThreads one_thread(1);
#pragma omp single
    for (int64_t i = 0; i < graph.size(); ++i) {
      const int32_t* p = preds + pred_begin[i];
      const int32_t count = pred_begin[i + 1] - pred_begin[i];
#pragma omp task default(none) firstprivate(i) shared(body, error) \
    depend(iterator(k = 0 : count), in : token[p[k]]) depend(out : token[i])
      {
        if (!error.failed()) {
          try {
            body(i);
          } catch (...) {
            error.record(std::current_exception());
          }
        }
      }
    }
  }
  error.rethrow();
}

std::vector<int32_t> chains_order_of(const TaskGraph& graph) {
  std::vector<int32_t> order = graph.chains_order;
  if (order.empty()) {
    order.resize(static_cast<size_t>(graph.size()));
    std::iota(order.begin(), order.end(), 0);
  }
  return order;
}

void run_graph_by_chains(const TaskGraph& graph, int threads, const TaskBody& body) {
  const std::vector<int32_t> order = chains_order_of(graph);
  const std::vector<int32_t> chain = chain_of_tasks(graph);
  const std::unique_ptr<std::atomic<bool>[]> done(new std::atomic<bool>[order.size()]);
  for (size_t i = 0; i < order.size(); ++i) done[i].store(false, std::memory_order_relaxed);
  FirstError error;
#pragma omp parallel num_threads(threads)
  {
    kernels::ScopedFlushDenormals flush;
    ScopedThreads one_thread(1);
    // The team may be smaller than asked for: chains are dealt over the threads it has.
    const int team = omp_get_num_threads(), me = omp_get_thread_num();
    for (const int32_t i : order) {
      if (chain[i] % team != me) continue;
      for (int32_t k = 0; k < graph.pred_count(i); ++k) wait_for(done[graph.preds_of(i)[k]]);
      if (!error.failed()) {
        try {
          body(i);
        } catch (...) {
          error.record(std::current_exception());
        }
      }
      // Set even after a failure: the threads waiting on it go on and skip their work.
      done[i].store(true, std::memory_order_release);
    }
  }
  error.rethrow();
}

TaskTimes::TaskTimes(int64_t tasks)
    : start_ns(static_cast<size_t>(tasks)), end_ns(static_cast<size_t>(tasks)),
      thread(static_cast<size_t>(tasks)) {}

TaskBody TaskTimes::timed(const TaskBody& body) {
  return [this, &body](int64_t i) {
    start_ns[i] = now_ns();
    body(i);
    end_ns[i] = now_ns();
    thread[i] = omp_get_thread_num();
  };
}

}  // namespace rnnwave
