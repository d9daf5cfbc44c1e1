// The walk over the panels of a packing: serial for small ones, on the caller's OpenMP
// threads for large ones.
#pragma once

#include <omp.h>

#include <cstdint>

namespace rnnwave::kernels {

/// Packing is a copy: worth threads only when it is large (here 4 MiB of floats).
inline constexpr int64_t kParallelPackElements = int64_t{1} << 20;

/// one(p) for p in [0, count), on the caller's OpenMP threads when `elements` (the size
/// of the packing) is worth them and the caller is not in a parallel region already.
/// one(p) must not throw.
template <class One>
void for_each_panel(int64_t count, int64_t elements, const One& one) {
  if (elements < kParallelPackElements || omp_in_parallel()) {
    for (int64_t p = 0; p < count; ++p) one(p);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < count; ++p) one(p);
}

}  // namespace rnnwave::kernels
