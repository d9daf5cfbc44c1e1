#include "common/strings.h"

#include <gtest/gtest.h>

#include <string>

#include "io/expect_error.h"

namespace rnnwave {
namespace {

TEST(Fail, ThrowsAnInvalidInputErrorUnlessToldTheKind) {
  EXPECT_ERROR_KIND(fail("a bad ", 1), ErrorKind::invalid_input);
  EXPECT_ERROR_KIND(fail_as(ErrorKind::runtime, "disk ", "full"), ErrorKind::runtime);
  EXPECT_ERROR_KIND(fail_as(ErrorKind::out_of_memory, "too big"), ErrorKind::out_of_memory);
  EXPECT_ERROR_CONTAINING(fail_as(ErrorKind::runtime, "disk ", "full"), "disk full");
  EXPECT_EQ(Error("x").kind(), ErrorKind::invalid_input);
  EXPECT_EQ(NonFiniteError("y").kind(), ErrorKind::invalid_input);
}

TEST(QuoteForMessage, EscapesEverythingButPrintableAscii) {
  EXPECT_EQ(quote_for_message("a'b\\c\n\x93"), "'a\\'b\\\\c\\x0a\\x93'");
  // A terminal title sequence (ESC ] 0 ; ... BEL) reaches the terminal as text.
  EXPECT_EQ(quote_for_message("\033]0;PWNED\007"), "'\\x1b]0;PWNED\\x07'");
  EXPECT_EQ(quote_for_message(std::string("a\0b", 3)), "'a\\x00b'");
  EXPECT_EQ(quote_for_message("caf\xc3\xa9"), "'caf\\xc3\\xa9'");
}

TEST(QuoteForMessage, ShortensLongTextAndSaysHowLongItWas) {
  EXPECT_EQ(quote_for_message("abcdef", 3), "'abc...' (6 bytes)");
  EXPECT_EQ(quote_for_message("abc", 3), "'abc'");
  const std::string quoted = quote_for_message(std::string(30 << 20, '\033'));
  EXPECT_EQ(quoted.size(), 2 + 80 * 4 + 3 + std::string(" (31457280 bytes)").size());
  EXPECT_EQ(quoted.find('\033'), std::string::npos);
}

}  // namespace
}  // namespace rnnwave
