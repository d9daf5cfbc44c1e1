// What a call that should fail said.
#pragma once

#include <string>

#include "rnnwave/error.h"

namespace rnnwave::testing {

/// The message of the Error `f` throws, or "(no error)" if it throws none (a test then
/// fails on the message it expected, showing this).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace rnnwave::testing
