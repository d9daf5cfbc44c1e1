// ONNX's cell clip (ModelSpec::cell_clip) on every cell definition: gradients by finite
// differences in double with the clip binding, a bound that never binds giving the bits of
// no clip, and bad values refused. The forward against ONNX's equations is checked by the
// ONNX importer's tests (tests/onnx), whose float64 oracle clips the gate inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <sstream>

#include "cells/cell_table.h"
#include "rnnwave/error.h"
#include "support/problem.h"

namespace rnnwave::testing {
namespace {

constexpr double kClip = 0.3;  // pre-activations here reach about +-2: many are clipped

// The finite differences (support/problem.h, eps = 1e-5): a pre-activation within eps of
// +-clip would put a kink inside the difference and fail the check: the seeds are fixed,
// so these inputs have none (a failure after changing them would name the entry).

void expect_close(double analytic, double numeric, const std::string& what) {
  const double error = std::abs(analytic - numeric) / (1e-2 + std::abs(numeric));
  EXPECT_LT(error, 1e-6) << what << ": analytic " << analytic << ", finite difference " << numeric;
}

Case clip_case(const CellVariant& variant, int64_t hidden) {
  Case c = case_of(variant);
  c.layers = 2;
  c.bidirectional = true;
  c.with_h0 = true;
  c.variable_lengths = true;
  c.hidden_size = hidden;
  return c;
}

class CellClip : public ::testing::TestWithParam<CellVariant> {};

/// Every gradient, on the sequential schedule and on the wavefront with blocks of steps,
/// sub-batches and (H = 40, cells that allow it) steps split by hidden units.
TEST_P(CellClip, GradientsMatchFiniteDifferencesWithTheClipBinding) {
  for (int64_t hidden : {3, 40}) {
    Problem<double> p = make_problem<double>(clip_case(GetParam(), hidden), 17);
    ModelSpec spec = p.spec;
    spec.cell_clip = kClip;
    p.spec = spec;
    BasicWeights<double> weights = BasicWeights<double>::uniform(spec, 5);
    ExecOptions wavefront{Schedule::wavefront, 2};
    wavefront.step_block = 2;
    wavefront.batch_splits = 2;
    wavefront.hidden_splits = hidden > 16 && splits_by_units(GetParam()) ? 2 : 1;
    for (const ExecOptions& options : {ExecOptions{Schedule::sequential, 1}, wavefront}) {
      BasicRnn<double> rnn(weights, options);
      const Grads<double> g = run_backward(rnn, p);
      auto eval = [&] { return test_loss(rnn, p); };
      const size_t stride = hidden > 16 ? 7 : 1;  // a sample of the wider model's entries
      for (size_t i = 0; i < p.input.size(); i += stride) {
        expect_close(g.input[i], central_difference(p.input[i], eval), "input[" + std::to_string(i) + "]");
      }
      for (size_t i = 0; i < p.h0.size(); i += stride) {
        expect_close(g.h0[i], central_difference(p.h0[i], eval), "h0[" + std::to_string(i) + "]");
      }
      for (size_t i = 0; i < p.c0.size(); i += stride) {
        expect_close(g.c0[i], central_difference(p.c0[i], eval), "c0[" + std::to_string(i) + "]");
      }
      for (const ParamInfo& info : weights.params()) {
        auto values = weights.get(info.name);
        const auto grad = g.weights.get(info.name);
        for (size_t i = 0; i < values.size(); i += hidden > 16 ? 61 : 1) {
          const double numeric = central_difference(values[i], [&] {
            rnn.set_weights(weights);
            return test_loss(rnn, p);
          });
          expect_close(grad[i], numeric, info.name + "[" + std::to_string(i) + "]");
        }
        rnn.set_weights(weights);
      }
    }
  }
}

/// The clip binds on these inputs: the same weights without it compute something else, and
/// so do their gradients.
TEST_P(CellClip, TheClipChangesOutputsAndGradients) {
  Problem<double> p = make_problem<double>(clip_case(GetParam(), 3), 17);
  const BasicWeights<double> plain_weights = BasicWeights<double>::uniform(p.spec, 5);
  ModelSpec spec = p.spec;
  spec.cell_clip = kClip;
  BasicWeights<double> clip_weights(spec);
  for (const ParamInfo& info : plain_weights.params()) {
    auto from = plain_weights.get(info.name);
    auto to = clip_weights.get(info.name);
    std::copy(from.begin(), from.end(), to.begin());
  }
  ForwardOut<double> plain_out, clip_out;
  const Grads<double> plain = run_backward(BasicRnn<double>(plain_weights), p, &plain_out);
  Problem<double> q = p;
  q.spec = spec;
  const Grads<double> clipped = run_backward(BasicRnn<double>(clip_weights), q, &clip_out);
  double output_change = 0, grad_change = 0;
  for (size_t i = 0; i < plain_out.output.size(); ++i) {
    output_change = std::max(output_change, std::abs(plain_out.output[i] - clip_out.output[i]));
  }
  for (size_t i = 0; i < plain.input.size(); ++i) {
    grad_change = std::max(grad_change, std::abs(plain.input[i] - clipped.input[i]));
  }
  EXPECT_GT(output_change, 1e-3);
  EXPECT_GT(grad_change, 1e-3);
}

/// A bound no pre-activation reaches gives the bits of no clip, forward and backward.
template <class T>
void expect_loose_clip_is_no_clip(const CellVariant& variant, const ExecOptions& options) {
  SCOPED_TRACE(sizeof(T) == 4 ? "float" : "double");
  Problem<T> p = make_problem<T>(clip_case(variant, 40), 29);
  const BasicWeights<T> plain_weights = BasicWeights<T>::uniform(p.spec, 8);
  ModelSpec spec = p.spec;
  spec.cell_clip = 1e30;
  BasicWeights<T> clip_weights(spec);
  for (const ParamInfo& info : plain_weights.params()) {
    auto from = plain_weights.get(info.name);
    auto to = clip_weights.get(info.name);
    std::copy(from.begin(), from.end(), to.begin());
  }
  ForwardOut<T> plain_out, clip_out;
  const Grads<T> plain = run_backward(BasicRnn<T>(plain_weights, options), p, &plain_out);
  Problem<T> q = p;
  q.spec = spec;
  const Grads<T> clipped = run_backward(BasicRnn<T>(clip_weights, options), q, &clip_out);
  EXPECT_TRUE(same_bits(plain_out.output, clip_out.output));
  EXPECT_TRUE(same_bits(plain_out.hn, clip_out.hn));
  EXPECT_TRUE(same_bits(plain_out.cn, clip_out.cn));
  EXPECT_TRUE(same_bits(plain.input, clipped.input));
  EXPECT_TRUE(same_bits(plain.h0, clipped.h0));
  EXPECT_TRUE(same_bits(plain.c0, clipped.c0));
  for (const ParamInfo& info : plain_weights.params()) {
    auto a = plain.weights.get(info.name);
    auto b = clipped.weights.get(info.name);
    EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin())) << info.name;
  }
}

TEST_P(CellClip, ABoundThatNeverBindsGivesTheBitsOfNoClip) {
  ExecOptions wavefront{Schedule::wavefront, 2};
  wavefront.step_block = 2;
  wavefront.batch_splits = 2;
  wavefront.hidden_splits = splits_by_units(GetParam()) ? 2 : 1;
  for (const ExecOptions& options : {ExecOptions{Schedule::sequential, 1}, wavefront}) {
    expect_loose_clip_is_no_clip<float>(GetParam(), options);
    expect_loose_clip_is_no_clip<double>(GetParam(), options);
  }
}

INSTANTIATE_TEST_SUITE_P(AllCells, CellClip, ::testing::ValuesIn(all_cell_variants()),
                         [](const auto& param_info) { return variant_name(param_info.param); });

TEST(CellClipSpec, BadValuesAreRefusedNamingThem) {
  ModelSpec spec{CellKind::gru, 3, 4, 1, false};
  for (double bad : {-1.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
    spec.cell_clip = bad;
    try {
      spec.validate();
      FAIL() << "cell_clip " << bad << " was accepted";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("cell_clip must be 0 (off) or a finite number > 0, got "),
                std::string::npos) << message;
      std::ostringstream text;
      text << bad;
      EXPECT_NE(message.find(text.str()), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
  // Bounds a float model cannot hold (they would round to 0 or to infinity).
  for (double bad : {1e-50, 1e39}) {
    spec.cell_clip = bad;
    try {
      spec.validate();
      FAIL() << "cell_clip " << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("outside the range of a float's normal numbers"), std::string::npos)
          << e.what();
    }
  }
  spec.cell_clip = 0.5;
  EXPECT_NO_THROW(spec.validate());
  EXPECT_EQ(describe(spec), "gru l1 d1 i3 h4 clip0.5");
}

}  // namespace
}  // namespace rnnwave::testing
