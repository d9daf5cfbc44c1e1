// rnnwave/train/counter_rng.h — random numbers as a pure function of counters.
//
// Every random number of the training layers (parameter initialisation, dropout masks) is
// a function of (seed, stream, counter, index) alone, never of a generator's history. A
// value therefore does not depend on the number of threads, on which thread computes it,
// on how a batch is split, or on what was drawn before: a run can be resumed or split
// anywhere and draw the same numbers.
//
// The construction is splitmix64 (Steele, Lea and Flood, "Fast splittable pseudorandom
// number generators", OOPSLA 2014) used as a counter-based generator: a key is derived
// from (seed, stream, counter) by chained finalisation, and element `index` of that
// key's sequence is the finaliser applied to key + (index + 1) * golden gamma.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>

namespace rnnwave {

/// splitmix64's golden gamma, 2^64 / phi rounded to odd.
inline constexpr uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ull;

/// splitmix64's finaliser: a bijection of 64-bit words with full avalanche.
constexpr uint64_t mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/// The key of the sequence (seed, stream, counter). `stream` separates independent uses
/// (e.g. the dropout sites of a model), `counter` their successive draws (e.g. the
/// training step).
constexpr uint64_t counter_key(uint64_t seed, uint64_t stream, uint64_t counter) {
  const uint64_t a = mix64(seed + kGoldenGamma);
  const uint64_t b = mix64((a ^ stream) + kGoldenGamma);
  return mix64((b ^ counter) + kGoldenGamma);
}

/// Element `index` of the sequence of `key`: 64 random bits.
constexpr uint64_t counter_bits(uint64_t key, uint64_t index) {
  return mix64(key + (index + 1) * kGoldenGamma);
}

/// Uniform in [0, 1) with 53 random bits (every value a multiple of 2^-53).
constexpr double counter_uniform(uint64_t key, uint64_t index) {
  return static_cast<double>(counter_bits(key, index) >> 11) * 0x1.0p-53;
}

/// Standard normal N(0, 1) by the Box-Muller transform of elements 2*index and
/// 2*index + 1 of the sequence (index < 2^63).
inline double counter_normal(uint64_t key, uint64_t index) {
  const double u1 = counter_uniform(key, 2 * index);
  const double u2 = counter_uniform(key, 2 * index + 1);
  const double radius = std::sqrt(-2.0 * std::log1p(-u1));  // 1 - u1 in (0, 1]
  return radius * std::cos(2.0 * std::numbers::pi * u2);
}

}  // namespace rnnwave
