// The AVX512-BF16 kernel of gemm_packed_bf16: A rounded to bf16 pairs once per call, then
// register tiles of MR rows x NV panels, every accumulator one zmm of 16 fp32 columns,
// summed over the pairs of k in order with vdpbf16ps.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "kernels/packed_bf16.h"

namespace rnnwave::kernels {
namespace {

constexpr int kMaxRows = 8;
constexpr int kMaxPanels = 8;

struct TileArgs {
  int64_t pairs;         // k pairs
  const uint32_t* a;     // row 0 of the tile in A's bf16 pairs
  int64_t lda;           // in pairs
  const uint32_t* panel[kMaxPanels];
  float* c[kMaxPanels];  // row 0 of C at the panel's first column
  __mmask16 mask[kMaxPanels];
  int64_t ldc;
  bool beta;
};

template <int MR, int NV>
void tile(const TileArgs& t) {
  __m512 acc[MR][NV];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      acc[i][v] = t.beta ? _mm512_maskz_loadu_ps(t.mask[v], t.c[v] + i * t.ldc) : _mm512_setzero_ps();
    }
  }
  const uint32_t* a = t.a;
#pragma GCC unroll 4
  for (int64_t kk = 0; kk < t.pairs; ++kk) {
    __m512bh b[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      b[v] = (__m512bh)_mm512_load_si512(t.panel[v] + kk * kPanelWidth);
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m512bh x = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[i * t.lda + kk]));
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_dpbf16_ps(acc[i][v], x, b[v]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) _mm512_mask_storeu_ps(t.c[v] + i * t.ldc, t.mask[v], acc[i][v]);
  }
}

using TileFn = void (*)(const TileArgs&);

template <int MR, size_t... NV>
constexpr std::array<TileFn, kMaxPanels> row_of_tiles(std::index_sequence<NV...>) {
  return {&tile<MR, static_cast<int>(NV) + 1>...};
}

template <size_t... MR>
constexpr std::array<std::array<TileFn, kMaxPanels>, kMaxRows> table_of_tiles(
    std::index_sequence<MR...>) {
  return {row_of_tiles<static_cast<int>(MR) + 1>(std::make_index_sequence<kMaxPanels>())...};
}

constexpr auto kTiles = table_of_tiles(std::make_index_sequence<kMaxRows>());

/// The same shapes as the fp32 kernel: about 24 accumulators when there are enough rows,
/// at least 8 independent chains always.
void tile_shape(int64_t m, int* rows, int* panels) {
  if (m >= 6) {
    *rows = 6;
    *panels = 4;
  } else if (m >= 3) {
    *rows = static_cast<int>(m);
    *panels = 4;
  } else {
    *rows = static_cast<int>(m);
    *panels = 8;
  }
}

/// Row r of A ([k] fp32) as [pairs] bf16 pairs, rounded to nearest even by
/// vcvtne2ps2bf16; the pad past k is zero.
void round_row(const float* a, int64_t k, int64_t pairs, uint32_t* out) {
  for (int64_t k0 = 0; k0 < k; k0 += 32) {
    const int64_t left = k - k0;
    const __mmask16 lo = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1u);
    const __mmask16 hi = left >= 32   ? __mmask16(0xffff)
                         : left <= 16 ? __mmask16(0)
                                      : __mmask16((1u << (left - 16)) - 1u);
    const __m512 x0 = _mm512_maskz_loadu_ps(lo, a + k0);
    const __m512 x1 = _mm512_maskz_loadu_ps(hi, a + k0 + 16);
    // The second operand fills the low half: elements k0 .. k0+31 in order.
    const __m512bh r = _mm512_cvtne2ps_pbh(x1, x0);
    const int64_t n = std::min<int64_t>(16, pairs - k0 / 2);
    const __mmask16 store = n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1u);
    _mm512_mask_storeu_epi32(out + k0 / 2, store, (__m512i)r);
  }
}

}  // namespace

void gemm_packed_bf16_avx512(int64_t m, const float* a, int64_t lda, const PackedBf16& b,
                             bool beta, float* c, int64_t ldc, PanelRange range) {
  if (m <= 0) return;
  const int64_t k = b.k(), pairs = b.k_pairs();
  // A in bf16 for the whole call: each element rounded once, whatever the tiling.
  thread_local std::vector<uint32_t> rounded;
  if (static_cast<int64_t>(rounded.size()) < m * pairs) rounded.resize(static_cast<size_t>(m * pairs));
  for (int64_t i = 0; i < m; ++i) round_row(a + i * lda, k, pairs, rounded.data() + i * pairs);

  int rows = 1, panels = 1;
  tile_shape(m, &rows, &panels);
  TileArgs t{};
  t.pairs = pairs;
  t.lda = pairs;
  t.ldc = ldc;
  t.beta = beta;
  const int64_t end = range.end < 0 ? b.panels() : range.end;
  for (int64_t p0 = range.begin; p0 < end; p0 += panels) {
    const int nv = static_cast<int>(std::min<int64_t>(panels, end - p0));
    for (int v = 0; v < nv; ++v) {
      t.panel[v] = b.panel(p0 + v);
      t.mask[v] = static_cast<__mmask16>((1u << b.panel_width(p0 + v)) - 1u);
    }
    for (int64_t i0 = 0; i0 < m; i0 += rows) {
      const int mr = static_cast<int>(std::min<int64_t>(rows, m - i0));
      t.a = rounded.data() + i0 * pairs;
      for (int v = 0; v < nv; ++v) t.c[v] = c + i0 * ldc + b.panel_column(p0 + v);
      kTiles[mr - 1][nv - 1](t);
    }
  }
}

}  // namespace rnnwave::kernels
