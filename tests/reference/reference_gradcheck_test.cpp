// The reference backward pass against central finite differences, in double precision.
//
// Every gradient entry (input, h0, c0 and every parameter) of every cell kind and LSTM variant
// x layers {1,2,3} x {uni, bi, reverse-only} x {given h0/c0, none} x {equal lengths, variable
// lengths in unsorted order} is
// compared with (loss(v + eps) - loss(v - eps)) / (2 eps) on a tiny problem, where
// loss = sum(output * grad_output) + sum(h_n * grad_hn) + sum(c_n * grad_cn) with all three
// nonzero. grad_output is nonzero at padded positions too: those entries must not contribute.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "reference/reference_rnn.h"
#include "reference/reference_test_support.h"

namespace rnnref::test_support {
namespace {

struct GradCase {
  Variant variant;
  int layers;
  int directions;         // 0: one direction, 1: bidirectional, 2: reverse only
  bool initial_state;     // h0 (and c0) given, else empty (zeros)
  bool variable_lengths;  // lengths {3, 5, 1, 4} with T = 5, else all T = 4 (lengths empty)
};

std::string case_name(const GradCase& c) {
  static const char* const kDirections[] = {"_uni", "_bi", "_rev"};
  return variant_name(c.variant) + "_L" + std::to_string(c.layers) + kDirections[c.directions] +
         (c.initial_state ? "_h0" : "_zero_h0") + (c.variable_lengths ? "_varlen" : "_equal");
}

// How gtest prints a case (e.g. in --gtest_list_tests).
void PrintTo(const GradCase& c, std::ostream* os) { *os << case_name(c); }

std::vector<GradCase> all_grad_cases() {
  std::vector<GradCase> cases;
  for (const Variant& variant : kAllVariants) {
    for (int layers : {1, 2, 3}) {
      for (int directions : {0, 1, 2}) {
        for (bool initial_state : {true, false}) {
          for (bool variable_lengths : {false, true}) {
            cases.push_back({variant, layers, directions, initial_state, variable_lengths});
          }
        }
      }
    }
  }
  return cases;
}

// One tensor whose gradient is checked: the values to perturb and the analytic gradient.
struct Target {
  std::string name;
  std::vector<double>* values;
  const std::vector<double>* analytic;
};

// sum((a - b) * w): the change of one loss term, without the cancellation of two large sums.
double dot_of_difference(const std::vector<double>& a, const std::vector<double>& b,
                         const std::vector<double>& w) {
  double sum = 0.0;
  for (size_t i = 0; i < w.size(); ++i) sum += (a[i] - b[i]) * w[i];
  return sum;
}

constexpr double kEps = 1e-6;
// Error of one entry: |fd - analytic| / max(|fd|, |analytic|, kFloor). The rounding noise of
// the difference quotient is up to ~1e-9 here; the floor keeps it from counting as a relative
// error where the gradient is (close to) zero: below |gradient| = kFloor the check is on the
// absolute error, < kFloor * kTolerance. Observed worst case: ~1e-7.
constexpr double kFloor = 1e-2;
constexpr double kTolerance = 1e-6;

class ReferenceGradCheck : public ::testing::TestWithParam<GradCase> {};

TEST_P(ReferenceGradCheck, MatchesCentralDifferences) {
  const GradCase& c = GetParam();
  Config config;
  config.input_size = 3;
  config.hidden_size = 1 + c.layers;  // H = 2, 3, 4
  config.layers = c.layers;
  config.bidirectional = c.directions == 1;
  config.reverse = c.directions == 2;
  apply_variant(config, c.variant);
  const int steps = c.variable_lengths ? 5 : 4;
  const int batch = c.variable_lengths ? 4 : 3;
  std::vector<int64_t> lengths;
  if (c.variable_lengths) lengths = {3, 5, 1, 4};

  std::mt19937_64 rng(std::hash<std::string>()(case_name(c)));
  Params params = random_params(config, rng);
  Problem problem = random_problem(config, steps, batch, lengths, c.initial_state, rng);
  const bool lstm = config.cell == Cell::lstm;
  const int DH = directions(config) * output_size(config);
  const std::vector<double> grad_output =
      random_vector(static_cast<size_t>(steps) * batch * DH, rng, 1.0);
  const std::vector<double> grad_hn = random_vector(state_size(config, batch), rng, 1.0);
  const std::vector<double> grad_cn =
      lstm ? random_vector(cell_state_size(config, batch), rng, 1.0) : std::vector<double>();

  const Gradients grad = backward(config, params, problem, grad_output, grad_hn, grad_cn);
  ASSERT_EQ(grad.input.size(), problem.input.size());
  ASSERT_EQ(grad.h0.size(), state_size(config, batch));
  ASSERT_EQ(grad.c0.size(), lstm ? cell_state_size(config, batch) : 0u);
  ASSERT_EQ(grad.params.layers.size(), params.layers.size());

  // Without h0/c0 the gradient is the one at the zero state: perturb explicit zeros.
  if (!c.initial_state) {
    problem.h0.assign(state_size(config, batch), 0.0);
    if (lstm) problem.c0.assign(cell_state_size(config, batch), 0.0);
  }
  std::vector<Target> targets = {{"input", &problem.input, &grad.input},
                                 {"h0", &problem.h0, &grad.h0}};
  if (lstm) targets.push_back({"c0", &problem.c0, &grad.c0});
  for (size_t ld = 0; ld < params.layers.size(); ++ld) {
    LayerParams& p = params.layers[ld];
    const LayerParams& g = grad.params.layers[ld];
    const std::string prefix = "layers[" + std::to_string(ld) + "].";
    targets.push_back({prefix + "w_ih", &p.w_ih, &g.w_ih});
    targets.push_back({prefix + "w_hh", &p.w_hh, &g.w_hh});
    targets.push_back({prefix + "b_ih", &p.b_ih, &g.b_ih});
    targets.push_back({prefix + "b_hh", &p.b_hh, &g.b_hh});
    targets.push_back({prefix + "w_hr", &p.w_hr, &g.w_hr});
    targets.push_back({prefix + "w_ph", &p.w_ph, &g.w_ph});
  }

  double worst = 0.0;
  std::string worst_entry = "none";
  size_t checked = 0;
  for (const Target& target : targets) {
    ASSERT_EQ(target.analytic->size(), target.values->size()) << target.name;
    for (size_t i = 0; i < target.values->size(); ++i) {
      double& v = (*target.values)[i];
      const double saved = v;
      v = saved + kEps;
      const ForwardResult plus = forward(config, params, problem);
      v = saved - kEps;
      const ForwardResult minus = forward(config, params, problem);
      v = saved;
      const double fd = (dot_of_difference(plus.output, minus.output, grad_output) +
                         dot_of_difference(plus.hn, minus.hn, grad_hn) +
                         dot_of_difference(plus.cn, minus.cn, grad_cn)) /
                        (2.0 * kEps);
      const double an = (*target.analytic)[i];
      const double err = std::abs(fd - an) / std::max({std::abs(fd), std::abs(an), kFloor});
      if (err > worst) {
        worst = err;
        worst_entry = target.name + "[" + std::to_string(i) + "]: analytic " + std::to_string(an) +
                      ", finite difference " + std::to_string(fd);
      }
      ++checked;
    }
  }
  std::printf("%s: %zu entries, max relative error %.3g\n", case_name(c).c_str(), checked, worst);
  EXPECT_LT(worst, kTolerance) << "worst entry " << worst_entry;
}

INSTANTIATE_TEST_SUITE_P(AllCases, ReferenceGradCheck, ::testing::ValuesIn(all_grad_cases()),
                         [](const ::testing::TestParamInfo<GradCase>& param_info) {
                           return case_name(param_info.param);
                         });

}  // namespace
}  // namespace rnnref::test_support
