// Test inputs from rnnwave's own generator (rnnwave/random.h): the same values on every
// machine and standard library.
#pragma once

#include <cstdint>
#include <vector>

#include "rnnwave/random.h"

namespace rnnwave::testing {

/// n values uniform in [-1, 1), stream `seed`.
inline std::vector<float> uniform_values(int64_t n, uint64_t seed) {
  const uint64_t key = counter_key(seed, 0, 0);
  std::vector<float> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = 2.0f * counter_uniform_float(key, i) - 1.0f;
  return v;
}

}  // namespace rnnwave::testing
