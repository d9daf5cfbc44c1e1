// rnnwave/random.h — the one random generator of rnnwave: counters in, random bits out.
//
// Every random number rnnwave draws (initial weights, data sets, shuffles, dropout masks,
// the inputs of `rnnwave bench`) is a pure function of (key, index), never of a generator's
// history. A value therefore does not depend on the number of threads, on which thread
// computes it, on how a batch is split, or on what was drawn before: a run can be resumed
// or cut anywhere and draw the same numbers, on any machine and in any language.
//
// The construction is splitmix64 (Steele, Lea and Flood, "Fast splittable pseudorandom
// number generators", OOPSLA 2014) used as a counter-based generator:
//
//   mix64(x)               = splitmix64's finaliser (below), a bijection of 64-bit words
//   counter_bits(key, i)   = mix64(key + (i + 1) * kGoldenGamma)         (mod 2^64)
//
// so that counter_bits(key, 0), counter_bits(key, 1), ... is exactly the output of
// Vigna's splitmix64.c seeded with `key` (the SplitMix64 class walks it in order). Keys of
// independent streams come from chained finalisation: derive_seed(seed, label) labels one
// level, counter_key(seed, stream, counter) two.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>

namespace rnnwave {

/// splitmix64's golden gamma, 2^64 / phi rounded to odd.
inline constexpr uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ull;

/// splitmix64's finaliser: a bijection of 64-bit words with full avalanche.
///   x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
///   x = (x ^ (x >> 27)) * 0x94D049BB133111EB
///   return x ^ (x >> 31)                                   (all arithmetic mod 2^64)
constexpr uint64_t mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/// Element `index` of the sequence of `key`: 64 random bits, mix64(key + (index+1) gamma).
constexpr uint64_t counter_bits(uint64_t key, uint64_t index) {
  return mix64(key + (index + 1) * kGoldenGamma);
}

/// The key of an independent stream labelled `label` under `seed`:
///   counter_bits(counter_bits(seed, 0) ^ label, 0).
/// Chained for several labels: derive_seed(derive_seed(seed, a), b).
constexpr uint64_t derive_seed(uint64_t seed, uint64_t label) {
  return counter_bits(counter_bits(seed, 0) ^ label, 0);
}

/// The key of the sequence (seed, stream, counter): `stream` separates independent uses
/// (the dropout sites of a model, the parameters of a training run), `counter` their
/// successive draws (the training step):
///   counter_bits(derive_seed(seed, stream) ^ counter, 0).
constexpr uint64_t counter_key(uint64_t seed, uint64_t stream, uint64_t counter) {
  return counter_bits(derive_seed(seed, stream) ^ counter, 0);
}

/// Uniform in [0, 1) with 53 random bits (every value a multiple of 2^-53):
///   (counter_bits(key, index) >> 11) * 2^-53.
constexpr double counter_uniform(uint64_t key, uint64_t index) {
  return static_cast<double>(counter_bits(key, index) >> 11) * 0x1.0p-53;
}

/// Uniform in [0, 1) with 24 random bits, exact in float: (counter_bits(key, index) >> 40) * 2^-24.
constexpr float counter_uniform_float(uint64_t key, uint64_t index) {
  return static_cast<float>(counter_bits(key, index) >> 40) * 0x1.0p-24f;
}

/// Standard normal N(0, 1) by the Box-Muller transform of elements 2*index and
/// 2*index + 1 of the sequence (index < 2^63).
inline double counter_normal(uint64_t key, uint64_t index) {
  const double u1 = counter_uniform(key, 2 * index);
  const double u2 = counter_uniform(key, 2 * index + 1);
  const double radius = std::sqrt(-2.0 * std::log1p(-u1));  // 1 - u1 in (0, 1]
  return radius * std::cos(2.0 * std::numbers::pi * u2);
}

/// The sequence of one key read in order, for code that draws a varying number of values
/// (rejection sampling, shuffles): draw k (k = 0, 1, ...) is counter_bits(key, k), i.e.
/// splitmix64 seeded with `key`.
class SplitMix64 {
 public:
  constexpr explicit SplitMix64(uint64_t key) : key_(key) {}

  /// The next 64 random bits.
  constexpr uint64_t next() { return counter_bits(key_, index_++); }

  /// Uniform in [0, bound), bound >= 1, without bias: Lemire's multiply-shift
  /// (m = next() * bound as 128 bits; while (m mod 2^64) < (2^64 - bound) mod bound, draw
  /// again; the result is m >> 64).
  constexpr uint64_t below(uint64_t bound) {
    __extension__ using U128 = unsigned __int128;
    U128 m = static_cast<U128>(next()) * bound;
    if (static_cast<uint64_t>(m) < bound) {
      const uint64_t threshold = (0 - bound) % bound;
      while (static_cast<uint64_t>(m) < threshold) m = static_cast<U128>(next()) * bound;
    }
    return static_cast<uint64_t>(m >> 64);
  }

  /// Uniform in [0, 1), a multiple of 2^-24 (exact in float): counter_uniform_float of
  /// the next draw.
  constexpr float uniform_float() { return counter_uniform_float(key_, index_++); }

 private:
  uint64_t key_;
  uint64_t index_ = 0;
};

}  // namespace rnnwave
