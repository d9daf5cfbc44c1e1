#include "common/finite.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "io/expect_error.h"

namespace rnnwave {
namespace {

TEST(CheckFinite, AcceptsLargeFiniteArraysIncludingExtremes) {
  std::vector<float> values(100000, 1.5f);
  values[7] = std::numeric_limits<float>::max();
  values[8] = -std::numeric_limits<float>::max();
  values[9] = std::numeric_limits<float>::denorm_min();
  values[10] = -0.0f;
  EXPECT_NO_THROW(check_finite<float>(values, {100000}, "x"));
}

TEST(CheckFinite, NamesTheFirstOffenderEvenFarIntoALargeArray) {
  std::vector<float> values(100 * 200, 0.25f);
  values[10001] = std::numeric_limits<float>::quiet_NaN();  // [50, 1]
  values[19999] = std::numeric_limits<float>::infinity();
  EXPECT_ERROR_CONTAINING(check_finite<float>(values, {100, 200}, "grad"), "grad contains NaN at [50, 1]");
  values[10001] = 0;
  EXPECT_ERROR_CONTAINING(check_finite<float>(values, {100, 200}, "grad"), "grad contains inf at [99, 199]");
}

TEST(CheckFinite, DoublesToo) {
  std::vector<double> values(5000, -2.0);
  EXPECT_NO_THROW(check_finite<double>(values, {5000}, "d"));
  values[4097] = -std::numeric_limits<double>::infinity();
  EXPECT_ERROR_CONTAINING(check_finite<double>(values, {5000}, "d"), "d contains -inf at [4097]");
}

}  // namespace
}  // namespace rnnwave
