// Rejecting NaN and infinity in inputs, with the position of the first offender:
// check_finite is public (rnnwave/finite.h); the index formatting stays private.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "rnnwave/finite.h"  // check_finite

namespace rnnwave {

/// The multi-index of flat position `flat` in a row-major shape, as "[t, n, i]".
std::string index_to_string(int64_t flat, const std::vector<int64_t>& shape);

}  // namespace rnnwave
