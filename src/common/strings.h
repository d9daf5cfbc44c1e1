// Message building for errors: cat("expected ", a, ", got ", b).
#pragma once

#include <sstream>
#include <string>
#include <utility>

#include "rnnwave/error.h"

namespace rnnwave {

template <class... Args>
std::string cat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}

/// Throws Error with the concatenated message.
template <class... Args>
[[noreturn]] void fail(Args&&... args) {
  throw Error(cat(std::forward<Args>(args)...));
}

/// "12.0 GiB" — a byte count for messages.
std::string format_bytes(double bytes);

}  // namespace rnnwave
