#include "kernels/packed_bf16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "support/values.h"
#include "rnnwave/error.h"

namespace rnnwave::kernels {
namespace {

using testing::uniform_values;

float from_bits(uint32_t bits) {
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

uint32_t bits_of(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}

/// The test's own rounding of a finite float to bf16: of the two bf16 neighbours, the one
/// nearer in double, the even one on a tie (no bit tricks shared with the library).
double rounded(float x) {
  const uint32_t toward_zero = bits_of(x) & 0xffff0000u;
  const double low = from_bits(toward_zero), high = from_bits(toward_zero + 0x10000u);
  const double below = std::abs(double(x) - low), above = std::abs(high - double(x));
  if (below != above) return below < above ? low : high;
  return ((toward_zero >> 16) & 1u) == 0 ? low : high;
}

class EnvironmentVariable {
 public:
  EnvironmentVariable(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~EnvironmentVariable() { unsetenv(name_); }

 private:
  const char* name_;
};

TEST(Bf16, RoundingIsToNearestWithTiesToEven) {
  std::mt19937_64 gen(11);
  std::uniform_int_distribution<uint32_t> any_bits;
  int checked = 0;
  for (int i = 0; i < 200000; ++i) {
    const float x = from_bits(any_bits(gen));
    if (!std::isfinite(x) || std::abs(x) > 3.3e38f) continue;  // the largest rounds to infinity
    ASSERT_EQ(double(from_bf16(to_bf16(x))), rounded(x)) << "bits " << bits_of(x);
    ++checked;
  }
  EXPECT_GT(checked, 100000);
  // Exact ties: 1 + 2^-8 lies halfway between 1 and 1 + 2^-7 (down, to even); 1 + 3*2^-8
  // between 1 + 2^-7 and 1 + 2^-6 (up, to even).
  EXPECT_EQ(from_bf16(to_bf16(1.0f + 0x1p-8f)), 1.0f);
  EXPECT_EQ(from_bf16(to_bf16(1.0f + 3 * 0x1p-8f)), 1.0f + 0x1p-6f);
  EXPECT_TRUE(std::isnan(from_bf16(to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::isnan(from_bf16(to_bf16(from_bits(0x7f800001u)))));  // signalling, low bits only
  EXPECT_EQ(from_bf16(to_bf16(std::numeric_limits<float>::infinity())),
            std::numeric_limits<float>::infinity());
  EXPECT_EQ(from_bf16(to_bf16(std::numeric_limits<float>::max())),
            std::numeric_limits<float>::infinity());
}

struct Shape {
  int64_t m, n, k, groups;
};

class PackedBf16Gemm : public ::testing::TestWithParam<Shape> {
 protected:
  void SetUp() override {
    if (!bf16_supported()) GTEST_SKIP() << "this CPU lacks AVX512-BF16";
  }
  void TearDown() override { set_bf16_amx(true); }
};

/// The kernels this CPU can run: AVX-512 FMAs always, AMX where it has it.
std::vector<bool> kernels_here() {
  set_bf16_amx(true);
  return bf16_uses_amx() ? std::vector<bool>{false, true} : std::vector<bool>{false};
}

const char* kernel_name(bool amx) { return amx ? "amx" : "avx512"; }

/// The oracle: the product in double of the bf16-rounded A and B. The kernel's only error
/// beyond that rounding is fp32 accumulation: at most one rounding per added term, so
/// within (k + 2) * 2^-24 of the sum of the terms' magnitudes.
TEST_P(PackedBf16Gemm, EqualsTheDoubleProductOfTheRoundedInputsToFloatRounding) {
  const Shape s = GetParam();
  const std::vector<float> a = uniform_values(s.m * s.k, 1);
  const std::vector<float> w = uniform_values(s.n * s.k, 2);  // W [n, k], B = W^T
  const PackedBf16 packed(PackedMatrix<float>(w.data(), s.k, s.n, s.k, true, s.groups));
  for (bool amx : kernels_here()) {
  set_bf16_amx(amx);
  for (bool beta : {false, true}) {
    const std::vector<float> c0 = uniform_values(s.m * s.n, 3);
    std::vector<float> c = c0;
    gemm_packed_bf16(s.m, a.data(), s.k, packed, beta, c.data(), s.n);
    for (int64_t i = 0; i < s.m; ++i) {
      for (int64_t j = 0; j < s.n; ++j) {
        double sum = beta ? c0[i * s.n + j] : 0.0, magnitude = std::abs(sum);
        for (int64_t kk = 0; kk < s.k; ++kk) {
          const double term = rounded(a[i * s.k + kk]) * rounded(w[j * s.k + kk]);
          sum += term;
          magnitude += std::abs(term);
        }
        const double bound = double(s.k + 2) * 0x1p-24 * magnitude;
        ASSERT_NEAR(c[i * s.n + j], sum, bound)
            << kernel_name(amx) << " C[" << i << ", " << j << "], beta " << beta;
      }
    }
  }
  }
}

TEST_P(PackedBf16Gemm, RowsAndPanelsComputedInAnyGroupingGiveTheSameBits) {
  const Shape s = GetParam();
  const std::vector<float> a = uniform_values(s.m * s.k, 4);
  const std::vector<float> w = uniform_values(s.n * s.k, 5);
  const PackedBf16 packed(PackedMatrix<float>(w.data(), s.k, s.n, s.k, true, s.groups));
  for (bool amx : kernels_here()) {
  set_bf16_amx(amx);
  std::vector<float> whole = uniform_values(s.m * s.n, 6), rows = whole, panels = whole;
  std::vector<float> reverse = whole;
  gemm_packed_bf16(s.m, a.data(), s.k, packed, true, whole.data(), s.n);
  PanelRange last_first;
  last_first.reverse = true;
  gemm_packed_bf16(s.m, a.data(), s.k, packed, true, reverse.data(), s.n, last_first);
  for (int64_t i = 0; i < s.m;) {  // uneven pieces: 1, 2, 3, ... rows
    const int64_t count = std::min(s.m - i, i % 7 + 1);
    gemm_packed_bf16(count, a.data() + i * s.k, s.k, packed, true, rows.data() + i * s.n, s.n);
    i += count;
  }
  for (int64_t p = 0; p < packed.panels(); p += 3) {
    gemm_packed_bf16(s.m, a.data(), s.k, packed, true, panels.data(), s.n, PanelRange{p, std::min(p + 3, packed.panels())});
  }
  EXPECT_EQ(std::memcmp(whole.data(), rows.data(), whole.size() * sizeof(float)), 0) << kernel_name(amx);
  EXPECT_EQ(std::memcmp(whole.data(), panels.data(), whole.size() * sizeof(float)), 0) << kernel_name(amx);
  EXPECT_EQ(std::memcmp(whole.data(), reverse.data(), whole.size() * sizeof(float)), 0)
      << kernel_name(amx) << ", panels last to first";
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, PackedBf16Gemm,
                         ::testing::Values(Shape{1, 16, 1, 1}, Shape{1, 1024, 256, 4},
                                           Shape{2, 96, 33, 4}, Shape{5, 21, 7, 3},
                                           Shape{7, 100, 50, 1}, Shape{13, 28, 9, 4},
                                           Shape{64, 200, 64, 4}, Shape{33, 48, 131, 3},
                                           Shape{3, 1500, 700, 1},
                                           // k in several k blocks, m in several row tiles
                                           Shape{12, 100, 2101, 1},
                                           // B above 1 MiB and 3+ row tiles: the walk prefetches
                                           Shape{16, 600, 1800, 3}, Shape{12, 272, 2300, 1}));

TEST(PackedBf16, APretendedCpuWithoutAvx512Bf16IsRefusedNamingTheInstructions) {
  const EnvironmentVariable pretend("RNNWAVE_PRETEND_NO_AVX512BF16", "1");
  EXPECT_FALSE(bf16_supported());
  try {
    require_bf16();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("AVX512-BF16"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rnnwave::kernels
