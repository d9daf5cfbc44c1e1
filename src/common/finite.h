// Rejecting NaN and infinity in inputs, with the position of the first offender.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace rnnwave {

/// The multi-index of flat position `flat` in a row-major shape, as "[t, n, i]".
std::string index_to_string(int64_t flat, const std::vector<int64_t>& shape);

/// Throws NonFiniteError "NAME contains NaN at [i, j, k]" (or inf / -inf) for the first
/// non-finite value of `values`, a row-major array of the given shape.
template <class T>
void check_finite(std::span<const T> values, const std::vector<int64_t>& shape,
                  std::string_view name);

}  // namespace rnnwave
