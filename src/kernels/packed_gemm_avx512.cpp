// The AVX-512 kernel of gemm_packed<float>: register tiles of MR rows x NV panels
// (16 columns each), every accumulator one zmm register, summed over k in order.
#include <immintrin.h>

#include <algorithm>

#include "kernels/packed_gemm.h"
#include "kernels/register_tiles.h"

namespace rnnwave::kernels {
namespace {

using TileArgs = tiles::Args<float>;
using tiles::kMaxPanels;

/// acc[i][v] += sum over k in [begin, end) of A[i][k] * panel[v][k], k in order; A[i][k]
/// is a[i * lda + k], or a[k * lda + i] if kTransposedA. With kAhead, line k of the
/// panels in `ahead` is prefetched at step k.
template <int MR, int NV, bool kTransposedA = false, bool kAhead = false>
inline __attribute__((always_inline)) void accumulate(__m512 (&acc)[MR][NV], const float* a,
                                                      int64_t lda, const float* const* panel,
                                                      int64_t begin, int64_t end,
                                                      const tiles::Ahead<float>* ahead = nullptr) {
  // Unrolled by 4: fewer loop instructions between the FMAs (measured: 3-6% faster).
#pragma GCC unroll 4
  for (int64_t k = begin; k < end; ++k) {
    if constexpr (kAhead) tiles::prefetch_line(*ahead, k);
    __m512 b[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) b[v] = _mm512_load_ps(panel[v] + k * kPanelWidth);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m512 x = _mm512_set1_ps(kTransposedA ? a[k * lda + i] : a[i * lda + k]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(x, b[v], acc[i][v]);
    }
  }
}

template <int MR, int NV>
void tile(const TileArgs& t) {
  __m512 acc[MR][NV];
  tiles::load_accumulators<MR, NV>(acc, t);
  // The same k order either way: the prefetching part first, then the rest.
  const int64_t ahead = tiles::prefetch_depth(t);
  if (ahead > 0) accumulate<MR, NV, false, true>(acc, t.a, t.lda, t.panel, 0, ahead, &t.ahead);
  accumulate<MR, NV>(acc, t.a, t.lda, t.panel, ahead, t.depth);
  if (t.depth2 > 0) accumulate<MR, NV>(acc, t.a2, t.lda2, t.panel2, 0, t.depth2);
  tiles::store_accumulators<MR, NV>(acc, t);
}

/// The tile of a product with a transposed A (no second product there).
template <int MR, int NV>
void tile_transposed_a(const TileArgs& t) {
  __m512 acc[MR][NV];
  tiles::load_accumulators<MR, NV>(acc, t);
  accumulate<MR, NV, true>(acc, t.a, t.lda, t.panel, 0, t.depth);
  tiles::store_accumulators<MR, NV>(acc, t);
}

/// kTiles[mr-1][nv-1]: every tile shape, for the remainders of rows and panels.
constexpr auto kTiles = tiles::tile_table<TileArgs>([]<int MR, int NV>() { return &tile<MR, NV>; });
constexpr auto kTilesTransposedA =
    tiles::tile_table<TileArgs>([]<int MR, int NV>() { return &tile_transposed_a<MR, NV>; });

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

/// With a transposed A, a tile's rows at one k are consecutive floats: 8 rows read one
/// 32-byte piece of a line per k (measured on weight-gradient shapes, k = 64-512: 8 x 3
/// tiles as fast as 6 x 4 or up to 12% faster).
void tile_shape_transposed_a(int64_t m, int* rows, int* panels) {
  if (m >= 8) {
    *rows = 8;
    *panels = 3;
  } else {
    tile_shape(m, rows, panels);
  }
}

/// The walk of a product with a transposed A: row tiles outer, every panel inner. Its B
/// (a short block's X, packed) stays in the L2 while A (dY: every gate's gradient, up to
/// several MiB) does not; this way each tile's rows of A are read from memory once and
/// stay in L1 while the panels stream past (measured on k = 100: 1.08x over panels outer
/// at 4096 x 1024, the same at 1024 x 256).
void run_tiles_rows_outer(TileArgs t, int64_t m, const float* at, const PackedMatrix<float>& b,
                          float* c, int rows, int panels) {
  const int64_t count = b.panels();
  for (int64_t i0 = 0; i0 < m; i0 += rows) {
    const int mr = static_cast<int>(std::min<int64_t>(rows, m - i0));
    t.a = at + i0;
    for (int64_t p0 = 0; p0 < count; p0 += panels) {
      const int nv = static_cast<int>(std::min<int64_t>(panels, count - p0));
      for (int v = 0; v < nv; ++v) {
        t.panel[v] = b.panel(p0 + v);
        t.mask[v] = static_cast<__mmask16>((1u << b.panel_width(p0 + v)) - 1u);
        t.c[v] = c + i0 * t.ldc + b.panel_column(p0 + v);
      }
      kTilesTransposedA[mr - 1][nv - 1](t);
    }
  }
}

/// The arguments every tile of a product shares.
TileArgs tile_args(const PackedMatrix<float>& b, int64_t lda, int64_t ldc, bool beta) {
  TileArgs t{};
  t.depth = b.k();
  t.lda = lda;
  t.ldc = ldc;
  t.beta = beta;
  return t;
}

}  // namespace

void transpose_16x16_avx512(const float* src, int64_t lds, float* dst, int64_t ldd) {
  // Three rounds of interleaving: pairs of floats, pairs of pairs (as doubles), then the
  // 128-bit lanes twice; row i of the result is column i of the block. (The masked forms
  // with every lane set: GCC 12 warns about the unmasked ones' undefined source.)
  const auto lo32 = [](__m512 a, __m512 b) { return _mm512_mask_unpacklo_ps(a, 0xffff, a, b); };
  const auto hi32 = [](__m512 a, __m512 b) { return _mm512_mask_unpackhi_ps(a, 0xffff, a, b); };
  const auto lo64 = [](__m512 a, __m512 b) {
    const __m512d x = _mm512_castps_pd(a);
    return _mm512_castpd_ps(_mm512_mask_unpacklo_pd(x, 0xff, x, _mm512_castps_pd(b)));
  };
  const auto hi64 = [](__m512 a, __m512 b) {
    const __m512d x = _mm512_castps_pd(a);
    return _mm512_castpd_ps(_mm512_mask_unpackhi_pd(x, 0xff, x, _mm512_castps_pd(b)));
  };
  // Lanes 0 and 2 of a then of b (0x88), or lanes 1 and 3 (0xdd).
  const auto even128 = [](__m512 a, __m512 b) {
    return _mm512_mask_shuffle_f32x4(a, 0xffff, a, b, 0x88);
  };
  const auto odd128 = [](__m512 a, __m512 b) {
    return _mm512_mask_shuffle_f32x4(a, 0xffff, a, b, 0xdd);
  };
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * lds);
  for (int i = 0; i < 16; i += 2) {
    t[i] = lo32(r[i], r[i + 1]);
    t[i + 1] = hi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = lo64(t[i], t[i + 2]);
    r[i + 1] = hi64(t[i], t[i + 2]);
    r[i + 2] = lo64(t[i + 1], t[i + 3]);
    r[i + 3] = hi64(t[i + 1], t[i + 3]);
  }
  for (int h = 0; h < 16; h += 8) {
    for (int i = 0; i < 4; ++i) {
      t[h + i] = even128(r[h + i], r[h + i + 4]);
      t[h + i + 4] = odd128(r[h + i], r[h + i + 4]);
    }
  }
  for (int i = 0; i < 8; ++i) {
    _mm512_storeu_ps(dst + i * ldd, even128(t[i], t[i + 8]));
    _mm512_storeu_ps(dst + (i + 8) * ldd, odd128(t[i], t[i + 8]));
  }
}

void gemm_packed_at_avx512(int64_t m, const float* at, int64_t lda, const PackedMatrix<float>& b,
                           bool beta, float* c, int64_t ldc) {
  if (m <= 0) return;
  int rows = 1, panels = 1;
  tile_shape_transposed_a(m, &rows, &panels);
  run_tiles_rows_outer(tile_args(b, lda, ldc, beta), m, at, b, c, rows, panels);
}

void gemm_packed_avx512(int64_t m, const float* a, int64_t lda, const PackedMatrix<float>& b,
                        const SecondProduct<float>& second, bool beta, float* c, int64_t ldc,
                        PanelRange range) {
  if (m <= 0) return;
  int rows = 1, panels = 1;
  tile_shape(m, &rows, &panels);
  TileArgs t = tile_args(b, lda, ldc, beta);
  if (second.b != nullptr) {
    t.depth2 = second.b->k();
    t.a2 = second.a;
    t.lda2 = second.lda;
  }
  tiles::run_tiles(kTiles, t, m, a, b, c, range, rows, panels, second.b);
}

}  // namespace rnnwave::kernels
