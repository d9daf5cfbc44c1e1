// EXPECT_ERROR_CONTAINING(statement, "part", ...): the statement throws rnnwave::Error
// whose one-line message contains every part. Any other exception, or none, fails.
// EXPECT_ERROR_KIND(statement, ErrorKind::runtime): it throws rnnwave::Error of that kind.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>

#include "rnnwave/error.h"

namespace rnnwave::testing {

inline ::testing::AssertionResult message_contains(const std::string& message,
                                                   std::initializer_list<std::string_view> parts) {
  if (message.find('\n') != std::string::npos) {
    return ::testing::AssertionFailure() << "message spans several lines: " << message;
  }
  for (std::string_view part : parts) {
    if (message.find(part) == std::string::npos) {
      return ::testing::AssertionFailure() << "message \"" << message << "\" lacks \"" << part << "\"";
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace rnnwave::testing

#define EXPECT_ERROR_CONTAINING(statement, ...)                                              \
  do {                                                                                       \
    try {                                                                                    \
      statement;                                                                             \
      ADD_FAILURE() << #statement " did not throw";                                          \
    } catch (const ::rnnwave::Error& error_) {                                               \
      EXPECT_TRUE(::rnnwave::testing::message_contains(error_.what(), {__VA_ARGS__}));       \
    }                                                                                        \
  } while (false)

#define EXPECT_ERROR_KIND(statement, expected_kind)                                          \
  do {                                                                                       \
    try {                                                                                    \
      statement;                                                                             \
      ADD_FAILURE() << #statement " did not throw";                                          \
    } catch (const ::rnnwave::Error& error_) {                                               \
      EXPECT_EQ(static_cast<int>(error_.kind()), static_cast<int>(expected_kind))            \
          << #statement " threw \"" << error_.what() << "\" of another kind";                \
    }                                                                                        \
  } while (false)
