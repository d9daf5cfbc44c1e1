// What the register-tiled AVX-512 kernels (fp32 and bf16 panels) share: the arguments of
// one tile, the table of every tile shape, and the walk of the tiles over C.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <utility>

#include "kernels/packed_gemm.h"

namespace rnnwave::kernels::tiles {

inline constexpr int kMaxRows = 8;
inline constexpr int kMaxPanels = 8;

/// Panels a tile pulls toward its core's L2 while it computes: the 64-byte line k (one
/// depth unit of a panel, fp32 or bf16) of each of the `count` panels, for k < depth.
template <class Panel>
struct Ahead {
  const Panel* panel[kMaxPanels];
  int count;
  int64_t depth;
};

/// Prefetches line k of every panel in `ahead` into the L2.
template <class Panel>
inline __attribute__((always_inline)) void prefetch_line(const Ahead<Panel>& ahead, int64_t k) {
  for (int v = 0; v < ahead.count; ++v) {
    _mm_prefetch(reinterpret_cast<const char*>(ahead.panel[v]) + k * 64, _MM_HINT_T1);
  }
}

/// Depth units of a tile's k loop that prefetch: its share of the next panels, at most its
/// own depth of them (the rest of a deeper next block comes unfetched).
template <class A>
inline __attribute__((always_inline)) int64_t prefetch_depth(const A& t) {
  return t.ahead.count > 0 ? std::min(t.depth, t.ahead.depth) : 0;
}

/// Where one tile's panels come from and go to. Panel is the element of B's packed panels.
template <class Panel>
struct Args {
  int64_t depth;  ///< iterations of the tile's k loop: k (fp32 panels) or k pairs (bf16)
  const float* a;  ///< row 0 of the tile in A
  int64_t lda;     ///< A's row stride; with a transposed A (stored [k, m]) its k stride
  const Panel* panel[kMaxPanels];
  /// A second product summed after the first (fp32 kernel only; depth2 = 0 without one):
  /// its row 0 in A2, A2's stride, and the same panels of the second B.
  int64_t depth2;
  const float* a2;
  int64_t lda2;
  const Panel* panel2[kMaxPanels];
  /// This tile's share of the panels the walk reads next (count = 0: none).
  Ahead<Panel> ahead;
  float* c[kMaxPanels];  ///< row 0 of C at the panel's first column
  __mmask16 mask[kMaxPanels];
  int64_t ldc;
  bool beta;
};

/// A tile's accumulators: C's rows (masked to the panels' real columns) if t.beta, else 0.
template <int MR, int NV, class A>
inline __attribute__((always_inline)) void load_accumulators(__m512 (&acc)[MR][NV], const A& t) {
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      acc[i][v] = t.beta ? _mm512_maskz_loadu_ps(t.mask[v], t.c[v] + i * t.ldc) : _mm512_setzero_ps();
    }
  }
}

/// Stores a tile's accumulators to C's rows, the panels' real columns only.
template <int MR, int NV, class A>
inline __attribute__((always_inline)) void store_accumulators(const __m512 (&acc)[MR][NV], const A& t) {
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) _mm512_mask_storeu_ps(t.c[v] + i * t.ldc, t.mask[v], acc[i][v]);
  }
}

template <class A, int MR, class Make, size_t... NV>
constexpr std::array<void (*)(const A&), kMaxPanels> row_of_tiles(Make make, std::index_sequence<NV...>) {
  return {make.template operator()<MR, static_cast<int>(NV) + 1>()...};
}

template <class A, class Make, size_t... MR>
constexpr auto table_of_tiles(Make make, std::index_sequence<MR...>) {
  return std::array<std::array<void (*)(const A&), kMaxPanels>, kMaxRows>{
      row_of_tiles<A, static_cast<int>(MR) + 1>(make, std::make_index_sequence<kMaxPanels>())...};
}

/// table[mr-1][nv-1] = make.operator()<mr, nv>(): a kernel's tile function of every shape,
/// for the remainders of rows and panels. make is a lambda []<int MR, int NV>() {...}.
template <class A, class Make>
constexpr auto tile_table(Make make) {
  return table_of_tiles<A>(make, std::make_index_sequence<kMaxRows>());
}

/// Depth units (k, or k pairs of bf16 panels) of one k block of run_tiles. A group of 4
/// panels over 1024 of them is 256 KiB, and 64 rows of A over them 256 KiB more (512 KiB
/// for bf16 panels, whose A holds two floats per unit): both stay in a 1 MiB L2 while the
/// block's row tiles pass. Unblocked, a backward product into the previous state of four
/// gates of 1024 units (k = 4096) re-read its panels from the L3 for every row tile
/// (measured at m = 64: 1.1-1.3x faster blocked; blocks of 512 or 2048 no better, and
/// blocks of 128-512 on k = 1024 products slowed them by up to 11%).
inline constexpr int64_t kBlockDepth = 1024;

/// Row tiles from which on the walk prefetches. The first row tile of a group reads its
/// panels from beyond the L2 and is bound by that; the later ones find them in the L2 and
/// are bound by their multiply-adds, which leaves the memory idle unless they fetch the
/// next group meanwhile. Measured at k = 1024, n = 4096, one thread, the weights beyond the
/// L2 (four 16 MiB matrices in turn), seven alternated runs: m = 16 1.0-1.7x, m = 32
/// 1.1-1.6x, m = 64 0.9-1.2x; with two row tiles (m = 8) 0.86-1.09x, so none there. An
/// earlier attempt in which every tile prefetched, the first included (measured with one
/// matrix, which stays in the L3), made m = 1-32 5-50% slower.
inline constexpr int64_t kMinRowTilesToPrefetch = 3;

/// Bytes of the product's weights (B and B2, whole, not only the panels of one call's
/// range) from which on the walk prefetches: above the smaller L2 of the machines measured
/// (1 MiB) they cannot wait in the L2 between two calls. Below, the prefetches only take
/// load slots: on a B of 1 MiB held in a 2 MiB L2, m = 64 ran 1.0-1.7x slower (four
/// alternated runs). Measured on the Intel machine only.
inline constexpr int64_t kMinBytesToPrefetch = int64_t{1} << 20;

/// Every row tile of C[0:m] against the panels t holds: A's row 0 at a (t.lda apart), the
/// second product's at a2 (t.lda2 apart) if t.depth2 > 0; column[v] is panel v's first
/// column of C, nv the panels. `next` (the panels the walk reads after these; count = 0:
/// none) is shared out among the row tiles after the first.
template <class Table, class A, class Panel>
void run_row_tiles(const Table& table, A& t, int64_t m, int rows, int nv, const float* a,
                   const float* a2, float* c, const int64_t* column, const Ahead<Panel>& next) {
  const int64_t sharing = (m + rows - 1) / rows - 1;
  int given = 0;
  for (int64_t i0 = 0, j = 0; i0 < m; i0 += rows, ++j) {
    const int mr = static_cast<int>(std::min<int64_t>(rows, m - i0));
    t.a = a + i0 * t.lda;
    if (t.depth2 > 0) t.a2 = a2 + i0 * t.lda2;
    for (int v = 0; v < nv; ++v) t.c[v] = c + i0 * t.ldc + column[v];
    // Tile j >= 1 takes an equal share of what is left, so the shares differ by one at most.
    const int64_t left = sharing - (j - 1);
    const int64_t share = j == 0 ? 0 : (next.count - given + left - 1) / left;
    t.ahead.count = static_cast<int>(share);
    t.ahead.depth = next.depth;
    for (int v = 0; v < t.ahead.count; ++v) t.ahead.panel[v] = next.panel[given + v];
    given += t.ahead.count;
    table[mr - 1][nv - 1](t);
  }
}

/// C[0:m, columns of the panels in range] from tiles of `rows` rows x `panels` panels of
/// B (consecutive panels of the range): panels outer, then k blocks, rows inner, so that a
/// group of panels over one k block (the big operand) stays in cache while every row tile
/// of A streams past it. Each element of C is still one sum over k in order: a block
/// after the first resumes from the value the previous one stored.
///
/// t holds depth (and depth2), lda, ldc and beta; a is A's row 0 (lda apart), with
/// a_per_depth floats of A per depth unit. Matrix is a packed B (panels(), panel(p),
/// panel_width(p), panel_column(p)). b2, if not null, is the second product's B (t.a2 its
/// A's row 0, with t.lda2): the same panels of it go to t.panel2. When the two depths
/// together fit one block, or m is one row tile (no tile would reuse a block), each tile
/// sums both products in one call; else the blocks run over the first product's k, then
/// over the second's. Each call of run_row_tiles is told which panels the next one starts
/// with, so that its later row tiles can fetch them (kMinRowTilesToPrefetch): the next k
/// block, the second product's first, or the next group's first product (in a whole call,
/// only the first product's panels of the next group).
template <class Table, class A, class Matrix>
void run_tiles(const Table& table, A t, int64_t m, const float* a, const Matrix& b, float* c,
               PanelRange range, int rows, int panels, const Matrix* b2 = nullptr,
               int64_t a_per_depth = 1) {
  struct Product {
    const float* a;
    int64_t lda;
    const Matrix* b;
    int64_t depth;
  };
  const Product first{a, t.lda, &b, t.depth};
  const Product second{t.a2, t.lda2, b2, b2 != nullptr ? t.depth2 : 0};
  const bool whole = first.depth + second.depth <= kBlockDepth || m <= rows;
  const bool beta = t.beta;
  const int64_t count = range.count(b.panels());
  int64_t panel[kMaxPanels], column[kMaxPanels];
  const bool prefetch = (m + rows - 1) / rows >= kMinRowTilesToPrefetch &&
                        (first.depth + second.depth) * b.panels() * 64 > kMinBytesToPrefetch;
  // The walk takes the range's strips (`panels` consecutive panels of the range each, a
  // tile's width) first to last, or last to first (range.reverse); the g-th it takes
  // starts at position strip_start(g) of the range (range.panel maps positions to panels).
  const int64_t strips = (count + panels - 1) / panels;
  const auto strip_start = [&](int64_t g) { return (range.reverse ? strips - 1 - g : g) * panels; };
  // What a call on the g-th strip of the walk, at depth k0 of `product`, reads first
  // (64 bytes per depth unit of a panel). A call prefetches at most its own depth of it:
  // after a block shorter than the next (a product's last), the rest of the next comes
  // unfetched.
  const auto start_of = [&](int64_t g, const Product& product, int64_t k0) {
    decltype(t.ahead) start{};
    if (!prefetch || g >= strips || k0 >= product.depth) return start;
    const int64_t q = strip_start(g);
    start.count = static_cast<int>(std::min<int64_t>(panels, count - q));
    start.depth = std::min(kBlockDepth, product.depth - k0);
    for (int v = 0; v < start.count; ++v) {
      start.panel[v] = product.b->panel(range.panel(q + v)) + k0 * kPanelWidth;
    }
    return start;
  };
  for (int64_t g = 0; g < strips; ++g) {
    const int64_t q0 = strip_start(g);
    const int nv = static_cast<int>(std::min<int64_t>(panels, count - q0));
    for (int v = 0; v < nv; ++v) {
      panel[v] = range.panel(q0 + v);
      t.mask[v] = static_cast<__mmask16>((1u << b.panel_width(panel[v])) - 1u);
      column[v] = b.panel_column(panel[v]);
    }
    if (whole) {
      t.depth2 = second.depth;
      for (int v = 0; v < nv; ++v) {
        t.panel[v] = b.panel(panel[v]);
        if (second.depth > 0) t.panel2[v] = b2->panel(panel[v]);
      }
      run_row_tiles(table, t, m, rows, nv, first.a, second.a, c, column, start_of(g + 1, first, 0));
      continue;
    }
    bool resume = beta;
    for (const Product* product : {&first, &second}) {
      for (int64_t k0 = 0; k0 < product->depth; k0 += kBlockDepth) {
        t.depth = std::min(kBlockDepth, product->depth - k0);
        t.depth2 = 0;
        t.lda = product->lda;
        t.beta = resume;
        for (int v = 0; v < nv; ++v) t.panel[v] = product->b->panel(panel[v]) + k0 * kPanelWidth;
        const bool last_block = k0 + kBlockDepth >= product->depth;
        const auto next = !last_block ? start_of(g, *product, k0 + kBlockDepth)
                          : product == &first && second.depth > 0 ? start_of(g, second, 0)
                                                                  : start_of(g + 1, first, 0);
        run_row_tiles(table, t, m, rows, nv, product->a + k0 * a_per_depth, nullptr, c, column,
                      next);
        resume = true;
      }
    }
  }
}

}  // namespace rnnwave::kernels::tiles
