// rnnwave/finite.h — rejecting NaN and infinity in an array, with the first offender's position.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace rnnwave {

/// Throws NonFiniteError (error.h) "NAME contains NaN at [i, j, k]" (or inf / -inf) for
/// the first non-finite value of `values`, a row-major array of shape `shape`
/// (values.size() == product of shape). T is float or double. The engine checks weights
/// and the arguments of every pass this way; a caller checks its own arrays with it
/// before any work, as the command-line tool does with every file it reads.
template <class T>
void check_finite(std::span<const T> values, const std::vector<int64_t>& shape,
                  std::string_view name);

}  // namespace rnnwave
