#include "kernels/packed_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "kernels/gemm.h"
#include "rnnwave/error.h"
#include "support/packed_values.h"
#include "support/values.h"

namespace rnnwave::kernels {
namespace {

using testing::packed_values;
using testing::uniform_values;

struct Shape {
  int64_t m, n, k, groups;
  bool transposed;
};

class PackedGemm : public ::testing::TestWithParam<Shape> {};

/// W ([n, k] if s.transposed, else [k, n]) packed for the shape's product, depth k.
PackedMatrix<float> packed_for(const Shape& s, const std::vector<float>& w, int64_t k) {
  return PackedMatrix<float>(w.data(), k, s.n, s.transposed ? k : s.n, s.transposed, s.groups);
}

TEST_P(PackedGemm, MatchesTheReferenceProductWithBetaZeroAndOne) {
  const Shape s = GetParam();
  const std::vector<float> a = uniform_values(s.m * s.k, 1);
  const std::vector<float> w = uniform_values(s.n * s.k, 2);  // [n, k] or [k, n]
  const PackedMatrix<float> packed = packed_for(s, w, s.k);
  for (bool beta : {false, true}) {
    std::vector<float> c = uniform_values(s.m * s.n, 3), expected = c;
    gemm_packed<float>(s.m, a.data(), s.k, packed, beta, c.data(), s.n);
    gemm_reference<float>(Trans::no, s.transposed ? Trans::yes : Trans::no, s.m, s.n, s.k, 1.0f,
                          a.data(), s.k, w.data(), s.transposed ? s.k : s.n, beta ? 1.0f : 0.0f,
                          expected.data(), s.n);
    for (size_t i = 0; i < c.size(); ++i) {
      ASSERT_NEAR(c[i], expected[i], 1e-4f * std::sqrt(float(s.k))) << "element " << i;
    }
  }
}

TEST_P(PackedGemm, RowsComputedInAnyGroupingGiveTheSameBits) {
  const Shape s = GetParam();
  const std::vector<float> a = uniform_values(s.m * s.k, 4);
  const std::vector<float> w = uniform_values(s.n * s.k, 5);
  const PackedMatrix<float> packed = packed_for(s, w, s.k);
  std::vector<float> whole = uniform_values(s.m * s.n, 6), pieces = whole;
  gemm_packed<float>(s.m, a.data(), s.k, packed, true, whole.data(), s.n);
  for (int64_t i = 0; i < s.m;) {  // uneven pieces: 1, 2, 3, ... rows
    const int64_t rows = std::min(s.m - i, i % 7 + 1);
    gemm_packed<float>(rows, a.data() + i * s.k, s.k, packed, true, pieces.data() + i * s.n, s.n);
    i += rows;
  }
  EXPECT_EQ(std::memcmp(whole.data(), pieces.data(), whole.size() * sizeof(float)), 0);
}

/// The same units of every group, taken unit by unit in one call (a step's part of the
/// hidden units): the bits of one call per group, and no other column touched.
TEST_P(PackedGemm, UnitsOfEveryGroupInOneCallGiveTheBitsOfOneCallPerGroup) {
  const Shape s = GetParam();
  const std::vector<float> a = uniform_values(s.m * s.k, 10);
  const std::vector<float> w = uniform_values(s.n * s.k, 11);
  const PackedMatrix<float> packed = packed_for(s, w, s.k);
  const int64_t per_group = packed.panels_per_group();
  for (const auto& [first, last] : {std::pair<int64_t, int64_t>{0, per_group}, {per_group / 2, per_group},
                                    {0, (per_group + 1) / 2}}) {
    if (first == last) continue;
    std::vector<float> one = uniform_values(s.m * s.n, 12), each = one;
    gemm_packed<float>(s.m, a.data(), s.k, packed, true, one.data(), s.n,
                       PanelRange{first, last, s.groups, per_group});
    for (int64_t g = 0; g < s.groups; ++g) {
      gemm_packed<float>(s.m, a.data(), s.k, packed, true, each.data(), s.n,
                         PanelRange{g * per_group + first, g * per_group + last});
    }
    EXPECT_EQ(std::memcmp(one.data(), each.data(), one.size() * sizeof(float)), 0)
        << "panels [" << first << ", " << last << ") of each group";
  }
}

/// C = A B + A2 B2 in one pass: the bits of the two products one after the other (the
/// second with beta = 1), with either kernel.
TEST_P(PackedGemm, ASecondProductGivesTheBitsOfTwoCalls) {
  const Shape s = GetParam();
  const int64_t k2 = s.k / 2 + 3;
  const std::vector<float> a = uniform_values(s.m * s.k, 13), a2 = uniform_values(s.m * k2, 14);
  const std::vector<float> w = uniform_values(s.n * s.k, 15), w2 = uniform_values(s.n * k2, 16);
  const PackedMatrix<float> b = packed_for(s, w, s.k), b2 = packed_for(s, w2, k2);
  for (bool reference : {false, true}) {
    set_force_reference(reference);
    for (bool beta : {false, true}) {
      std::vector<float> fused = uniform_values(s.m * s.n, 17), two = fused;
      gemm_packed<float>(s.m, a.data(), s.k, b, SecondProduct<float>{a2.data(), k2, &b2}, beta,
                         fused.data(), s.n);
      gemm_packed<float>(s.m, a.data(), s.k, b, beta, two.data(), s.n);
      gemm_packed<float>(s.m, a2.data(), k2, b2, true, two.data(), s.n);
      EXPECT_EQ(std::memcmp(fused.data(), two.data(), fused.size() * sizeof(float)), 0)
          << (reference ? "portable" : "default") << " kernel, beta " << beta;
    }
  }
  set_force_reference(false);
}

/// A walk of the panels last to first (PanelRange::reverse), over every panel or some
/// units of every group, with and without a second product: the bits of the forward
/// walk, and no other column touched.
TEST_P(PackedGemm, AReverseWalkGivesTheBitsOfAForwardOne) {
  const Shape s = GetParam();
  const int64_t k2 = s.k / 2 + 3;
  const std::vector<float> a = uniform_values(s.m * s.k, 50), a2 = uniform_values(s.m * k2, 51);
  const std::vector<float> w = uniform_values(s.n * s.k, 52), w2 = uniform_values(s.n * k2, 53);
  const PackedMatrix<float> b = packed_for(s, w, s.k), b2 = packed_for(s, w2, k2);
  const int64_t per_group = b.panels_per_group();
  PanelRange all, some{per_group / 2, per_group, s.groups, per_group};
  if (s.groups == 1) some = PanelRange{per_group / 2, per_group};
  for (PanelRange range : {all, some}) {
    for (bool second : {false, true}) {
      const SecondProduct<float> two = second ? SecondProduct<float>{a2.data(), k2, &b2}
                                              : SecondProduct<float>{};
      std::vector<float> forward = uniform_values(s.m * s.n, 54), backward = forward;
      range.reverse = false;
      gemm_packed<float>(s.m, a.data(), s.k, b, two, true, forward.data(), s.n, range);
      range.reverse = true;
      gemm_packed<float>(s.m, a.data(), s.k, b, two, true, backward.data(), s.n, range);
      EXPECT_EQ(std::memcmp(forward.data(), backward.data(), forward.size() * sizeof(float)), 0)
          << "panels from " << range.begin << ", second product " << second;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, PackedGemm,
                         ::testing::Values(Shape{1, 16, 1, 1, true}, Shape{1, 1024, 256, 4, true},
                                           Shape{2, 96, 33, 4, false}, Shape{5, 21, 7, 3, true},
                                           Shape{7, 100, 50, 1, false}, Shape{13, 28, 9, 4, true},
                                           Shape{64, 200, 64, 4, true}, Shape{33, 48, 130, 3, false},
                                           // large enough to be packed on several threads
                                           Shape{3, 1500, 700, 1, true}, Shape{3, 1500, 700, 3, false},
                                           // B above 1 MiB and 3+ row tiles: the walk prefetches
                                           // (whole products; k blocks, a last group of 1 panel)
                                           Shape{20, 1024, 300, 4, true}, Shape{14, 272, 1100, 1, false}));

/// C = At^T B with the left side stored transposed (the weight gradients' form), both
/// kernels: near the reference product, C not read when beta = 0; the AVX-512 kernel sums
/// each element as one chain of fused multiply-adds over k in order, bit for bit.
TEST(PackedGemm, ATransposedLeftSideSumsEachElementOverKInOrder) {
  struct Case {
    int64_t m, n, k;
  };
  for (const Case& s : {Case{1, 16, 1}, Case{3, 13, 17}, Case{8, 48, 64}, Case{13, 100, 33},
                        Case{20, 512, 9}, Case{70, 40, 130}}) {
    const int64_t lda = s.m + 3;  // At [k, m] with a row stride wider than m
    const std::vector<float> at = uniform_values(s.k * lda, 30), w = uniform_values(s.k * s.n, 31);
    const PackedMatrix<float> b(w.data(), s.k, s.n, s.n, false);
    for (bool reference : {false, true}) {
      set_force_reference(reference);
      const bool fused = !reference && packed_gemm_uses_avx512();
      for (bool beta : {false, true}) {
        std::vector<float> c = uniform_values(s.m * s.n, 32), start = c;
        if (!beta) c[0] = std::numeric_limits<float>::quiet_NaN();
        gemm_packed_at<float>(s.m, at.data(), lda, b, beta, c.data(), s.n);
        for (int64_t i = 0; i < s.m; ++i) {
          for (int64_t j = 0; j < s.n; ++j) {
            float chain = beta ? start[i * s.n + j] : 0.0f;
            double exact = chain;
            for (int64_t kk = 0; kk < s.k; ++kk) {
              chain = std::fma(at[kk * lda + i], w[kk * s.n + j], chain);
              exact += double(at[kk * lda + i]) * w[kk * s.n + j];
            }
            const float got = c[i * s.n + j];
            ASSERT_NEAR(got, exact, 1e-5 * std::sqrt(double(s.k)) + 1e-6)
                << s.m << " x " << s.n << " x " << s.k << ", element " << i << ", " << j;
            if (fused) {
              ASSERT_EQ(std::memcmp(&got, &chain, sizeof got), 0) << i << ", " << j;
            }
          }
        }
      }
    }
  }
  set_force_reference(false);
}

/// Products deep enough for the AVX-512 kernel to walk k in blocks: one k beyond a block
/// (and a second product that the blocks reach after the first's), and two that only
/// together exceed one. Each element is still one chain of fused multiply-adds over the
/// first product's k in order, then the second's, bit for bit, in every panel group.
TEST(PackedGemm, ALongKIsSummedInOrderAcrossTheKernelsBlocks) {
  if (!packed_gemm_uses_avx512()) GTEST_SKIP() << "the portable kernel has no k blocks";
  // m: several row tiles; n: several groups of panels, the last one narrower.
  const int64_t m = 13, n = 100;
  struct Depths {
    int64_t k, k2;  // k2 = 0: no second product
  };
  for (const Depths d : {Depths{2500, 0}, Depths{2500, 1100}, Depths{700, 500}}) {
    const std::vector<float> a = uniform_values(m * d.k, 40), a2 = uniform_values(m * d.k2, 41);
    const std::vector<float> w = uniform_values(n * d.k, 42), w2 = uniform_values(n * d.k2, 43);
    const PackedMatrix<float> b(w.data(), d.k, n, d.k, true);
    const PackedMatrix<float> b2 = d.k2 > 0 ? PackedMatrix<float>(w2.data(), d.k2, n, d.k2, true)
                                            : PackedMatrix<float>();
    for (bool beta : {false, true}) {
      std::vector<float> c = uniform_values(m * n, 44), start = c;
      if (!beta) c[0] = std::numeric_limits<float>::quiet_NaN();
      const SecondProduct<float> second = d.k2 > 0 ? SecondProduct<float>{a2.data(), d.k2, &b2}
                                                   : SecondProduct<float>{};
      gemm_packed<float>(m, a.data(), d.k, b, second, beta, c.data(), n);
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          float chain = beta ? start[i * n + j] : 0.0f;
          for (int64_t kk = 0; kk < d.k; ++kk) {
            chain = std::fma(a[i * d.k + kk], w[j * d.k + kk], chain);
          }
          for (int64_t kk = 0; kk < d.k2; ++kk) {
            chain = std::fma(a2[i * d.k2 + kk], w2[j * d.k2 + kk], chain);
          }
          const float got = c[i * n + j];
          ASSERT_EQ(std::memcmp(&got, &chain, sizeof got), 0)
              << "k " << d.k << ", k2 " << d.k2 << ", beta " << beta << ", element " << i << ", "
              << j;
        }
      }
    }
  }
}

TEST(PackedGemm, RepackingIntoUsedMemoryGivesTheSameProductAsAFreshPacking) {
  const std::vector<float> a = uniform_values(4 * 300, 7);
  const std::vector<float> big = uniform_values(300 * 500, 8), small = uniform_values(300 * 40, 9);
  PackedMatrix<float> reused(big.data(), 300, 500, 300, true);
  for (bool transposed : {true, false}) {
    reused.pack(small.data(), 300, 40, transposed ? 300 : 40, transposed);  // smaller: memory kept
    const PackedMatrix<float> fresh(small.data(), 300, 40, transposed ? 300 : 40, transposed);
    std::vector<float> c_reused(4 * 40), c_fresh(4 * 40);
    gemm_packed<float>(4, a.data(), 300, reused, false, c_reused.data(), 40);
    gemm_packed<float>(4, a.data(), 300, fresh, false, c_fresh.data(), 40);
    EXPECT_EQ(c_reused, c_fresh) << (transposed ? "W^T" : "W");
  }
}

/// The backward forms of a model's weights are made from the forward packing (the
/// caller's W is not kept): they must be the packing of W itself, bit for bit.
template <class T>
void check_transpose_of_packing(int64_t rows, int64_t cols, int64_t groups) {
  std::vector<T> w(static_cast<size_t>(rows * cols));  // W [rows, cols]
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<T>(std::sin(0.37 * double(i) + 1.0));
  const PackedMatrix<T> forward(w.data(), cols, rows, cols, true, groups);  // W^T, gates grouped
  const PackedMatrix<T> direct(w.data(), rows, cols, cols, false);         // W
  // Memory in use, larger than needed and full of NaN: what is reused must all be rewritten
  // (the last panel's padding lanes too).
  std::vector<T> nan(static_cast<size_t>((rows + 16) * (cols + 32)), std::numeric_limits<T>::quiet_NaN());
  PackedMatrix<T> made(nan.data(), rows + 16, cols + 32, cols + 32, false);
  made.pack_transpose_of(forward);
  ASSERT_EQ(made.k(), rows);
  ASSERT_EQ(made.n(), cols);
  EXPECT_EQ(packed_values(made), packed_values(direct)) << rows << " x " << cols << ", " << groups
                                                        << " groups";
  // And back: the transpose of the backward packing, in the forward one's groups, is the
  // forward packing (what a single weight copy flips back to), padding lanes included.
  std::vector<T> nan_back(static_cast<size_t>((rows + 32) * (cols + 16)), std::numeric_limits<T>::quiet_NaN());
  PackedMatrix<T> back(nan_back.data(), cols + 16, rows + 32, rows + 32, false);
  back.pack_transpose_of(made, groups);
  EXPECT_EQ(packed_values(back), packed_values(forward)) << "back: " << rows << " x " << cols
                                                         << ", " << groups << " groups";
}

TEST(PackedGemm, TransposeOfAPackingIsThePackingOfTheTranspose) {
  for (const Shape& s : {Shape{0, 96, 33, 4, true}, Shape{0, 21, 7, 3, true}, Shape{0, 16, 1, 1, true},
                         Shape{0, 1024, 256, 4, true}, Shape{0, 1500, 700, 3, true}}) {
    check_transpose_of_packing<float>(s.n, s.k, s.groups);
    check_transpose_of_packing<double>(s.n, s.k, s.groups);
  }
}

TEST(PackedGemm, ASecondProductWithOtherColumnsIsRefused) {
  const std::vector<float> w = uniform_values(40 * 8, 18), a = uniform_values(8, 19);
  const PackedMatrix<float> b(w.data(), 8, 40, 8, true, 2);   // 2 groups of 20: padded
  const PackedMatrix<float> ungrouped(w.data(), 8, 40, 8, true);  // the same columns, unpadded
  std::vector<float> c(40);
  try {
    gemm_packed<float>(1, a.data(), 8, b, SecondProduct<float>{a.data(), 8, &ungrouped}, false,
                       c.data(), 40);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("second product"), std::string::npos) << e.what();
  }
}

TEST(PackedGemm, DoubleUsesThePortableKernel) {
  const std::vector<double> a{1, 2, 3, 4}, w{1, 0, 0, 1, 2, 2};  // A [2, 2], W [3, 2]
  const PackedMatrix<double> packed(w.data(), 2, 3, 2, true);
  std::vector<double> c(6, 0.0);
  gemm_packed<double>(2, a.data(), 2, packed, false, c.data(), 3);
  EXPECT_EQ(c, (std::vector<double>{1, 2, 6, 3, 4, 14}));
}

}  // namespace
}  // namespace rnnwave::kernels
