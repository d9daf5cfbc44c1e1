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

/// The Error for an array holding NaN or infinity ("grad_output contains -inf at [4, 0,
/// 0]"): in an input it is bad data; inside a training step, where every array comes from
/// the model itself, it means training diverged (the Trainer says so).
class NonFiniteError : public Error {
 public:
  using Error::Error;
};

}  // namespace rnnwave
