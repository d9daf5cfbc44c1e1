// The AVX-512 kernel of gemm_packed_bf16 (CPUs with AVX512-BF16 but no AMX): A rounded to
// bf16 once per call, then register tiles of MR rows x NV panels, every accumulator one
// zmm of 16 fp32 columns, summed over k in order.
//
// Why not vdpbf16ps: on the AVX512-BF16 Xeon this was written on, a loop of independent
// vdpbf16ps (32 multiply-adds each) sustained fewer multiply-adds per second than one of
// FMAs (16 each), and a vdpbf16ps kernel ran slower than fp32 wherever the weights were
// in cache (batch 64, or small H at batch 1). The kernel therefore keeps
// the weights in bf16 where they cost (memory and cache: half the bytes) and widens them
// in registers: each 64-byte line of a panel holds k = 2kk and 2kk+1 of 16 columns; a
// shift gives the even k as fp32, a mask the odd k. A product of two bf16 values is exact
// in fp32, so each FMA rounds once, as fp32 accumulation does.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "kernels/packed_bf16.h"
#include "kernels/register_tiles.h"

namespace rnnwave::kernels {
namespace {

/// A is rounded to bf16 (held as fp32), k padded to even; depth counts k pairs.
using TileArgs = tiles::Args<uint32_t>;
using tiles::kMaxPanels;

/// acc[i][v] += the products of k pairs [begin, end), in order. With kAhead, line kk of
/// the panels in t.ahead is prefetched at pair kk.
template <int MR, int NV, bool kAhead>
inline __attribute__((always_inline)) void accumulate(__m512 (&acc)[MR][NV], const TileArgs& t,
                                                      int64_t begin, int64_t end) {
  const __m512i high = _mm512_set1_epi32(static_cast<int>(0xffff0000u));
  const float* a = t.a;
#pragma GCC unroll 2
  for (int64_t kk = begin; kk < end; ++kk) {
    if constexpr (kAhead) tiles::prefetch_line(t.ahead, kk);
    // k = 2kk: the low halves shifted up.
    __m512 b[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      b[v] = _mm512_castsi512_ps(_mm512_maskz_slli_epi32(__mmask16(0xffff), _mm512_load_si512(t.panel[v] + kk * kPanelWidth), 16));
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m512 x = _mm512_set1_ps(a[i * t.lda + 2 * kk]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(x, b[v], acc[i][v]);
    }
    // k = 2kk + 1: the high halves in place.
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      b[v] = _mm512_castsi512_ps(_mm512_and_si512(_mm512_load_si512(t.panel[v] + kk * kPanelWidth), high));
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m512 x = _mm512_set1_ps(a[i * t.lda + 2 * kk + 1]);
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
  if (ahead > 0) accumulate<MR, NV, true>(acc, t, 0, ahead);
  accumulate<MR, NV, false>(acc, t, ahead, t.depth);
  tiles::store_accumulators<MR, NV>(acc, t);
}

constexpr auto kTiles = tiles::tile_table<TileArgs>([]<int MR, int NV>() { return &tile<MR, NV>; });

/// About 20 accumulators when there are enough rows (the fp32 kernel's 6 x 4 and 2 x 8
/// leave too few registers for the widened panels: GCC spills), at least 8 independent
/// chains always.
void tile_shape(int64_t m, int* rows, int* panels) {
  if (m >= 2) {
    *rows = static_cast<int>(std::min<int64_t>(m, 5));
    *panels = 4;
  } else {
    *rows = static_cast<int>(m);
    *panels = 8;
  }
}

/// Row r of A ([k] fp32) rounded to bf16 by vcvtneps2bf16 (to nearest even) and widened
/// back to fp32, into [2 * pairs] floats; the pad past k is zero.
void round_row(const float* a, int64_t k, int64_t pairs, float* out) {
  for (int64_t k0 = 0; k0 < 2 * pairs; k0 += 16) {
    const int64_t left = k - k0;
    const __mmask16 in = left >= 16 ? __mmask16(0xffff) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1u);
    const __m256bh r = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(in, a + k0));
    const __m512i wide = _mm512_maskz_slli_epi32(__mmask16(0xffff), _mm512_maskz_cvtepu16_epi32(__mmask16(0xffff), (__m256i)r), 16);
    const int64_t n = std::min<int64_t>(16, 2 * pairs - k0);
    const __mmask16 store = n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1u);
    _mm512_mask_storeu_ps(out + k0, store, _mm512_castsi512_ps(wide));
  }
}

}  // namespace

void gemm_packed_bf16_avx512(int64_t m, const float* a, int64_t lda, const PackedBf16& b,
                             bool beta, float* c, int64_t ldc, PanelRange range) {
  if (m <= 0) return;
  const int64_t k = b.k(), pairs = b.k_pairs();
  // A in bf16 for the whole call: each element rounded once, whatever the tiling.
  const int64_t lda2 = 2 * pairs;
  thread_local std::vector<float> rounded;
  if (static_cast<int64_t>(rounded.size()) < m * lda2) rounded.resize(static_cast<size_t>(m * lda2));
  for (int64_t i = 0; i < m; ++i) round_row(a + i * lda, k, pairs, rounded.data() + i * lda2);

  int rows = 1, panels = 1;
  tile_shape(m, &rows, &panels);
  TileArgs t{};
  t.depth = pairs;
  t.lda = lda2;
  t.ldc = ldc;
  t.beta = beta;
  tiles::run_tiles(kTiles, t, m, rounded.data(), b, c, range, rows, panels,
                   static_cast<const PackedBf16*>(nullptr), /*a_per_depth=*/2);
}

}  // namespace rnnwave::kernels
