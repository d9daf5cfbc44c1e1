// rnnwave/data_random.h — the counter-based random numbers behind every data set and
// shuffle: SplitMix64 (Steele, Lea & Flood 2014), fully specified here so that any
// machine, thread count or language reproduces the same draws.
#pragma once

#include <cstdint>

namespace rnnwave {

/// SplitMix64's output function: a bijective mix of 64 bits.
///   z = x + 0x9E3779B97F4A7C15
///   z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
///   z = (z ^ (z >> 27)) * 0x94D049BB133111EB
///   return z ^ (z >> 31)                                   (all arithmetic mod 2^64)
constexpr uint64_t splitmix64_output(uint64_t x) {
  uint64_t z = x + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// The seed of an independent stream keyed by `key` under `seed`:
///   splitmix64_output(splitmix64_output(seed) ^ key).
/// Chained for several keys: derive_seed(derive_seed(seed, a), b).
constexpr uint64_t derive_seed(uint64_t seed, uint64_t key) {
  return splitmix64_output(splitmix64_output(seed) ^ key);
}

/// The SplitMix64 generator: draw k (k = 0, 1, ...) is splitmix64_output(state + k * 0x9E3779B97F4A7C15).
class SplitMix64 {
 public:
  constexpr explicit SplitMix64(uint64_t state) : state_(state) {}

  /// The next 64 random bits.
  constexpr uint64_t next() {
    const uint64_t out = splitmix64_output(state_);
    state_ += 0x9E3779B97F4A7C15ull;
    return out;
  }

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

  /// Uniform in [0, 1), a multiple of 2^-24 (exact in float): (next() >> 40) * 2^-24.
  constexpr float uniform_float() { return static_cast<float>(next() >> 40) * 0x1.0p-24f; }

 private:
  uint64_t state_;
};

}  // namespace rnnwave
