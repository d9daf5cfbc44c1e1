// The library (float32) against the independent double-precision reference, for every
// cell x layers x directions x initial state x lengths x schedule x thread count.
#include <gtest/gtest.h>

#include <cmath>
#include <iterator>
#include <stdexcept>
#include <string>

#include "reference/reference_rnn.h"
#include "support/exec_options.h"
#include "support/problem.h"

namespace rnnwave::testing {
namespace {

rnnref::Config to_reference(const ModelSpec& spec) {
  const rnnref::Cell cells[] = {rnnref::Cell::rnn_tanh, rnnref::Cell::rnn_relu,
                                rnnref::Cell::lstm, rnnref::Cell::gru, rnnref::Cell::gru_rb};
  static_assert(std::size(cells) == kCellKindCount);
  rnnref::Config config{cells[static_cast<int>(spec.cell)], int(spec.input_size),
                        int(spec.hidden_size), int(spec.layers), spec.bidirectional};
  config.proj_size = int(spec.proj_size);
  config.peepholes = spec.peepholes;
  config.reverse = spec.reverse;
  return config;
}

template <class S>
std::vector<double> widen(const S& values) {
  return std::vector<double>(values.begin(), values.end());
}

/// The reference's tensor of a parameter, by its key.
std::vector<double>& reference_param(rnnref::LayerParams& p, const std::string& key) {
  if (key == "weight_ih") return p.w_ih;
  if (key == "weight_hh") return p.w_hh;
  if (key == "bias_ih") return p.b_ih;
  if (key == "bias_hh") return p.b_hh;
  if (key == "weight_hr") return p.w_hr;
  if (key == "weight_ph") return p.w_ph;
  throw std::invalid_argument("no reference parameter for key " + key);
}

rnnref::Params to_reference(const Weights& w) {
  rnnref::Params params;
  params.layers.resize(static_cast<size_t>(w.spec().layers * w.spec().directions()));
  for (size_t i = 0; i < w.params().size(); ++i) {
    const ParamInfo& info = w.params()[i];
    reference_param(params.layers[info.layer * w.spec().directions() + info.direction], info.key) =
        widen(w.values(i));
  }
  return params;
}

/// max |actual - expected| / max |expected|: float32 results against a double oracle.
double relative_error(const std::vector<float>& actual, const std::vector<double>& expected) {
  EXPECT_EQ(actual.size(), expected.size());
  double diff = 0, scale = 1e-30;
  for (size_t i = 0; i < std::min(actual.size(), expected.size()); ++i) {
    diff = std::max(diff, std::abs(double(actual[i]) - expected[i]));
    scale = std::max(scale, std::abs(expected[i]));
  }
  return diff / scale;
}

constexpr double kTolerance = 2e-5;

class ReferenceAgreement : public ::testing::TestWithParam<std::tuple<Case, ExecOptions>> {};

TEST_P(ReferenceAgreement, ForwardAndEveryGradient) {
  auto [c, options] = GetParam();
  c.input_size = 5;  // I != H, and sizes that are not multiples of a vector width
  c.hidden_size = 37;  // three kernel panels, the last one partial
  c.steps = 6;
  c.batch = 5;
  const Problem<float> p = make_problem<float>(c, 3);
  const Weights weights = Weights::uniform(p.spec, 11);
  const Rnn rnn(weights, options);
  ForwardOut<float> out;
  const Grads<float> g = run_backward(rnn, p, &out);

  const rnnref::Config config = to_reference(p.spec);
  const rnnref::Params params = to_reference(weights);
  rnnref::Problem problem{int(p.steps), int(p.batch), widen(p.input), p.lengths, widen(p.h0),
                          widen(p.c0)};
  const auto expected = rnnref::forward(config, params, problem);
  const auto grads = rnnref::backward(config, params, problem, widen(p.grad_output),
                                      widen(p.grad_hn), widen(p.grad_cn));

  EXPECT_LT(relative_error(out.output, expected.output), kTolerance) << "output";
  EXPECT_LT(relative_error(out.hn, expected.hn), kTolerance) << "hn";
  EXPECT_LT(relative_error(g.input, grads.input), kTolerance) << "grad input";
  EXPECT_LT(relative_error(g.h0, grads.h0), kTolerance) << "grad h0";
  if (has_cell_state(c.cell)) {
    EXPECT_LT(relative_error(out.cn, expected.cn), kTolerance) << "cn";
    EXPECT_LT(relative_error(g.c0, grads.c0), kTolerance) << "grad c0";
  }
  rnnref::Params expected_grads = grads.params;
  for (const ParamInfo& info : weights.params()) {
    auto& ref = expected_grads.layers[info.layer * p.spec.directions() + info.direction];
    const auto actual = g.weights.get(info.name);
    EXPECT_LT(relative_error(std::vector<float>(actual.begin(), actual.end()),
                             reference_param(ref, info.key)),
              kTolerance)
        << info.name;
  }
}

INSTANTIATE_TEST_SUITE_P(AllCells, ReferenceAgreement,
                         ::testing::Combine(::testing::ValuesIn(all_cases()),
                                            ::testing::ValuesIn(tested_exec_options())),
                         [](const auto& param_info) {
                           return case_name(std::get<0>(param_info.param)) + "_" +
                                  exec_name(std::get<1>(param_info.param));
                         });

}  // namespace
}  // namespace rnnwave::testing
