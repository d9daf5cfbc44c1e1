// Message building for errors: cat("expected ", a, ", got ", b).
#pragma once

#include <sstream>
#include <string>
#include <string_view>
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

/// Throws Error of the given kind (error.h says which is which) with the concatenated
/// message.
template <class... Args>
[[noreturn]] void fail_as(ErrorKind kind, Args&&... args) {
  throw Error(cat(std::forward<Args>(args)...), kind);
}

/// "12.0 GiB" — a byte count for messages.
std::string format_bytes(double bytes);

/// `text` made safe to quote in a one-line message: in single quotes, every byte outside
/// printable ASCII written as \xNN (control characters such as ESC and BEL, newlines, and
/// the bytes of non-ASCII characters), quotes and backslashes escaped, and text longer
/// than `max_length` bytes cut there with "..." and its full length. Every value read
/// from a file (a word, a key, a member name, a file name found in a folder) reaches a
/// message through this one function, so no file can drive the terminal or flood it.
std::string quote_for_message(std::string_view text, size_t max_length = 80);

}  // namespace rnnwave
