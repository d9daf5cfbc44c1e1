// rnnwave/error.h — the one exception type of the library.
#pragma once

#include <stdexcept>
#include <string>

namespace rnnwave {

/// Whose problem an Error is, so that callers (the Python module) can report it with the
/// right type without parsing messages:
/// - invalid_input: the caller's values — a shape, a size, an option, a path that cannot
///   be used, a file's contents, a non-finite number. Fixing the call fixes it. Most
///   errors are this one, hence the default.
/// - out_of_memory: a valid request too large for this machine, refused before anything
///   is allocated (check_fits_in_memory). Kept apart from invalid_input because the same
///   call may succeed elsewhere, and from runtime because it is the refusal a failed
///   allocation (std::bad_alloc) would otherwise give later: Python raises MemoryError
///   for both, as numpy does for an array too large to allocate.
/// - runtime: the system failed while doing a valid thing — writing or syncing an output
///   file (disk full, permission denied, a failed rename), reading a file that went bad
///   midway — or an internal failure of rnnwave itself. The call was right; retrying
///   elsewhere or later may work.
enum class ErrorKind { invalid_input, out_of_memory, runtime };

/// Thrown for every problem the library detects: bad shapes, bad sizes, bad files,
/// non-finite input, failed writes. The message names the offending item and the values
/// involved, e.g. "weight_hh_l1: expected shape [512, 128], got [512, 64]".
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ErrorKind kind = ErrorKind::invalid_input)
      : std::runtime_error(message), kind_(kind) {}

  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

/// The Error for an array holding NaN or infinity ("grad_output contains -inf at [4, 0,
/// 0]"): in an input it is bad data; inside a training step, where every array comes from
/// the model itself, it means training diverged (the Trainer says so).
class NonFiniteError : public Error {
 public:
  using Error::Error;
};

}  // namespace rnnwave
