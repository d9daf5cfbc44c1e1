// Inference in bf16 (ExecOptions::precision): one step computed exactly as specified (the
// products of the bf16-rounded inputs and weights, in double, to float rounding), every
// cell variant within bf16's error of fp32, bit-identical across schedules and threads,
// and the refusals: training, double models, CPUs without AVX512-BF16.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "kernels/packed_bf16.h"
#include "rnnwave/error.h"
#include "support/exec_options.h"
#include "support/problem.h"
#include "support/errors.h"

namespace rnnwave::testing {
namespace {

ExecOptions bf16_options(ExecOptions options = {}) {
  options.precision = Precision::bf16;
  return options;
}

bool bf16_here() { return kernels::bf16_supported(); }

double rounded(float x) { return kernels::from_bf16(kernels::to_bf16(x)); }

/// One rnn_tanh step from h0: h = tanh(bf16(x) bf16(W_ih)^T + bf16(h0) bf16(W_hh)^T + b),
/// computed here in double from the rounded values. The pass may differ only by the fp32
/// accumulation (one rounding per term) and tanh in float.
TEST(Bf16Forward, OneStepIsTheProductOfTheRoundedInputsAndWeights) {
  if (!bf16_here()) GTEST_SKIP() << "this CPU lacks AVX512-BF16";
  for (bool bidirectional : {false, true}) {
    Case c;
    c.cell = CellKind::rnn_tanh;
    c.bidirectional = bidirectional;
    c.with_h0 = true;
    c.steps = 1;
    c.batch = 5;
    c.input_size = 37;
    c.hidden_size = 70;
    const Problem<float> p = make_problem<float>(c, 3);
    const Weights w = Weights::uniform(p.spec, 4);
    ForwardOut<float> out;
    Rnn(w, bf16_options()).forward(forward_args(p, out));
    const int64_t N = c.batch, I = c.input_size, H = c.hidden_size, D = p.spec.directions();
    for (int64_t d = 0; d < D; ++d) {
      const auto w_ih = w.get(param_name(ParamKind::weight_ih, 0, d));
      const auto w_hh = w.get(param_name(ParamKind::weight_hh, 0, d));
      const auto b_ih = w.get(param_name(ParamKind::bias_ih, 0, d));
      const auto b_hh = w.get(param_name(ParamKind::bias_hh, 0, d));
      for (int64_t n = 0; n < N; ++n) {
        for (int64_t j = 0; j < H; ++j) {
          double z = 0, magnitude = 0;
          for (int64_t k = 0; k < I; ++k) {
            const double term = rounded(p.input[n * I + k]) * rounded(w_ih[j * I + k]);
            z += term;
            magnitude += std::abs(term);
          }
          for (int64_t k = 0; k < H; ++k) {
            const double term = rounded(p.h0[(d * N + n) * H + k]) * rounded(w_hh[j * H + k]);
            z += term;
            magnitude += std::abs(term);
          }
          z += double(b_ih[j]) + double(b_hh[j]);
          magnitude += std::abs(double(b_ih[j])) + std::abs(double(b_hh[j]));
          // tanh is 1-Lipschitz: the accumulation's error passes through, plus tanh's own.
          const double bound = double(I + H + 4) * 0x1p-24 * magnitude + 4 * 0x1p-24;
          ASSERT_NEAR(out.output[(n * D + d) * H + j], std::tanh(z), bound)
              << "direction " << d << " row " << n << " unit " << j;
        }
      }
    }
  }
}

/// bf16 keeps 8 significant bits: every rounded value is off by at most 2^-9 relatively, so
/// a pre-activation sum_k x_k w_k is off by at most 2^-8 sum_k |x_k w_k|. With these
/// weights (uniform in +-1/sqrt(H)) and inputs in [-1, 1] that is a few 2^-8 at the first
/// step; the activations are 1-Lipschitz and the recurrence contracts about as much as it
/// grows over these short sequences, so outputs (all in [-1, 1], or small for relu) must
/// agree with fp32 to 2^-5 absolute, and on average to 2^-8. And they must differ: the
/// bf16 products did run.
TEST(Bf16Forward, EveryCellVariantAndDirectionAgreesWithFp32WithinBf16Rounding) {
  if (!bf16_here()) GTEST_SKIP() << "this CPU lacks AVX512-BF16";
  double worst = 0;
  for (Case c : all_cases({1, 2})) {
    c.hidden_size = 20;
    c.input_size = 7;
    c.steps = 6;
    c.batch = 4;
    const Problem<float> p = make_problem<float>(c, 21);
    const Weights w = Weights::uniform(p.spec, 22);
    ForwardOut<float> exact, half;
    const ExecOptions one_thread{Schedule::sequential, 1};  // the schedule does not matter
    Rnn(w, one_thread).forward(forward_args(p, exact));
    Rnn(w, bf16_options(one_thread)).forward(forward_args(p, half));
    double max_error = 0, sum_error = 0;
    int64_t count = 0;
    auto compare = [&](const std::vector<float>& a, const std::vector<float>& b) {
      ASSERT_EQ(a.size(), b.size());
      for (size_t i = 0; i < a.size(); ++i) {
        const double e = std::abs(double(a[i]) - double(b[i]));
        max_error = std::max(max_error, e);
        sum_error += e;
        ++count;
      }
    };
    compare(exact.output, half.output);
    compare(exact.hn, half.hn);
    compare(exact.cn, half.cn);
    EXPECT_LE(max_error, 0x1p-5) << case_name(c);
    EXPECT_LE(sum_error / double(count), 0x1p-8) << case_name(c);
    EXPECT_GT(max_error, 0) << case_name(c) << ": bf16 gave fp32's bits";
    worst = std::max(worst, max_error);
  }
  RecordProperty("worst_abs_error", std::to_string(worst));
}

/// Every cell variant with each hidden size.
std::vector<std::pair<CellVariant, int64_t>> cases_by_hidden_size(std::initializer_list<int64_t> sizes) {
  std::vector<std::pair<CellVariant, int64_t>> cases;
  for (const CellVariant& v : all_cell_variants()) {
    for (const int64_t hidden : sizes) cases.emplace_back(v, hidden);
  }
  return cases;
}

TEST(Bf16Forward, BitIdenticalForEveryScheduleThreadCountAndDecomposition) {
  if (!bf16_here()) GTEST_SKIP() << "this CPU lacks AVX512-BF16";
  // Three hidden parts of at least 16 units; at 48 whole panels, where the projections of
  // whole-sequence blocks split by units too.
  for (const auto& [v, hidden] : cases_by_hidden_size({40, 48})) {
    for (int directions : {0, 1}) {
      Case c = case_of(v);
      c.layers = 2;
      c.bidirectional = directions == 1;
      c.with_h0 = true;
      c.variable_lengths = true;
      c.input_size = 10;
      c.hidden_size = hidden;
      c.steps = 9;
      c.batch = 6;
      const Problem<float> p = make_problem<float>(c, 31);
      const Weights w = Weights::uniform(p.spec, 32);
      ForwardOut<float> expected;
      Rnn(w, bf16_options(ExecOptions{Schedule::sequential, 1})).forward(forward_args(p, expected));
      std::vector<ExecOptions> plans = tested_exec_options();
      for (const int threads : {2, 3}) {  // whole-sequence blocks: the projections split too
        ExecOptions whole{Schedule::wavefront, threads};
        whole.step_block = c.steps;
        whole.hidden_splits = threads;
        plans.push_back(whole);
      }
      for (const ExecOptions& options : plans) {
        ForwardOut<float> out;
        Rnn(w, bf16_options(options)).forward(forward_args(p, out));
        const std::string what = case_name(c) + " " + exec_name(options);
        EXPECT_TRUE(same_bits(out.output, expected.output)) << what;
        EXPECT_TRUE(same_bits(out.hn, expected.hn)) << what;
        EXPECT_TRUE(same_bits(out.cn, expected.cn)) << what;  // empty but for LSTMs
      }
    }
  }
}

/// The bf16 weights are made on the first bf16 pass of a model and replaced by
/// set_weights; the fp32 ones stay, so the precision can change between calls.
TEST(Bf16Forward, PrecisionAndWeightsCanChangeBetweenCalls) {
  if (!bf16_here()) GTEST_SKIP() << "this CPU lacks AVX512-BF16";
  Case c;
  c.cell = CellKind::gru;
  c.hidden_size = 24;
  c.variable_lengths = true;
  const Problem<float> p = make_problem<float>(c, 51);
  const Weights first = Weights::uniform(p.spec, 52), second = Weights::uniform(p.spec, 53);
  auto run = [&](const Rnn& rnn) {
    ForwardOut<float> out;
    rnn.forward(forward_args(p, out));
    return out.output;
  };
  const std::vector<float> fp32_first = run(Rnn(first)), bf16_first = run(Rnn(first, bf16_options()));
  const std::vector<float> bf16_second = run(Rnn(second, bf16_options()));
  ASSERT_NE(fp32_first, bf16_first);
  Rnn rnn(first, bf16_options());
  EXPECT_EQ(run(rnn), bf16_first);
  rnn.set_options(ExecOptions{});
  EXPECT_EQ(run(rnn), fp32_first);
  rnn.set_options(bf16_options());
  EXPECT_EQ(run(rnn), bf16_first);
  rnn.set_weights(second);
  EXPECT_EQ(run(rnn), bf16_second);
}

TEST(Bf16Forward, TrainingIsRefusedWithOneLine) {
  Case c;
  const Problem<float> p = make_problem<float>(c, 1);
  const Weights w = Weights::uniform(p.spec, 2);
  Rnn rnn(w, bf16_options());
  ForwardOut<float> out;
  Workspace ws;
  const std::string forward = error_of([&] { rnn.forward(forward_args(p, out), ws); });
  EXPECT_NE(forward.find("bf16 precision is for inference only"), std::string::npos) << forward;
  EXPECT_EQ(forward.find('\n'), std::string::npos);
  // A workspace from an fp32 training forward, then bf16 set for the backward.
  rnn.set_options(ExecOptions{});
  rnn.forward(forward_args(p, out), ws);
  rnn.set_options(bf16_options());
  BackwardArgs<float> back;
  back.grad_output = p.grad_output;
  const std::string backward = error_of([&] { rnn.backward(back, ws); });
  EXPECT_NE(backward.find("backward: bf16 precision is for inference only"), std::string::npos)
      << backward;
}

TEST(Bf16Forward, ADoubleModelIsRefused) {
  Case c;
  const Problem<double> p = make_problem<double>(c, 1);
  const BasicRnn<double> rnn(BasicWeights<double>::uniform(p.spec, 2), bf16_options());
  ForwardOut<double> out;
  const std::string message = error_of([&] { rnn.forward(forward_args(p, out)); });
  EXPECT_NE(message.find("bf16 precision is for float models"), std::string::npos) << message;
}

TEST(Bf16Forward, ACpuWithoutAvx512Bf16IsRefusedNamingItAndNothingIsWritten) {
  setenv("RNNWAVE_PRETEND_NO_AVX512BF16", "1", 1);
  Case c;
  const Problem<float> p = make_problem<float>(c, 1);
  const Rnn rnn(Weights::uniform(p.spec, 2), bf16_options());
  ForwardOut<float> out;
  ForwardArgs<float> args = forward_args(p, out);
  std::fill(out.output.begin(), out.output.end(), 7.0f);
  const std::string message = error_of([&] { rnn.forward(args); });
  unsetenv("RNNWAVE_PRETEND_NO_AVX512BF16");
  EXPECT_NE(message.find("AVX512-BF16"), std::string::npos) << message;
  EXPECT_TRUE(std::all_of(out.output.begin(), out.output.end(), [](float x) { return x == 7.0f; }));
}

TEST(Precision, NamesRoundTripAndABadOneListsTheValidOnes) {
  for (Precision p : kAllPrecisions) EXPECT_EQ(parse_precision(to_string(p)), p);
  const std::string message = error_of([] { parse_precision("fp16"); });
  EXPECT_NE(message.find("'fp16'"), std::string::npos) << message;
  EXPECT_NE(message.find("fp32, bf16"), std::string::npos) << message;
}

}  // namespace
}  // namespace rnnwave::testing
