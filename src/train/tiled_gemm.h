// Matrix products whose every element is independent of the number of threads.
#pragma once

#include <cstdint>

#include "kernels/gemm.h"

namespace rnnwave::train {

/// Rows and columns of C per tile of tiled_gemm.
inline constexpr int64_t kTileRows = 128;
inline constexpr int64_t kTileCols = 256;

/// C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C, the contract of kernels::gemm
/// (row-major, beta = 0 overwrites C), computed as tiles of C of kTileRows x kTileCols
/// (fixed by m and n alone), each by one single-threaded kernels::gemm call over all of k,
/// the tiles spread over the OpenMP threads allowed to the caller.
///
/// Why: a multi-threaded sgemm splits the product according to the thread count, and the
/// split changes the rounding of the result. With tiles fixed by the shapes, every element
/// is computed by the same call with the same operands whatever the thread count.
template <class T>
void tiled_gemm(kernels::Trans trans_a, kernels::Trans trans_b, int64_t m, int64_t n, int64_t k,
                T alpha, const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c,
                int64_t ldc);

}  // namespace rnnwave::train
