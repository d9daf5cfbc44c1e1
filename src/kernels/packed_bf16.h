// Matrix products against a right-hand side stored in bf16: the weights of bf16 inference.
//
// At small batches a pass reads every weight once per step and does little else, so it is
// bound by the bytes of the weights; bf16 halves them. The products keep the contract of
// packed_gemm.h: C is fp32, every element is one sum over k in a fixed order (AMX tiles, or
// one fp32 FMA per k) starting from C's old value or zero, so its value never depends on
// how rows are grouped or split. A is rounded to bf16 (round to nearest even) in the call.
// (Why FMAs on widened bf16 rather than vdpbf16ps without AMX: packed_bf16_avx512.cpp.)
//
// Only the AVX512-BF16 kernel exists (vcvtneps2bf16 rounds A): on another CPU
// gemm_packed_bf16 is refused (see require_bf16) rather than emulated slowly.
#pragma once

#include <cstdint>

#include "common/aligned_buffer.h"
#include "kernels/packed_gemm.h"

namespace rnnwave::kernels {

/// x rounded to bf16 (the upper 16 bits of an fp32), to nearest, ties to even; NaN stays a
/// (quiet) NaN, infinities stay infinite.
uint16_t to_bf16(float x);
/// The fp32 value of a bf16.
float from_bf16(uint16_t b);

/// A [K, N] right-hand side in bf16, cut in panels of 16 columns exactly as the
/// PackedMatrix<float> it is made from (same groups, same panel columns). Each panel is
/// [panel_pairs()][16][2]: one 64-byte line holds k = 2kk (low halves) and 2kk+1 (high
/// halves) of the 16 columns; the pairs past K (an odd K's last k, and up to a multiple of
/// 16 pairs: one AMX tile of B) are zero.
class PackedBf16 {
 public:
  PackedBf16() = default;
  explicit PackedBf16(const PackedMatrix<float>& b) { pack(b); }
  void pack(const PackedMatrix<float>& b);

  int64_t k() const { return k_; }
  int64_t k_pairs() const { return (k_ + 1) / 2; }
  /// Pairs stored per panel: k_pairs() rounded up to a multiple of kAmxPairs.
  int64_t panel_pairs() const { return (k_pairs() + kAmxPairs - 1) / kAmxPairs * kAmxPairs; }
  static constexpr int64_t kAmxPairs = 16;
  int64_t n() const { return n_; }
  int64_t panels() const { return groups_ * panels_per_group_; }
  int64_t panels_per_group() const { return panels_per_group_; }
  /// Panel p as [k_pairs()][16] pairs of bf16 (k even in the low half).
  const uint32_t* panel(int64_t p) const { return data_.data() + p * panel_pairs() * kPanelWidth; }
  int64_t panel_column(int64_t p) const {
    return (p / panels_per_group_) * group_cols_ + (p % panels_per_group_) * kPanelWidth;
  }
  int64_t panel_width(int64_t p) const;

 private:
  int64_t k_ = 0, n_ = 0, groups_ = 1, group_cols_ = 0, panels_per_group_ = 0;
  AlignedBuffer<uint32_t> data_;
};

/// C[m, n] (fp32) = bf16(A)[m, k] B[k, n] + (beta ? C : 0), accumulated in fp32, for the
/// columns of the panels in `panels`; row-major A (fp32, rounded here) and C. Products of
/// bf16 values are exact in fp32; the AVX-512 kernel adds each with one FMA (one rounding;
/// denormals as the caller's MXCSR says), AMX by TDPBF16PS (denormals as zero). Needs
/// require_bf16().
void gemm_packed_bf16(int64_t m, const float* a, int64_t lda, const PackedBf16& b, bool beta,
                      float* c, int64_t ldc, PanelRange panels = {});

/// Whether gemm_packed_bf16 can run here: built with the kernel, the CPU has AVX512-BF16,
/// and the environment variable RNNWAVE_PRETEND_NO_AVX512BF16 is not set to 1 (read at
/// each call: how tests see the refusal a CPU without the instructions gets).
bool bf16_supported();

/// Throws Error naming the missing instruction set unless bf16_supported().
void require_bf16();

/// The kernels: AMX tiles where the CPU and the OS allow them, else AVX-512 FMAs on the
/// widened weights. The choice is made once per process, so a model's results do not
/// change between calls; both follow the contract above. Defined only where the compiler
/// targets them.
void gemm_packed_bf16_avx512(int64_t m, const float* a, int64_t lda, const PackedBf16& b,
                             bool beta, float* c, int64_t ldc, PanelRange panels);
void gemm_packed_bf16_amx(int64_t m, const float* a, int64_t lda, const PackedBf16& b,
                          bool beta, float* c, int64_t ldc, PanelRange panels);
/// Whether the CPU has AMX-BF16 and the OS granted the process its tile state.
bool amx_available();

/// Whether gemm_packed_bf16 uses AMX: amx_available() and not turned off by
/// set_bf16_amx(false) (tests run both kernels that way).
bool bf16_uses_amx();
void set_bf16_amx(bool allowed);

}  // namespace rnnwave::kernels
