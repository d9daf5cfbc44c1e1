// The number of OpenMP threads the parallel regions and the products of a scope may use,
// restored when the scope ends. The one way the engine sets it.
#pragma once

#include <omp.h>

namespace rnnwave {

/// Sets omp_set_num_threads(threads) for the calling thread (or, inside a parallel
/// region, for its implicit task) until the end of the scope, whatever way it ends;
/// threads < 1 leaves the count as it is (ExecOptions::threads = 0: all the caller allows).
/// ScopedThreads(1) around a product keeps a BLAS from starting a team of its own: inside
/// a task, a nested team would oversubscribe the cores, and its summation order would
/// depend on the team's size.
class ScopedThreads {
 public:
  explicit ScopedThreads(int threads) : saved_(omp_get_max_threads()), set_(threads > 0) {
    if (set_) omp_set_num_threads(threads);
  }
  ~ScopedThreads() {
    if (set_) omp_set_num_threads(saved_);
  }
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int saved_;
  bool set_;
};

}  // namespace rnnwave
