#include "kernels/packed_bf16.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "common/strings.h"
#include "kernels/for_each_panel.h"

namespace rnnwave::kernels {

uint16_t to_bf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  // Adding 0x7fff plus the lowest kept bit rounds to nearest with ties to even; a carry
  // into the exponent is the correct rounding up (to infinity past the largest finite).
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

float from_bf16(uint16_t b) {
  const uint32_t bits = uint32_t{b} << 16;
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

void PackedBf16::pack(const PackedMatrix<float>& b) {
  const int64_t count = b.panels();
  panels_per_group_ = 0;  // no panels if reserve throws
  k_ = b.k();
  const int64_t pairs = k_pairs(), stride = panel_pairs();
  data_.reserve(std::max<int64_t>(1, count * stride * kPanelWidth));
  n_ = b.n();
  groups_ = b.panels_per_group() > 0 ? count / b.panels_per_group() : 1;
  group_cols_ = b.n() / groups_;
  panels_per_group_ = b.panels_per_group();
  const int64_t k = k_;
  const auto one = [&](int64_t p) {
    const float* in = b.panel(p);  // [k][16]
    uint32_t* out = data_.data() + p * stride * kPanelWidth;
    std::fill(out + pairs * kPanelWidth, out + stride * kPanelWidth, 0u);
    for (int64_t kk = 0; kk < pairs; ++kk) {
      for (int64_t j = 0; j < kPanelWidth; ++j) {
        const uint32_t even = to_bf16(in[(2 * kk) * kPanelWidth + j]);
        const uint32_t odd = 2 * kk + 1 < k ? to_bf16(in[(2 * kk + 1) * kPanelWidth + j]) : 0u;
        out[kk * kPanelWidth + j] = even | (odd << 16);
      }
    }
  };
  for_each_panel(count, count * stride * kPanelWidth, one);
}

int64_t PackedBf16::panel_width(int64_t p) const {
  return std::min(kPanelWidth, group_cols_ - (p % panels_per_group_) * kPanelWidth);
}

namespace {

bool cpu_has_bf16() {
#if defined(RNNWAVE_HAVE_BF16_KERNELS)
  static const bool cpu = __builtin_cpu_supports("avx512bf16") != 0;
  return cpu;
#else
  return false;
#endif
}

}  // namespace

bool bf16_supported() {
  const char* pretend = std::getenv("RNNWAVE_PRETEND_NO_AVX512BF16");
  return cpu_has_bf16() && !(pretend != nullptr && std::strcmp(pretend, "1") == 0);
}

void require_bf16() {
  if (bf16_supported()) return;
#if defined(RNNWAVE_HAVE_BF16_KERNELS)
  fail("bf16 precision needs a CPU with AVX512-BF16 (vcvtneps2bf16); this one lacks it "
       "(use precision fp32)");
#else
  fail("bf16 precision needs the AVX512-BF16 kernel, which this build lacks (its compiler "
       "cannot target avx512bf16; use precision fp32)");
#endif
}

namespace {

std::atomic<bool> amx_allowed{true};

}  // namespace

bool bf16_uses_amx() {
#if defined(RNNWAVE_HAVE_AMX_KERNELS)
  static const bool available = amx_available();
  return available && amx_allowed.load(std::memory_order_relaxed);
#else
  return false;
#endif
}

void set_bf16_amx(bool allowed) { amx_allowed.store(allowed, std::memory_order_relaxed); }

void gemm_packed_bf16(int64_t m, const float* a, int64_t lda, const PackedBf16& b, bool beta,
                      float* c, int64_t ldc, PanelRange panels) {
  // The CPU alone (a getenv per product would cost at small sizes); the entry points of a
  // pass call require_bf16 first.
  if (!cpu_has_bf16()) require_bf16();
#if defined(RNNWAVE_HAVE_AMX_KERNELS)
  if (bf16_uses_amx()) {
    gemm_packed_bf16_amx(m, a, lda, b, beta, c, ldc, panels);
    return;
  }
#endif
#if defined(RNNWAVE_HAVE_BF16_KERNELS)
  gemm_packed_bf16_avx512(m, a, lda, b, beta, c, ldc, panels);
#endif
}

}  // namespace rnnwave::kernels
