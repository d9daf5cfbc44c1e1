// The AVX-512 kernel of gemm_packed<float>: register tiles of MR rows x NV panels
// (16 columns each), every accumulator one zmm register, summed over k in order.
#include <immintrin.h>

#include <array>
#include <utility>

#include "kernels/packed_gemm.h"

namespace rnnwave::kernels {
namespace {

constexpr int kMaxRows = 8;
constexpr int kMaxPanels = 8;

/// Where one tile's panels come from and go to.
struct TileArgs {
  int64_t k;
  const float* a;
  int64_t lda;
  const float* panel[kMaxPanels];
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
  const float* a = t.a;
  // Unrolled by 4: fewer loop instructions between the FMAs (measured: 3-6% faster).
#pragma GCC unroll 4
  for (int64_t k = 0; k < t.k; ++k) {
    __m512 b[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) b[v] = _mm512_load_ps(t.panel[v] + k * kPanelWidth);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m512 x = _mm512_set1_ps(a[i * t.lda + k]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(x, b[v], acc[i][v]);
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

/// kTiles[mr-1][nv-1]: every tile shape, for the remainders of rows and panels.
constexpr auto kTiles = table_of_tiles(std::make_index_sequence<kMaxRows>());

/// Tile shape for m rows: about 24 accumulators (of the 32 registers) when there are
/// enough rows, and always at least 8 independent FMA chains to hide their latency.
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

}  // namespace

void gemm_packed_avx512(int64_t m, const float* a, int64_t lda, const PackedMatrix<float>& b,
                        bool beta, float* c, int64_t ldc, PanelRange range) {
  if (m <= 0) return;
  int rows = 1, panels = 1;
  tile_shape(m, &rows, &panels);
  TileArgs t{};
  t.k = b.k();
  t.lda = lda;
  t.ldc = ldc;
  t.beta = beta;
  // Panels outer, rows inner: a group of panels (the big operand) stays in cache while
  // every row tile of A streams past it.
  const int64_t end = range.end < 0 ? b.panels() : range.end;
  for (int64_t p0 = range.begin; p0 < end; p0 += panels) {
    const int nv = static_cast<int>(std::min<int64_t>(panels, end - p0));
    for (int v = 0; v < nv; ++v) {
      t.panel[v] = b.panel(p0 + v);
      t.mask[v] = static_cast<__mmask16>((1u << b.panel_width(p0 + v)) - 1u);
    }
    for (int64_t i0 = 0; i0 < m; i0 += rows) {
      const int mr = static_cast<int>(std::min<int64_t>(rows, m - i0));
      t.a = a + i0 * lda;
      for (int v = 0; v < nv; ++v) t.c[v] = c + i0 * ldc + b.panel_column(p0 + v);
      kTiles[mr - 1][nv - 1](t);
    }
  }
}

}  // namespace rnnwave::kernels
