// The subset of Python literal syntax found in .npy headers, parsed without Python.
//
// Why a real parser: the header is a Python dict literal ("{'descr': '<f4',
// 'fortran_order': False, 'shape': (2, 3), }") that numpy reads with ast.literal_eval.
// Files written by other tools differ in spacing, quoting, key order and trailing commas;
// a pattern match would accept some malformed headers and reject some valid ones.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/strings.h"

namespace rnnwave {

/// One parsed literal. Only the kinds that can appear in an .npy header exist; floats,
/// sets, bytes and expressions are syntax errors.
struct PyValue {
  enum class Kind { string, integer, boolean, none, tuple, list, dict };

  Kind kind = Kind::none;
  std::string text;                                    // Kind::string
  int64_t integer = 0;                                 // Kind::integer
  bool boolean = false;                                // Kind::boolean
  std::vector<PyValue> items;      // Kind::tuple, Kind::list; Kind::dict: the values
  std::vector<std::string> keys;   // Kind::dict: keys[i] maps to items[i] (string keys only)
};

/// Parses `text` (surrounding whitespace allowed) as one literal. Throws Error with the
/// offset and what was expected, e.g. "expected ',' or '}' at offset 31". Integers outside
/// int64 and nesting deeper than 32 levels are errors (the latter so that hostile input
/// cannot exhaust the stack).
PyValue parse_python_literal(std::string_view text);

/// The value written back as Python would print it ("(3, 4)", "'<f4'", "True"), for
/// messages: strings through quote_for_message, and the whole cut after about 200
/// characters.
std::string to_python(const PyValue& value);

}  // namespace rnnwave
