#include "kernels/packed_gemm.h"

#include <algorithm>
#include <type_traits>
#include <utility>

#include "common/strings.h"
#include "kernels/for_each_panel.h"
#include "kernels/gemm.h"

namespace rnnwave::kernels {

namespace {

/// dst[j * ldd + i] = src[i * lds + j] for i < rows, j < cols: a block of at most 16 x 16
/// transposed, whole blocks of floats with AVX-512 where the CPU has it (the same copies).
template <class T>
void transpose_block(const T* src, int64_t lds, T* dst, int64_t ldd, int64_t rows, int64_t cols) {
#if defined(RNNWAVE_HAVE_AVX512_KERNELS)
  if constexpr (std::is_same_v<T, float>) {
    if (rows == kPanelWidth && cols == kPanelWidth && packed_gemm_uses_avx512()) {
      transpose_16x16_avx512(src, lds, dst, ldd);
      return;
    }
  }
#endif
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) dst[j * ldd + i] = src[i * lds + j];
  }
}

/// Panel p of B = W^T (W is [N, K], row stride ldw): out[kk][j] = W[col0 + j][kk], copied
/// in blocks of 16 x 16 so that both the rows read and the block written stay in L1.
template <class T>
void pack_transposed_panel(const T* w, int64_t k, int64_t ldw, int64_t col0, int64_t width, T* out) {
  for (int64_t k0 = 0; k0 < k; k0 += kPanelWidth) {
    const int64_t kn = std::min(kPanelWidth, k - k0);
    transpose_block(w + col0 * ldw + k0, ldw, out + k0 * kPanelWidth, kPanelWidth, width, kn);
    for (int64_t j = width; j < kPanelWidth; ++j) {
      for (int64_t kk = 0; kk < kn; ++kk) out[(k0 + kk) * kPanelWidth + j] = T(0);
    }
  }
}

/// Panel p of B = W (W is [K, N], row stride ldw): out[kk][j] = W[kk][col0 + j].
template <class T>
void pack_panel(const T* w, int64_t k, int64_t ldw, int64_t col0, int64_t width, T* out) {
  for (int64_t kk = 0; kk < k; ++kk) {
    T* dst = out + kk * kPanelWidth;
    std::copy(w + kk * ldw + col0, w + kk * ldw + col0 + width, dst);
    std::fill(dst + width, dst + kPanelWidth, T(0));
  }
}

}  // namespace

template <class T>
int64_t PackedMatrix<T>::elements(int64_t k, int64_t n, int64_t groups) {
  if (groups < 1 || n % groups != 0) fail("cannot split ", n, " columns into ", groups, " groups");
  return groups * ((n / groups + kPanelWidth - 1) / kPanelWidth) * k * kPanelWidth;
}

template <class T>
void PackedMatrix<T>::shape(int64_t k, int64_t n, int64_t groups) {
  const int64_t count = elements(k, n, groups);  // checks the groups first
  panels_per_group_ = 0;  // no panels (not a half-made matrix) if reserve throws bad_alloc
  data_.reserve(count);
  k_ = k;
  n_ = n;
  groups_ = groups;
  group_cols_ = n / groups;
  panels_per_group_ = (group_cols_ + kPanelWidth - 1) / kPanelWidth;
}

template <class T>
void PackedMatrix<T>::pack(const T* w, int64_t k, int64_t n, int64_t ldw, bool transposed, int64_t groups) {
  shape(k, n, groups);
  const auto one = [&](int64_t p) {
    T* out = data_.data() + p * k * kPanelWidth;
    if (transposed) {
      pack_transposed_panel(w, k, ldw, panel_column(p), panel_width(p), out);
    } else {
      pack_panel(w, k, ldw, panel_column(p), panel_width(p), out);
    }
  };
  for_each_panel(panels(), panels() * k * kPanelWidth, one);
}

template <class T>
void PackedMatrix<T>::pack_transpose_of(const PackedMatrix& other, int64_t groups) {
  const int64_t k = other.n_, n = other.k_;
  shape(k, n, groups);
  // The padding lanes of each group's last panel are zero.
  for (int64_t q = 0; q < panels(); ++q) {
    const int64_t width = panel_width(q);
    T* out = data_.data() + q * k * kPanelWidth;
    for (int64_t r = 0; width < kPanelWidth && r < k; ++r) {
      std::fill(out + r * kPanelWidth + width, out + (r + 1) * kPanelWidth, T(0));
    }
  }
  // other's panel p holds rows [r0, r0 + width) of this B, 16 lanes of its row c of B^T
  // at src[c * 16]: its rows of this panel q's columns, transposed, are rows r0.. of q.
  const auto one = [&](int64_t p) {
    const T* src = other.panel(p);
    const int64_t r0 = other.panel_column(p), width = other.panel_width(p);
    for (int64_t q = 0; q < panels(); ++q) {
      transpose_block(src + panel_column(q) * kPanelWidth, kPanelWidth,
                      data_.data() + q * k * kPanelWidth + r0 * kPanelWidth, kPanelWidth,
                      panel_width(q), width);
    }
  };
  for_each_panel(other.panels(), panels() * k * kPanelWidth, one);
}

template <class T>
AlignedBuffer<T> PackedMatrix<T>::release() {
  AlignedBuffer<T> memory = std::move(data_);
  *this = PackedMatrix();  // no panels, no shape
  return memory;
}

template <class T>
void PackedMatrix<T>::adopt(AlignedBuffer<T> memory) {
  *this = PackedMatrix();  // no panels until packed
  data_ = std::move(memory);
}

template <class T>
int64_t PackedMatrix<T>::panel_width(int64_t p) const {
  return std::min(kPanelWidth, group_cols_ - (p % panels_per_group_) * kPanelWidth);
}

namespace {

/// acc[j] += sum over kk < k of a_row[kk * step] * panel[kk][j], kk in order.
template <class T>
void accumulate_row(const T* a_row, const T* panel, int64_t k, T (&acc)[kPanelWidth],
                    int64_t step = 1) {
  for (int64_t kk = 0; kk < k; ++kk) {
    const T x = a_row[kk * step];
    for (int64_t j = 0; j < kPanelWidth; ++j) acc[j] += x * panel[kk * kPanelWidth + j];
  }
}

}  // namespace

template <class T>
void gemm_packed_portable(int64_t m, const T* a, int64_t lda, const PackedMatrix<T>& b,
                          const SecondProduct<T>& second, bool beta, T* c, int64_t ldc,
                          PanelRange panels) {
  const int64_t count = panels.count(b.panels());
  for (int64_t q = 0; q < count; ++q) {
    const int64_t p = panels.panel(q);
    const int64_t col0 = b.panel_column(p), width = b.panel_width(p);
    for (int64_t i = 0; i < m; ++i) {
      T acc[kPanelWidth];
      T* c_row = c + i * ldc + col0;
      for (int64_t j = 0; j < kPanelWidth; ++j) acc[j] = beta && j < width ? c_row[j] : T(0);
      accumulate_row(a + i * lda, b.panel(p), b.k(), acc);
      if (second.b != nullptr) {
        accumulate_row(second.a + i * second.lda, second.b->panel(p), second.b->k(), acc);
      }
      for (int64_t j = 0; j < width; ++j) c_row[j] = acc[j];
    }
  }
}

template <class T>
void gemm_packed_at_portable(int64_t m, const T* at, int64_t lda, const PackedMatrix<T>& b,
                             bool beta, T* c, int64_t ldc) {
  for (int64_t p = 0; p < b.panels(); ++p) {
    const int64_t col0 = b.panel_column(p), width = b.panel_width(p);
    for (int64_t i = 0; i < m; ++i) {
      T acc[kPanelWidth];
      T* c_row = c + i * ldc + col0;
      for (int64_t j = 0; j < kPanelWidth; ++j) acc[j] = beta && j < width ? c_row[j] : T(0);
      accumulate_row(at + i, b.panel(p), b.k(), acc, lda);
      for (int64_t j = 0; j < width; ++j) c_row[j] = acc[j];
    }
  }
}

namespace {

/// Refuses a second product whose B has other columns than the first's.
template <class T>
void check_second(const PackedMatrix<T>& b, const SecondProduct<T>& second) {
  if (second.b == nullptr) return;
  if (!second.b->same_panels(b)) {
    fail("gemm_packed: the second product's B has ", second.b->n(), " columns in ",
         second.b->panels(), " panels, the first's ", b.n(), " in ", b.panels());
  }
}

}  // namespace

bool packed_gemm_uses_avx512() {
#if defined(RNNWAVE_HAVE_AVX512_KERNELS)
  static const bool supported = __builtin_cpu_supports("avx512f") != 0;
  return supported && !force_reference();
#else
  return false;
#endif
}

template <>
void gemm_packed<float>(int64_t m, const float* a, int64_t lda, const PackedMatrix<float>& b,
                        const SecondProduct<float>& second, bool beta, float* c, int64_t ldc,
                        PanelRange panels) {
  check_second(b, second);
#if defined(RNNWAVE_HAVE_AVX512_KERNELS)
  if (packed_gemm_uses_avx512()) {
    gemm_packed_avx512(m, a, lda, b, second, beta, c, ldc, panels);
    return;
  }
#endif
  gemm_packed_portable(m, a, lda, b, second, beta, c, ldc, panels);
}

template <>
void gemm_packed<double>(int64_t m, const double* a, int64_t lda, const PackedMatrix<double>& b,
                         const SecondProduct<double>& second, bool beta, double* c, int64_t ldc,
                         PanelRange panels) {
  check_second(b, second);
  gemm_packed_portable(m, a, lda, b, second, beta, c, ldc, panels);
}

template <>
void gemm_packed_at<float>(int64_t m, const float* at, int64_t lda, const PackedMatrix<float>& b,
                           bool beta, float* c, int64_t ldc) {
#if defined(RNNWAVE_HAVE_AVX512_KERNELS)
  if (packed_gemm_uses_avx512()) {
    gemm_packed_at_avx512(m, at, lda, b, beta, c, ldc);
    return;
  }
#endif
  gemm_packed_at_portable(m, at, lda, b, beta, c, ldc);
}

template <>
void gemm_packed_at<double>(int64_t m, const double* at, int64_t lda,
                            const PackedMatrix<double>& b, bool beta, double* c, int64_t ldc) {
  gemm_packed_at_portable(m, at, lda, b, beta, c, ldc);
}

template <class T>
void gemm_packed(int64_t m, const T* a, int64_t lda, const PackedMatrix<T>& b, bool beta, T* c,
                 int64_t ldc, PanelRange panels) {
  gemm_packed<T>(m, a, lda, b, SecondProduct<T>{}, beta, c, ldc, panels);
}

template class PackedMatrix<float>;
template class PackedMatrix<double>;
template void gemm_packed<float>(int64_t, const float*, int64_t, const PackedMatrix<float>&, bool,
                                 float*, int64_t, PanelRange);
template void gemm_packed<double>(int64_t, const double*, int64_t, const PackedMatrix<double>&,
                                  bool, double*, int64_t, PanelRange);
template void gemm_packed_portable<float>(int64_t, const float*, int64_t, const PackedMatrix<float>&,
                                          const SecondProduct<float>&, bool, float*, int64_t,
                                          PanelRange);
template void gemm_packed_portable<double>(int64_t, const double*, int64_t,
                                           const PackedMatrix<double>&,
                                           const SecondProduct<double>&, bool, double*, int64_t,
                                           PanelRange);

template void gemm_packed_at_portable<float>(int64_t, const float*, int64_t,
                                             const PackedMatrix<float>&, bool, float*, int64_t);
template void gemm_packed_at_portable<double>(int64_t, const double*, int64_t,
                                              const PackedMatrix<double>&, bool, double*, int64_t);

}  // namespace rnnwave::kernels
