// The weight gradients' product: dW (+)= dY^T X over the rows of a block of steps.
#pragma once

#include <cstdint>

namespace rnnwave::kernels {

/// The longest block (rows summed over) the packed kernel takes; longer ones go to
/// oneDNN's sgemm (see the .cpp).
inline constexpr int64_t kPackedWeightGradMaxRows = 128;

/// dW[m, n] = dY^T X + (beta ? dW : 0) for row-major dY [k, m] (row stride ld_dy),
/// X [k, n] (ldx) and dW (ld_dw): each weight's gradient summed over k rows.
///
/// float, on a CPU with AVX-512, k at most kPackedWeightGradMaxRows: X is packed into a
/// scratch of the calling thread (k x n floats, kept for its next call) and rnnwave's
/// packed kernel reads dY in place (gemm_packed_at), every element one sequential sum
/// over k. Otherwise oneDNN's sgemm (kernels::gemm; the reference kernel for double).
/// Either way the result depends on the shapes only, never on which thread calls or how
/// many there are.
template <class T>
void weight_grad_product(int64_t m, int64_t n, int64_t k, const T* dy, int64_t ld_dy, const T* x,
                         int64_t ldx, bool beta, T* dw, int64_t ld_dw);

/// Whether weight_grad_product<float> takes the packed kernel for a block of k rows.
bool weight_grad_uses_packed(int64_t k);

}  // namespace rnnwave::kernels
