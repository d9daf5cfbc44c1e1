#include "kernels/gemm.h"

#include <oneapi/dnnl/dnnl.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "common/strings.h"

namespace rnnwave::kernels {
namespace {

bool reference_from_environment() {
  const char* value = std::getenv("RNNWAVE_REFERENCE_KERNELS");
  return value != nullptr && std::strcmp(value, "0") != 0 && value[0] != '\0';
}

std::atomic<bool>& reference_flag() {
  static std::atomic<bool> flag{reference_from_environment()};
  return flag;
}

}  // namespace

void set_force_reference(bool force) { reference_flag().store(force); }
bool force_reference() { return reference_flag().load(std::memory_order_relaxed); }

template <class T>
void gemm_reference(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, T alpha,
                    const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  const int64_t a_row = trans_a == Trans::yes ? 1 : lda, a_col = trans_a == Trans::yes ? lda : 1;
  const int64_t b_row = trans_b == Trans::yes ? 1 : ldb, b_col = trans_b == Trans::yes ? ldb : 1;
  for (int64_t i = 0; i < m; ++i) {
    T* c_row = c + i * ldc;
    for (int64_t j = 0; j < n; ++j) c_row[j] = beta == T(0) ? T(0) : beta * c_row[j];
    for (int64_t p = 0; p < k; ++p) {
      const T a_ip = alpha * a[i * a_row + p * a_col];
      const T* b_p = b + p * b_row;
      for (int64_t j = 0; j < n; ++j) c_row[j] += a_ip * b_p[j * b_col];
    }
  }
}

template <>
void gemm<float>(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                 int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (force_reference()) {
    gemm_reference(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const dnnl_status_t status =
      dnnl_sgemm(trans_a == Trans::yes ? 'T' : 'N', trans_b == Trans::yes ? 'T' : 'N', m, n, k,
                 alpha, a, lda, b, ldb, beta, c, ldc);
  if (status != dnnl_success) {
    fail("sgemm failed (oneDNN status ", static_cast<int>(status), ") for m=", m, " n=", n,
         " k=", k);
  }
}

template <>
void gemm<double>(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                  const double* a, int64_t lda, const double* b, int64_t ldb, double beta,
                  double* c, int64_t ldc) {
  gemm_reference(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template void gemm_reference<float>(Trans, Trans, int64_t, int64_t, int64_t, float, const float*,
                                    int64_t, const float*, int64_t, float, float*, int64_t);
template void gemm_reference<double>(Trans, Trans, int64_t, int64_t, int64_t, double,
                                     const double*, int64_t, const double*, int64_t, double,
                                     double*, int64_t);

}  // namespace rnnwave::kernels
