// Finite-difference checks, in double precision, of every gradient the library computes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "support/exec_options.h"
#include "support/problem.h"

namespace rnnwave::testing {
namespace {

struct Checker {
  double worst = 0;
  void expect_close(double analytic, double numeric, const std::string& what) {
    // Central differences with eps = 1e-5 in double are good to about 1e-10 here
    // (truncation ~eps^2, rounding ~1e-16*|loss|/eps); a wrong gradient is off by far more.
    const double error = std::abs(analytic - numeric) / (1e-2 + std::abs(numeric));
    worst = std::max(worst, error);
    EXPECT_LT(error, 1e-6) << what << ": analytic " << analytic << ", finite difference "
                           << numeric;
  }
};

/// The math is the same under every schedule (that is checked against the reference for
/// all of them); finite differences need hundreds of passes per case, so they run on the
/// sequential schedule and on the wavefront with every degree of freedom exercised.
std::vector<ExecOptions> gradcheck_exec_options() {
  ExecOptions wavefront{Schedule::wavefront, 2};
  wavefront.step_block = 2;
  wavefront.batch_splits = 2;
  return {ExecOptions{Schedule::sequential, 1}, wavefront};
}

/// Steps split by hidden units need H > 16: a separate check on a wider model, every
/// gradient but only a sample of the weights' entries (they are many).
TEST(GradCheckHiddenParts, GradientsMatchFiniteDifferencesWhenStepsAreSplitByUnits) {
  for (const CellVariant& variant : all_cell_variants()) {
    Case c = case_of(variant);
    c.layers = 2;
    c.bidirectional = true;
    c.with_h0 = true;
    c.variable_lengths = true;
    c.hidden_size = 40;
    Problem<double> p = make_problem<double>(c, 31);
    BasicWeights<double> weights = BasicWeights<double>::uniform(p.spec, 4);
    ExecOptions options{Schedule::wavefront, 2};
    options.hidden_splits = 3;
    options.batch_splits = 2;
    BasicRnn<double> rnn(weights, options);
    // Cells whose step has dependent products run unsplit; the others in three parts.
    ASSERT_EQ(rnn.plan(p.steps, p.batch).hidden_splits, splits_by_units(variant) ? 3 : 1)
        << variant_name(variant);
    const Grads<double> g = run_backward(rnn, p);
    auto eval = [&] { return test_loss(rnn, p); };
    Checker check;
    for (size_t i = 0; i < p.input.size(); ++i) {
      check.expect_close(g.input[i], central_difference(p.input[i], eval), "input");
    }
    for (size_t i = 0; i < p.h0.size(); i += 3) {
      check.expect_close(g.h0[i], central_difference(p.h0[i], eval), "h0");
    }
    for (size_t i = 0; i < p.c0.size(); i += 3) {
      check.expect_close(g.c0[i], central_difference(p.c0[i], eval), "c0");
    }
    for (const ParamInfo& info : weights.params()) {
      auto values = weights.get(info.name);
      const auto grad = g.weights.get(info.name);
      for (size_t i = 0; i < values.size(); i += 97) {
        const double numeric = central_difference(values[i], [&] {
          rnn.set_weights(weights);
          return test_loss(rnn, p);
        });
        check.expect_close(grad[i], numeric, info.name + "[" + std::to_string(i) + "]");
      }
      rnn.set_weights(weights);
    }
  }
}

class GradCheck : public ::testing::TestWithParam<std::tuple<Case, ExecOptions>> {};

TEST_P(GradCheck, EveryGradientMatchesFiniteDifferences) {
  const auto& [c, options] = GetParam();
  Problem<double> p = make_problem<double>(c, 17);
  BasicWeights<double> weights = BasicWeights<double>::uniform(p.spec, 5);
  BasicRnn<double> rnn(weights, options);
  const Grads<double> g = run_backward(rnn, p);
  auto eval = [&] { return test_loss(rnn, p); };
  Checker check;

  for (size_t i = 0; i < p.input.size(); ++i) {
    check.expect_close(g.input[i], central_difference(p.input[i], eval), "input[" + std::to_string(i) + "]");
  }
  if (c.with_h0) {
    for (size_t i = 0; i < p.h0.size(); ++i) {
      check.expect_close(g.h0[i], central_difference(p.h0[i], eval), "h0[" + std::to_string(i) + "]");
    }
    for (size_t i = 0; i < p.c0.size(); ++i) {
      check.expect_close(g.c0[i], central_difference(p.c0[i], eval), "c0[" + std::to_string(i) + "]");
    }
  }
  for (const ParamInfo& info : weights.params()) {
    auto values = weights.get(info.name);
    const auto grad = g.weights.get(info.name);
    for (size_t i = 0; i < values.size(); ++i) {
      const double numeric = central_difference(values[i], [&] {
        rnn.set_weights(weights);
        return test_loss(rnn, p);
      });
      check.expect_close(grad[i], numeric, info.name + "[" + std::to_string(i) + "]");
    }
    rnn.set_weights(weights);
  }
  char worst[32];
  std::snprintf(worst, sizeof worst, "%.3e", check.worst);
  RecordProperty("worst_relative_error", worst);
}

/// With inter-layer dropout the loss is that of the training forward, whose masks are a
/// function of the seed: finite differences see the same masks as the backward pass.
TEST(GradCheckDropout, EveryGradientMatchesFiniteDifferencesThroughTheMasks) {
  for (const CellVariant& variant : all_cell_variants()) {
    for (const ExecOptions& options : gradcheck_exec_options()) {
      Case c = case_of(variant);
      c.layers = 3;
      c.bidirectional = true;
      c.with_h0 = true;
      c.variable_lengths = true;
      Problem<double> p = make_problem<double>(c, 23);
      const BasicWeights<double> weights = BasicWeights<double>::uniform(p.spec, 9);
      const BasicRnn<double> rnn(weights, options);
      auto training_loss = [&] {
        ForwardOut<double> out;
        ForwardArgs<double> args = forward_args(p, out);
        args.dropout = 0.4;
        args.dropout_seed = 77;
        BasicWorkspace<double> ws;
        rnn.forward(args, ws);
        double sum = 0;
        for (size_t i = 0; i < out.output.size(); ++i) sum += out.output[i] * p.grad_output[i];
        for (size_t i = 0; i < out.hn.size(); ++i) sum += out.hn[i] * p.grad_hn[i];
        for (size_t i = 0; i < out.cn.size(); ++i) sum += out.cn[i] * p.grad_cn[i];
        return sum;
      };
      // Analytic gradients of the same training pass.
      ForwardOut<double> out;
      ForwardArgs<double> args = forward_args(p, out);
      args.dropout = 0.4;
      args.dropout_seed = 77;
      BasicWorkspace<double> ws;
      rnn.forward(args, ws);
      std::vector<double> grad_input(p.input.size());
      BackwardArgs<double> back;
      back.grad_output = p.grad_output;
      back.grad_hn = p.grad_hn;
      back.grad_cn = p.grad_cn;
      back.grad_input = grad_input;
      rnn.backward(back, ws);
      Checker check;
      for (size_t i = 0; i < p.input.size(); ++i) {
        check.expect_close(grad_input[i], central_difference(p.input[i], training_loss),
                           variant_name(variant) + " input[" + std::to_string(i) + "]");
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllCells, GradCheck,
                         ::testing::Combine(::testing::ValuesIn(all_cases()),
                                            ::testing::ValuesIn(gradcheck_exec_options())),
                         [](const auto& param_info) {
                           return case_name(std::get<0>(param_info.param)) + "_" +
                                  exec_name(std::get<1>(param_info.param));
                         });

}  // namespace
}  // namespace rnnwave::testing
