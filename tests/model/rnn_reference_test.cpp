// The library (float32) against the independent double-precision reference, for every
// cell x layers x directions x initial state x lengths x schedule x thread count.
#include <gtest/gtest.h>

#include <cmath>

#include "reference/reference_rnn.h"
#include "support/exec_options.h"
#include "support/problem.h"

namespace rnnwave::testing {
namespace {

rnnref::Config to_reference(const ModelSpec& spec) {
  const rnnref::Cell cells[] = {rnnref::Cell::rnn_tanh, rnnref::Cell::rnn_relu,
                                rnnref::Cell::lstm, rnnref::Cell::gru};
  return {cells[static_cast<int>(spec.cell)], int(spec.input_size), int(spec.hidden_size),
          int(spec.layers), spec.bidirectional};
}

template <class S>
std::vector<double> widen(const S& values) {
  return std::vector<double>(values.begin(), values.end());
}

rnnref::Params to_reference(const Weights& w) {
  rnnref::Params params;
  for (int64_t l = 0; l < w.spec().layers; ++l) {
    for (int64_t d = 0; d < w.spec().directions(); ++d) {
      params.layers.push_back({widen(w.get(ParamKind::weight_ih, l, d)),
                               widen(w.get(ParamKind::weight_hh, l, d)),
                               widen(w.get(ParamKind::bias_ih, l, d)),
                               widen(w.get(ParamKind::bias_hh, l, d))});
    }
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
  if (c.cell == CellKind::lstm) {
    EXPECT_LT(relative_error(out.cn, expected.cn), kTolerance) << "cn";
    EXPECT_LT(relative_error(g.c0, grads.c0), kTolerance) << "grad c0";
  }
  for (const ParamInfo& info : weights.params()) {
    const auto& ref = grads.params.layers[info.layer * p.spec.directions() + info.direction];
    const std::vector<double>* expected_grad[] = {&ref.w_ih, &ref.w_hh, &ref.b_ih, &ref.b_hh};
    const auto actual = g.weights.get(info.name);
    EXPECT_LT(relative_error(std::vector<float>(actual.begin(), actual.end()),
                             *expected_grad[static_cast<int>(info.kind)]),
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
