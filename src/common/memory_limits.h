// Refusing absurd sizes before allocating them.
#pragma once

#include <cstdint>
#include <string_view>

namespace rnnwave {

/// Physical memory of this machine in bytes.
int64_t physical_memory_bytes();

/// a * b, or throws Error naming `what` if the product overflows int64 or is negative.
int64_t checked_mul(int64_t a, int64_t b, std::string_view what);

/// Throws Error if `bytes` (needed for `what`) exceeds the physical memory, stating both.
void check_fits_in_memory(double bytes, std::string_view what);

}  // namespace rnnwave
