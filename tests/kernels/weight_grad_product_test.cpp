#include "kernels/weight_grad_product.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/packed_gemm.h"
#include "support/values.h"

namespace rnnwave::kernels {
namespace {

using testing::uniform_values;

/// dW = dY^T X (+ dW) for an X of n columns, dY [k, m] and X [k, n] with strides wider
/// than their rows; the expected value from the reference kernel.
void check_against_reference(int64_t m, int64_t n, int64_t k) {
  const int64_t ld_dy = m + 5, ldx = n + 2, ld_dw = n + 1;
  const std::vector<float> dy = uniform_values(k * ld_dy, 40), x = uniform_values(k * ldx, 41);
  for (bool beta : {false, true}) {
    std::vector<float> dw = uniform_values(m * ld_dw, 42), expected = dw;
    if (!beta) dw[0] = std::numeric_limits<float>::quiet_NaN();  // not read
    weight_grad_product<float>(m, n, k, dy.data(), ld_dy, x.data(), ldx, beta, dw.data(), ld_dw);
    gemm_reference<float>(Trans::yes, Trans::no, m, n, k, 1.0f, dy.data(), ld_dy, x.data(), ldx,
                          beta ? 1.0f : 0.0f, expected.data(), ld_dw);
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        ASSERT_NEAR(dw[i * ld_dw + j], expected[i * ld_dw + j], 2e-5f * std::sqrt(float(k)))
            << m << " x " << n << " x " << k << ", beta " << beta << ", element " << i << ", " << j;
      }
    }
  }
}

TEST(WeightGradProduct, MatchesTheReferenceOnEitherSideOfTheBlockRule) {
  check_against_reference(40, 13, 100);  // digits' input features
  check_against_reference(1024, 256, 64);
  check_against_reference(21, 300, kPackedWeightGradMaxRows);
  check_against_reference(21, 300, kPackedWeightGradMaxRows + 1);
}

/// Blocks up to the rule's rows, on a CPU with AVX-512: the packed kernel (the bits of
/// gemm_packed_at on X's packing); longer blocks: the bits of sgemm.
TEST(WeightGradProduct, ThePackedKernelTakesBlocksUpToTheRule) {
  const int64_t m = 30, n = 40;
  for (int64_t k : {kPackedWeightGradMaxRows, kPackedWeightGradMaxRows + 1}) {
    const std::vector<float> dy = uniform_values(k * m, 43), x = uniform_values(k * n, 44);
    std::vector<float> dw(m * n), expected(m * n);
    weight_grad_product<float>(m, n, k, dy.data(), m, x.data(), n, false, dw.data(), n);
    if (weight_grad_uses_packed(k)) {
      const PackedMatrix<float> packed(x.data(), k, n, n, false);
      gemm_packed_at<float>(m, dy.data(), m, packed, false, expected.data(), n);
    } else {
      gemm<float>(Trans::yes, Trans::no, m, n, k, 1.0f, dy.data(), m, x.data(), n, 0.0f,
                  expected.data(), n);
    }
    EXPECT_EQ(std::memcmp(dw.data(), expected.data(), dw.size() * sizeof(float)), 0) << k << " rows";
    EXPECT_EQ(weight_grad_uses_packed(k), k <= kPackedWeightGradMaxRows && packed_gemm_uses_avx512());
  }
}

}  // namespace
}  // namespace rnnwave::kernels
