#include "kernels/weight_grad_product.h"

#include "kernels/gemm.h"
#include "kernels/packed_gemm.h"

namespace rnnwave::kernels {

// Why the packed kernel for short blocks: a pass whose blocks are all short (one sequence,
// N = 1: a block is at most 128 steps) then never calls sgemm, whose first call allocates
// buffers and JIT code of a few MiB: that is what put small training problems over
// oneDNN's own memory account (docs/benchmarks.md, "Memory of a training step"). On time
// the two are about even there (whole training passes at N = 1: 0.98-1.21x at one
// thread; one shape measured slower at two, docs/benchmarks.md). Why sgemm for long
// blocks: at N = 64 (512-row blocks) whole passes measured 0.92-1.02x with the packed
// kernel (0.92x at worst, a four-gate cell at H = 1024).
bool weight_grad_uses_packed(int64_t k) {
  return k <= kPackedWeightGradMaxRows && packed_gemm_uses_avx512();
}

template <>
void weight_grad_product<float>(int64_t m, int64_t n, int64_t k, const float* dy, int64_t ld_dy,
                                const float* x, int64_t ldx, bool beta, float* dw, int64_t ld_dw) {
  if (!weight_grad_uses_packed(k)) {
    gemm<float>(Trans::yes, Trans::no, m, n, k, 1.0f, dy, ld_dy, x, ldx, beta ? 1.0f : 0.0f, dw,
                ld_dw);
    return;
  }
  // Packed anew for every block; the scratch keeps its memory between calls.
  thread_local PackedMatrix<float> packed;
  packed.pack(x, k, n, ldx, false);
  gemm_packed_at<float>(m, dy, ld_dy, packed, beta, dw, ld_dw);
}

template <>
void weight_grad_product<double>(int64_t m, int64_t n, int64_t k, const double* dy, int64_t ld_dy,
                                 const double* x, int64_t ldx, bool beta, double* dw,
                                 int64_t ld_dw) {
  gemm<double>(Trans::yes, Trans::no, m, n, k, 1.0, dy, ld_dy, x, ldx, beta ? 1.0 : 0.0, dw, ld_dw);
}

}  // namespace rnnwave::kernels
