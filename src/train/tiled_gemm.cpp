#include "train/tiled_gemm.h"

#include <algorithm>
#include <exception>

#include "common/scoped_threads.h"
#include "train/parallel.h"

namespace rnnwave::train {

using kernels::Trans;

template <class T>
void tiled_gemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, T alpha,
                const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  const int64_t row_tiles = (m + kTileRows - 1) / kTileRows;
  const int64_t col_tiles = (n + kTileCols - 1) / kTileCols;
  const int64_t tiles = row_tiles * col_tiles;
  const auto tile = [&](int64_t index) {
    const int64_t i0 = (index / col_tiles) * kTileRows, j0 = (index % col_tiles) * kTileCols;
    const int64_t rows = std::min(kTileRows, m - i0), cols = std::min(kTileCols, n - j0);
    T* c_tile = c + i0 * ldc + j0;
    if (k == 0) {  // C = beta * C, without asking the BLAS about an empty product
      for (int64_t i = 0; i < rows; ++i) {
        for (int64_t j = 0; j < cols; ++j) {
          T& value = c_tile[i * ldc + j];
          value = beta == T(0) ? T(0) : beta * value;
        }
      }
      return;
    }
    const T* a_tile = trans_a == Trans::yes ? a + i0 : a + i0 * lda;
    const T* b_tile = trans_b == Trans::yes ? b + j0 * ldb : b + j0;
    kernels::gemm<T>(trans_a, trans_b, rows, cols, k, alpha, a_tile, lda, b_tile, ldb, beta,
                     c_tile, ldc);
  };
  // Every call runs with the calling thread's OpenMP count pinned to one: the kernel must
  // never choose its own thread count.
  if (tiles == 1) {
    const ScopedThreads one_thread(1);
    tile(0);
    return;
  }
  // No exception may leave a parallel region: the first is kept and rethrown after it.
  std::exception_ptr error;
#pragma omp parallel
  {
    const ScopedThreads one_thread(1);
#pragma omp for schedule(dynamic, 1)
    for (int64_t index = 0; index < tiles; ++index) {
      try {
        tile(index);
      } catch (...) {
#pragma omp critical(rnnwave_tiled_gemm_error)
        if (!error) error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

template void tiled_gemm<float>(Trans, Trans, int64_t, int64_t, int64_t, float, const float*,
                                int64_t, const float*, int64_t, float, float*, int64_t);
template void tiled_gemm<double>(Trans, Trans, int64_t, int64_t, int64_t, double, const double*,
                                 int64_t, const double*, int64_t, double, double*, int64_t);

}  // namespace rnnwave::train
