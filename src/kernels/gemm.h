// Row-major matrix products: the only place the library calls a BLAS.
#pragma once

#include <cstdint>

namespace rnnwave::kernels {

enum class Trans : bool { no = false, yes = true };

/// C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C, all row-major, where
/// op(X) = X or X^T. lda/ldb/ldc are the row strides of the stored matrices.
/// beta = 0 overwrites C without reading it (NaN in C does not propagate).
///
/// float runs oneDNN's sgemm (JIT, picks the best instruction set at run time and is
/// unaffected by OpenBLAS's core-type settings); it uses the OpenMP threads allowed to
/// the caller (one inside a parallel region). double runs the reference kernel.
template <class T>
void gemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

/// The portable reference kernel: plain loops, the same contract as gemm.
template <class T>
void gemm_reference(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, T alpha,
                    const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

/// Forces the reference kernel for every gemm (also set by the environment variable
/// RNNWAVE_REFERENCE_KERNELS=1 at start-up). For debugging and tests.
void set_force_reference(bool force);
bool force_reference();

}  // namespace rnnwave::kernels
