#include <gtest/gtest.h>

#include "rnnwave/cell.h"
#include "rnnwave/error.h"
#include "rnnwave/model.h"
#include "rnnwave/schedule.h"

namespace rnnwave {
namespace {

TEST(CellKind, NamesRoundTrip) {
  for (CellKind kind : kAllCellKinds) EXPECT_EQ(parse_cell_kind(to_string(kind)), kind);
  EXPECT_THROW(parse_cell_kind("lstmm"), Error);
}

TEST(Schedule, NamesRoundTrip) {
  for (Schedule s : kAllSchedules) EXPECT_EQ(parse_schedule(to_string(s)), s);
  EXPECT_THROW(parse_schedule("fast"), Error);
}

TEST(ModelSpec, ParameterNamesAndShapesFollowPyTorch) {
  ModelSpec spec{CellKind::gru, 5, 7, 2, true};
  const auto params = parameter_list(spec);
  ASSERT_EQ(params.size(), 2u * 2u * 4u);
  EXPECT_EQ(params[0].name, "weight_ih_l0");
  EXPECT_EQ(params[0].shape, (std::vector<int64_t>{21, 5}));
  EXPECT_EQ(params[5].name, "weight_hh_l0_reverse");
  EXPECT_EQ(params[8].name, "weight_ih_l1");
  EXPECT_EQ(params[8].shape, (std::vector<int64_t>{21, 14}));
  EXPECT_EQ(params[15].name, "bias_hh_l1_reverse");
  EXPECT_EQ(params[15].shape, (std::vector<int64_t>{21}));
}

TEST(ModelSpec, AbsurdSizesAreRefusedWithTheNumbers) {
  ModelSpec spec{CellKind::lstm, 10, 1000000000, 1, false};
  try {
    spec.validate();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs"), std::string::npos) << e.what();
  }
  EXPECT_THROW((ModelSpec{CellKind::lstm, 0, 4, 1, false}.validate()), Error);
  EXPECT_THROW((ModelSpec{CellKind::lstm, 4, 4, -1, false}.validate()), Error);
}

}  // namespace
}  // namespace rnnwave
