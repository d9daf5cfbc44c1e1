// rnnwave/error.h — the one exception type of the library.
#pragma once

#include <stdexcept>
#include <string>

namespace rnnwave {

/// Thrown for every problem the library detects: bad shapes, bad sizes, bad files,
/// non-finite input. The message names the offending item and the values involved,
/// e.g. "weight_hh_l1: expected shape [512, 128], got [512, 64]".
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace rnnwave
