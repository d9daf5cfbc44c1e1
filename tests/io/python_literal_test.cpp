// The Python-literal parser behind .npy headers, on its own.
#include "io/python_literal.h"

#include <gtest/gtest.h>

#include "io/expect_error.h"

namespace rnnwave {
namespace {

TEST(PythonLiteral, ParsesTheKindsFoundInNpyHeaders) {
  const PyValue value = parse_python_literal(
      " {'a': 'x\\'y', \"b\": (1, -2, +3,), 'c': [], 'd': (), 'e': True, 'f': None, 'g': (7,), 'h': (8)} ");
  ASSERT_EQ(value.kind, PyValue::Kind::dict);
  ASSERT_EQ(value.keys.size(), 8u);
  EXPECT_EQ(value.items[0].text, "x'y");
  EXPECT_EQ(to_python(value.items[1]), "(1, -2, 3)");
  EXPECT_EQ(to_python(value.items[2]), "[]");
  EXPECT_EQ(to_python(value.items[3]), "()");
  EXPECT_EQ(to_python(value.items[4]), "True");
  EXPECT_EQ(to_python(value.items[5]), "None");
  EXPECT_EQ(to_python(value.items[6]), "(7,)");
  EXPECT_EQ(value.items[7].kind, PyValue::Kind::integer);  // (8) is not a tuple
}

TEST(PythonLiteral, IntegersCoverExactlyInt64) {
  EXPECT_EQ(parse_python_literal("9223372036854775807").integer, INT64_MAX);
  EXPECT_EQ(parse_python_literal("-9223372036854775808").integer, INT64_MIN);
  EXPECT_ERROR_CONTAINING(parse_python_literal("9223372036854775808"), "integer out of the int64 range at offset 0");
  EXPECT_ERROR_CONTAINING(parse_python_literal("-9223372036854775809"), "int64 range");
}

TEST(PythonLiteral, ErrorsGiveTheOffset) {
  EXPECT_ERROR_CONTAINING(parse_python_literal("(1, 2"), "expected ',' or ')' at offset 5");
  EXPECT_ERROR_CONTAINING(parse_python_literal("'abc"), "unterminated string at offset 4");
  EXPECT_ERROR_CONTAINING(parse_python_literal("'a\\qb'"), "unsupported escape sequence '\\\\q' at offset 2");
  EXPECT_ERROR_CONTAINING(parse_python_literal("{1: 2}"), "expected a string key but found character '1' at offset 1");
  EXPECT_ERROR_CONTAINING(parse_python_literal("true"), "unexpected name 'true' at offset 0");
  EXPECT_ERROR_CONTAINING(parse_python_literal("1, 2"), "unexpected character ',' after the value at offset 1");
}

TEST(PythonLiteral, DeepNestingIsRefusedInsteadOfExhaustingTheStack) {
  EXPECT_NO_THROW(parse_python_literal(std::string(32, '[') + std::string(32, ']')));
  EXPECT_ERROR_CONTAINING(parse_python_literal(std::string(100000, '[')), "nested deeper than 32 levels");
}

TEST(PythonLiteral, ToPythonIsShortenedForMessages) {
  PyValue list;
  list.kind = PyValue::Kind::list;
  list.items.resize(100000);
  const std::string text = to_python(list);
  EXPECT_LT(text.size(), 300u);
  EXPECT_EQ(text.substr(0, 12), "[None, None,");
  EXPECT_EQ(text.substr(text.size() - 3), "...");
}

}  // namespace
}  // namespace rnnwave
