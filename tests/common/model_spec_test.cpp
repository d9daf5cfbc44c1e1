#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rnnwave/cell.h"
#include "rnnwave/error.h"
#include "rnnwave/model.h"
#include "rnnwave/schedule.h"
#include "support/errors.h"

namespace rnnwave {
namespace {

using testing::error_of;

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

TEST(ModelSpec, VariantsAddTheirParametersAfterPyTorchsFour) {
  ModelSpec proj{CellKind::lstm, 5, 7, 2, true};
  proj.proj_size = 3;
  const auto params = parameter_list(proj);
  ASSERT_EQ(params.size(), 2u * 2u * 5u);
  // torch.nn.LSTM(proj_size=3).state_dict() order and shapes.
  EXPECT_EQ(params[1].shape, (std::vector<int64_t>{28, 3}));  // weight_hh: [4H, P]
  EXPECT_EQ(params[4].name, "weight_hr_l0");
  EXPECT_EQ(params[4].shape, (std::vector<int64_t>{3, 7}));
  EXPECT_EQ(params[4].kind, ParamKind::other);
  EXPECT_EQ(params[4].key, "weight_hr");
  EXPECT_EQ(params[10].shape, (std::vector<int64_t>{28, 6}));  // weight_ih_l1: [4H, D*P]
  EXPECT_EQ(proj.output_size(), 3);

  ModelSpec peep{CellKind::lstm, 5, 7, 1, false};
  peep.peepholes = true;
  EXPECT_EQ(parameter_list(peep)[4].name, "weight_ph_l0");
  EXPECT_EQ(parameter_list(peep)[4].shape, (std::vector<int64_t>{3, 7}));
  EXPECT_EQ(describe(peep), "lstm l1 d1 i5 h7 peepholes");
  EXPECT_EQ(describe(proj), "lstm l2 d2 i5 h7 p3");

  ModelSpec reverse{CellKind::gru_rb, 5, 7, 2, false};
  reverse.reverse = true;
  EXPECT_EQ(parameter_list(reverse)[0].name, "weight_ih_l0_reverse");
  EXPECT_EQ(parameter_list(reverse)[7].name, "bias_hh_l1_reverse");
  EXPECT_EQ(reverse.directions(), 1);
  EXPECT_EQ(describe(reverse), "gru_rb l2 d1 i5 h7 reverse");
}

TEST(ModelSpec, VariantsACellDoesNotHaveAreRefusedByName) {
  ModelSpec spec{CellKind::gru, 5, 7, 1, false};
  spec.proj_size = 3;
  EXPECT_NE(error_of([&] { spec.validate(); }).find("only lstm"), std::string::npos);
  spec = ModelSpec{CellKind::lstm, 5, 7, 1, false};
  spec.proj_size = 7;
  EXPECT_NE(error_of([&] { spec.validate(); }).find("proj_size"), std::string::npos);
  spec.proj_size = 3;
  spec.peepholes = true;
  EXPECT_NE(error_of([&] { spec.validate(); }).find("peepholes"), std::string::npos);
  spec = ModelSpec{CellKind::lstm, 5, 7, 1, true};
  spec.reverse = true;
  EXPECT_NE(error_of([&] { spec.validate(); }).find("reverse"), std::string::npos);
}

}  // namespace
}  // namespace rnnwave
