// Work split over the OpenMP threads allowed to the caller, in pieces fixed by the problem.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace rnnwave::train {

/// Elements per block of elementwise work: large enough to amortise scheduling, small
/// enough to spread a million-element parameter over many threads.
inline constexpr int64_t kElementBlock = 1 << 14;

/// Calls body(begin, end) for the blocks [0, block), [block, 2 block), ... of [0, n) on
/// the OpenMP threads allowed to the caller (all on the calling thread when there is a
/// single block). The blocks depend on n and block only, so a body whose result for a
/// block does not depend on which thread runs it gives results independent of threads.
/// body must not throw.
template <class Body>
void parallel_blocks(int64_t n, int64_t block, Body&& body) {
  if (n <= 0) return;
  const int64_t blocks = (n + block - 1) / block;
  if (blocks == 1) {
    body(int64_t{0}, n);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    body(b * block, std::min(n, (b + 1) * block));
  }
}

}  // namespace rnnwave::train
