// The AMX kernel of gemm_packed_bf16: C += A B on tiles of 16 rows x 16 columns, each
// TDPBF16PS adding 16 pairs of k. A panel of PackedBf16 is already B's tile layout
// ([pairs][16 columns][2]), so the weights go from memory into tiles unchanged.
//
// Rows go in tiles of 16, the last tile of a call as many rows as remain (a tile of 1 row at
// batch 1 costs a fraction of a full one). A tile computes each row from its own row of A
// and the columns of B, over k in the same order, so an element's value does not depend
// on the tile's row count or on the other rows: the row-grouping rule of packed_gemm.h
// holds (checked by the tests for every m).
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/packed_bf16.h"

namespace rnnwave::kernels {
namespace {

constexpr int64_t kTileRows = 16;
constexpr int kPanelsPerBlock = 4;  // C tiles 0-3, A tile 4, B tiles 5-7

/// The tile configuration (palette 1) as ldtilecfg reads it: every tile 16 rows of 64 bytes.
struct TileConfig {
  uint8_t palette_id = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

/// A and C tiles of `rows` rows (B tiles always 16 pairs deep).
void configure_tiles(int64_t rows) {
  TileConfig config;
  for (int t = 0; t < 8; ++t) {
    config.colsb[t] = 64;
    config.rows[t] = static_cast<uint8_t>(t < 5 ? rows : kTileRows);
  }
  _tile_loadconfig(&config);
}

/// Row [k] of A as [pairs] bf16 pairs (vcvtne2ps2bf16: to nearest even), zero past k.
void round_row(const float* a, int64_t k, int64_t pairs, uint32_t* out) {
  for (int64_t k0 = 0; k0 < 2 * pairs; k0 += 32) {
    const int64_t left = k - k0;
    const auto mask = [](int64_t n) {
      return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1u);
    };
    const __m512 x0 = _mm512_maskz_loadu_ps(mask(left), a + k0);
    const __m512 x1 = _mm512_maskz_loadu_ps(mask(left - 16), a + k0 + 16);
    // The second operand fills the low half: elements k0 .. k0+31 in order.
    const __m512bh r = _mm512_cvtne2ps_pbh(x1, x0);
    _mm512_storeu_si512(out + k0 / 2, (__m512i)r);  // pairs is a multiple of 16
  }
}

/// C tiles 0..NV-1 += A (tile 4, 16 rows) B (panels b[v]) over `blocks` blocks of 16 pairs.
template <int NV>
void multiply(const uint32_t* a, int64_t lda_bytes, const uint32_t* const* b, int64_t blocks) {
  constexpr int64_t kBlock = PackedBf16::kAmxPairs * kPanelWidth;  // uint32 per block of B
  for (int64_t kb = 0; kb < blocks; ++kb) {
    _tile_loadd(4, a + kb * PackedBf16::kAmxPairs, lda_bytes);
    _tile_loadd(5, b[0] + kb * kBlock, 64);
    _tile_dpbf16ps(0, 4, 5);
    if constexpr (NV > 1) {
      _tile_loadd(6, b[1] + kb * kBlock, 64);
      _tile_dpbf16ps(1, 4, 6);
    }
    if constexpr (NV > 2) {
      _tile_loadd(7, b[2] + kb * kBlock, 64);
      _tile_dpbf16ps(2, 4, 7);
    }
    if constexpr (NV > 3) {
      _tile_loadd(5, b[3] + kb * kBlock, 64);
      _tile_dpbf16ps(3, 4, 5);
    }
  }
}

/// Tiles of C through a 16 x 16 buffer each: a panel may be narrower than 16 columns, and
/// the rows past m must not be touched.
template <int NV>
void block(const uint32_t* a, int64_t lda_bytes, const uint32_t* const* b, int64_t blocks,
           float (*buffer)[kTileRows * kPanelWidth]) {
  _tile_loadd(0, buffer[0], 64);
  if constexpr (NV > 1) _tile_loadd(1, buffer[1], 64);
  if constexpr (NV > 2) _tile_loadd(2, buffer[2], 64);
  if constexpr (NV > 3) _tile_loadd(3, buffer[3], 64);
  multiply<NV>(a, lda_bytes, b, blocks);
  _tile_stored(0, buffer[0], 64);
  if constexpr (NV > 1) _tile_stored(1, buffer[1], 64);
  if constexpr (NV > 2) _tile_stored(2, buffer[2], 64);
  if constexpr (NV > 3) _tile_stored(3, buffer[3], 64);
}

}  // namespace

bool amx_available() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) return false;
  const bool amx_bf16 = (edx >> 22) & 1u, amx_tile = (edx >> 24) & 1u;
  if (!amx_bf16 || !amx_tile) return false;
  // Linux hands out the 8 KiB of tile state only on request (ARCH_REQ_XCOMP_PERM for
  // XTILEDATA); without it the first tile instruction would kill the process.
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

void gemm_packed_bf16_amx(int64_t m, const float* a, int64_t lda, const PackedBf16& b, bool beta,
                          float* c, int64_t ldc, PanelRange range) {
  if (m <= 0) return;
  const int64_t pairs = b.panel_pairs();
  thread_local std::vector<uint32_t> rounded;
  if (static_cast<int64_t>(rounded.size()) < m * pairs) rounded.resize(static_cast<size_t>(m * pairs));
  for (int64_t i = 0; i < m; ++i) round_row(a + i * lda, b.k(), pairs, rounded.data() + i * pairs);

  int64_t configured = 0;
  alignas(64) float buffer[kPanelsPerBlock][kTileRows * kPanelWidth];
  const int64_t count = range.count(b.panels()), blocks = pairs / PackedBf16::kAmxPairs;
  for (int64_t q0 = 0; q0 < count; q0 += kPanelsPerBlock) {
    const int nv = static_cast<int>(std::min<int64_t>(kPanelsPerBlock, count - q0));
    const uint32_t* panel[kPanelsPerBlock] = {};
    __mmask16 mask[kPanelsPerBlock] = {};
    int64_t column[kPanelsPerBlock] = {};
    for (int v = 0; v < nv; ++v) {
      const int64_t p = range.panel(q0 + v);
      panel[v] = b.panel(p);
      mask[v] = static_cast<__mmask16>((1u << b.panel_width(p)) - 1u);
      column[v] = b.panel_column(p);
    }
    for (int64_t i0 = 0; i0 < m; i0 += kTileRows) {
      const int64_t real = std::min(kTileRows, m - i0);
      if (real != configured) {
        configure_tiles(real);
        configured = real;
      }
      for (int v = 0; v < nv; ++v) {
        for (int64_t r = 0; r < real; ++r) {
          const __m512 old = beta ? _mm512_maskz_loadu_ps(mask[v], c + (i0 + r) * ldc + column[v])
                                  : _mm512_setzero_ps();
          _mm512_store_ps(buffer[v] + r * kPanelWidth, old);
        }
      }
      const uint32_t* a_tile = rounded.data() + i0 * pairs;
      const int64_t lda_bytes = pairs * 4;
      switch (nv) {
        case 1: block<1>(a_tile, lda_bytes, panel, blocks, buffer); break;
        case 2: block<2>(a_tile, lda_bytes, panel, blocks, buffer); break;
        case 3: block<3>(a_tile, lda_bytes, panel, blocks, buffer); break;
        default: block<4>(a_tile, lda_bytes, panel, blocks, buffer); break;
      }
      for (int v = 0; v < nv; ++v) {
        for (int64_t r = 0; r < real; ++r) {
          _mm512_mask_storeu_ps(c + (i0 + r) * ldc + column[v], mask[v],
                                _mm512_load_ps(buffer[v] + r * kPanelWidth));
        }
      }
    }
  }
  _tile_release();
}

}  // namespace rnnwave::kernels
