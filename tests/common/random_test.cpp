// rnnwave/random.h: the one generator. Its values are a pure function of the key and the
// index, its streams independent, its uniforms in [0, 1), its normals N(0, 1); and its
// keys are those every stream of rnnwave drew before the generator was merged into one
// (the formulas of the three former copies, written out here), so that every data set,
// shuffle and dropout mask keeps its bits.
#include "rnnwave/random.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

namespace rnnwave {
namespace {

constexpr uint64_t kGamma = 0x9E3779B97F4A7C15ull;

/// splitmix64 as Vigna's splitmix64.c writes it: x += gamma, then the finaliser.
uint64_t splitmix64_next(uint64_t& x) {
  uint64_t z = (x += kGamma);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t splitmix64_output(uint64_t x) { return splitmix64_next(x); }

TEST(Random, ValuesAreAPureFunctionOfKeyAndIndex) {
  static_assert(counter_bits(7, 3) == counter_bits(7, 3));  // constexpr: no state at all
  EXPECT_EQ(counter_uniform(42, 1000), counter_uniform(42, 1000));
  EXPECT_NE(counter_bits(42, 1000), counter_bits(43, 1000));
  EXPECT_NE(counter_bits(42, 1000), counter_bits(42, 1001));
  // Drawing in any order gives the same values.
  std::vector<uint64_t> forward, backward(100);
  for (uint64_t i = 0; i < 100; ++i) forward.push_back(counter_bits(9, i));
  for (uint64_t i = 100; i-- > 0;) backward[i] = counter_bits(9, i);
  EXPECT_EQ(forward, backward);
}

TEST(Random, TheSequenceOfAKeyIsSplitmix64SeededWithIt) {
  uint64_t state = 1234567;
  SplitMix64 stream(1234567);
  for (uint64_t i = 0; i < 1000; ++i) {
    const uint64_t expected = splitmix64_next(state);
    ASSERT_EQ(counter_bits(1234567, i), expected) << i;
    ASSERT_EQ(stream.next(), expected) << i;
  }
  EXPECT_EQ(counter_bits(1234567, 0), 6457827717110365317ull);  // splitmix64.c's first output
}

TEST(Random, KeysAreThoseOfTheFormerDataAndTrainingGenerators) {
  for (uint64_t seed : {0ull, 1ull, 42ull, 0xFFFFFFFFFFFFFFFFull}) {
    for (uint64_t label : {0ull, 1ull, 5ull, 0x53485546464c45ull}) {
      // data_random.h's derive_seed.
      EXPECT_EQ(derive_seed(seed, label), splitmix64_output(splitmix64_output(seed) ^ label));
      // train/counter_rng.h's counter_key, with the counter 3.
      const uint64_t a = mix64(seed + kGamma);
      const uint64_t b = mix64((a ^ label) + kGamma);
      EXPECT_EQ(counter_key(seed, label, 3), mix64((b ^ 3) + kGamma));
    }
  }
  // graph/dropout.h's draw of (seed, counter), 24 bits, is counter_uniform_float; the
  // training layers' uniform, 53 bits, is counter_uniform.
  for (uint64_t i = 0; i < 100; ++i) {
    const uint64_t z = splitmix64_output(2024 + i * kGamma);
    EXPECT_EQ(counter_uniform_float(2024, i), static_cast<float>(z >> 40) * 0x1.0p-24f);
    EXPECT_EQ(counter_uniform(2024, i), static_cast<double>(z >> 11) * 0x1.0p-53);
  }
}

/// Pearson's correlation of two equally long samples.
double correlation(const std::vector<double>& a, const std::vector<double>& b) {
  double ma = 0, mb = 0;
  for (size_t i = 0; i < a.size(); ++i) ma += a[i], mb += b[i];
  ma /= double(a.size());
  mb /= double(b.size());
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) * (a[i] - ma);
    bb += (b[i] - mb) * (b[i] - mb);
  }
  return ab / std::sqrt(aa * bb);
}

TEST(Random, StreamsAreIndependent) {
  const size_t n = 1 << 18;  // the standard error of a correlation is 1/sqrt(n), about 0.002
  const auto sample = [&](uint64_t key) {
    std::vector<double> u(n);
    for (size_t i = 0; i < n; ++i) u[i] = counter_uniform(key, i);
    return u;
  };
  const std::vector<double> base = sample(counter_key(1, 1, 0));
  // Neighbouring streams, counters and seeds, and a key one apart.
  for (uint64_t other : {counter_key(1, 2, 0), counter_key(1, 1, 1), counter_key(2, 1, 0),
                         counter_key(1, 1, 0) + 1}) {
    EXPECT_LT(std::abs(correlation(base, sample(other))), 0.01) << other;  // 5 standard errors
  }
  // Successive elements of one stream.
  std::vector<double> shifted(base.begin() + 1, base.end()), head(base.begin(), base.end() - 1);
  EXPECT_LT(std::abs(correlation(head, shifted)), 0.01);
  // 64-bit values of two streams never meet (a collision among 2^19 values has probability
  // about 2^-26).
  std::set<uint64_t> seen;
  for (uint64_t key : {counter_key(1, 1, 0), counter_key(1, 2, 0)}) {
    for (uint64_t i = 0; i < n; ++i) seen.insert(counter_bits(key, i));
  }
  EXPECT_EQ(seen.size(), 2 * n);
}

TEST(Random, UniformsAreInZeroOneAndFlat) {
  const int n = 1 << 20, bins = 16;
  std::vector<int> count(bins, 0), count_float(bins, 0);
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    const double u = counter_uniform(77, static_cast<uint64_t>(i));
    const float f = counter_uniform_float(77, static_cast<uint64_t>(i));
    ASSERT_TRUE(u >= 0.0 && u < 1.0) << u;
    ASSERT_TRUE(f >= 0.0f && f < 1.0f) << f;
    ++count[static_cast<int>(u * bins)];
    ++count_float[static_cast<int>(f * bins)];
    sum += u;
  }
  // The largest values the formulas can give are below 1.
  EXPECT_LT(static_cast<double>(~0ull >> 11) * 0x1.0p-53, 1.0);
  EXPECT_LT(static_cast<float>(~0ull >> 40) * 0x1.0p-24f, 1.0f);
  // Mean 1/2: standard error 1/sqrt(12 n), about 2.8e-4; tolerance 5 of them.
  EXPECT_NEAR(sum / n, 0.5, 1.4e-3);
  // Each of 16 bins holds 1/16 of the draws: standard error sqrt(p (1-p) / n), about
  // 2.4e-4 of the total; tolerance 5 of them.
  for (int b = 0; b < bins; ++b) {
    EXPECT_NEAR(count[b] / double(n), 1.0 / bins, 1.2e-3) << "bin " << b;
    EXPECT_NEAR(count_float[b] / double(n), 1.0 / bins, 1.2e-3) << "float bin " << b;
  }
}

TEST(Random, NormalsHaveTheMomentsOfAStandardNormal) {
  const int n = 1 << 20;
  double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
  for (int i = 0; i < n; ++i) {
    const double z = counter_normal(11, static_cast<uint64_t>(i));
    ASSERT_TRUE(std::isfinite(z));
    m1 += z, m2 += z * z, m3 += z * z * z, m4 += z * z * z * z;
  }
  m1 /= n, m2 /= n, m3 /= n, m4 /= n;
  // Standard errors for n = 2^20 draws of N(0, 1): mean 1/sqrt(n) ~ 1e-3, E[z^2]
  // sqrt(2/n) ~ 1.4e-3, E[z^3] sqrt(15/n) ~ 3.8e-3, E[z^4] sqrt(96/n) ~ 9.6e-3. Each
  // tolerance is 5 standard errors.
  EXPECT_NEAR(m1, 0.0, 5e-3);
  EXPECT_NEAR(m2, 1.0, 7e-3);
  EXPECT_NEAR(m3, 0.0, 2e-2);
  EXPECT_NEAR(m4, 3.0, 5e-2);
  EXPECT_EQ(counter_normal(11, 5), counter_normal(11, 5));
}

TEST(Random, BelowStaysInRangeAndCoversIt) {
  SplitMix64 stream(3);
  std::vector<int> count(7, 0);
  for (int i = 0; i < 70000; ++i) {
    const uint64_t v = stream.below(7);
    ASSERT_LT(v, 7u);
    ++count[v];
  }
  for (int c : count) EXPECT_NEAR(c, 10000, 500);  // standard error about 93
  EXPECT_EQ(SplitMix64(5).below(1), 0u);
}

}  // namespace
}  // namespace rnnwave
