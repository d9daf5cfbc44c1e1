// Agreement with PyTorch of the training layers, losses, optimizers, gradient clipping and
// learning-rate schedules: every case written by scripts/torch_train_cases.py (PyTorch in
// float64 on inputs exact in float32) is run through the public API in double and in
// float, and every result is compared with PyTorch's.
//
// The cases are read from the directory named by RNNWAVE_TRAIN_TORCH_CASES, which CTest
// sets after generating them (fixture train_torch_cases, tests/train/CMakeLists.txt).
// Without it the tests fail: agreement with PyTorch is not optional.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "rnnwave/error.h"
#include "rnnwave/npy.h"
#include "rnnwave/train/train.h"

namespace rnnwave::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCasesVariable = "RNNWAVE_TRAIN_TORCH_CASES";

/// Largest |ours - torch| relative to the largest |torch| of a result. double runs the
/// same formulas as PyTorch's float64, so only the order of operations differs; float
/// measures our float32 rounding (a wrong formula shows as O(1) in both).
template <class T>
constexpr double kTolerance = std::is_same_v<T, double> ? 1e-12 : 1e-5;

template <class T>
const char* precision() {
  return std::is_same_v<T, double> ? "double" : "float";
}

/// The arrays of one case: <name>.npz (float64) and <name>.ids.npz (int64) if present.
struct Case {
  std::string name;
  std::map<std::string, BasicTensor<double>> floats;
  std::map<std::string, BasicTensor<int64_t>> ints;

  const BasicTensor<double>& at(const std::string& key) const {
    const auto found = floats.find(key);
    if (found == floats.end()) throw Error(name + ": no array '" + key + "'");
    return found->second;
  }
  double scalar(const std::string& key) const { return at(key).vector().at(0); }
  template <class T>
  std::vector<T> values(const std::string& key) const {
    const std::vector<double>& v = at(key).vector();
    return std::vector<T>(v.begin(), v.end());
  }
  const std::vector<int64_t>& ids(const std::string& key) const {
    const auto found = ints.find(key);
    if (found == ints.end()) throw Error(name + ": no int64 array '" + key + "'");
    return found->second.vector();
  }
};

Case load_case(const std::string& name) {
  const char* dir = std::getenv(kCasesVariable);
  if (dir == nullptr || *dir == '\0') {
    throw Error(std::string(kCasesVariable) +
                " is not set: run these tests through ctest (ctest -R train_torch), which "
                "generates the cases with scripts/torch_train_cases.py first");
  }
  Case c;
  c.name = name;
  c.floats = load_npz<double>((fs::path(dir) / (name + ".npz")).string());
  const fs::path ids = fs::path(dir) / (name + ".ids.npz");
  if (fs::exists(ids)) c.ints = load_npz<int64_t>(ids.string());
  return c;
}

/// Compares and reports: the relative error of `ours` against PyTorch's `reference`.
template <class T>
double expect_agrees(std::span<const T> ours, std::span<const double> reference,
                     const std::string& what) {
  EXPECT_EQ(ours.size(), reference.size()) << what;
  if (ours.size() != reference.size()) return INFINITY;
  double scale = 1e-30, diff = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    scale = std::max(scale, std::abs(reference[i]));
    diff = std::max(diff, std::abs(static_cast<double>(ours[i]) - reference[i]));
  }
  const double error = diff / scale;
  EXPECT_LE(error, kTolerance<T>) << what << " (" << precision<T>() << ")";
  std::printf("[ torch    ] %-40s %-6s relative error %.3g\n", what.c_str(), precision<T>(), error);
  return error;
}

template <class T>
double expect_agrees(std::span<const T> ours, const BasicTensor<double>& reference,
                     const std::string& what) {
  return expect_agrees<T>(ours, reference.span(), what);
}

template <class T>
double expect_agrees_scalar(double ours, double reference, const std::string& what) {
  const std::vector<T> value = {static_cast<T>(ours)};
  if constexpr (std::is_same_v<T, double>) {
    return expect_agrees<T>(value, std::vector<double>{reference}, what);
  } else {
    // Sums run in double even for float inputs: compare in double at float's tolerance.
    const double error = std::abs(ours - reference) / std::max(1e-30, std::abs(reference));
    EXPECT_LE(error, kTolerance<T>) << what << " (float)";
    std::printf("[ torch    ] %-40s %-6s relative error %.3g\n", what.c_str(), "float", error);
    return error;
  }
}

template <class T>
void check_embedding(const Case& c) {
  const BasicTensor<double>& w = c.at("weight");
  BasicEmbedding<T> table(w.dim(0), w.dim(1));
  const std::vector<T> weight = c.values<T>("weight");
  std::copy(weight.begin(), weight.end(), table.weight().begin());
  const std::vector<int64_t>& ids = c.ids("ids");
  std::vector<T> out(ids.size() * static_cast<size_t>(w.dim(1)));
  table.forward(ids, out);
  expect_agrees<T>(out, c.at("out"), "embedding forward");
  BasicEmbedding<T> grad(w.dim(0), w.dim(1));
  table.backward(ids, c.values<T>("grad_out"), &grad);
  expect_agrees<T>(grad.weight(), c.at("grad_weight"), "embedding grad_weight");
}

template <class T>
void check_linear(const Case& c) {
  std::map<std::string, BasicTensor<T>> named;
  for (const char* key : {"weight", "bias"}) named[key] = BasicTensor<T>(c.at(key).shape(), c.values<T>(key));
  const BasicLinear<T> layer = BasicLinear<T>::from_tensors(named);
  const std::vector<T> x = c.values<T>("x");
  const int64_t rows = c.at("x").dim(0);
  std::vector<T> y(static_cast<size_t>(rows * layer.out_features()));
  layer.forward(x, rows, y);
  expect_agrees<T>(y, c.at("y"), "linear forward");
  std::vector<T> grad_x(x.size());
  BasicLinear<T> grad(layer.in_features(), layer.out_features());
  layer.backward(x, c.values<T>("grad_y"), rows, grad_x, &grad);
  expect_agrees<T>(grad_x, c.at("grad_x"), "linear grad_x");
  expect_agrees<T>(grad.weight(), c.at("grad_weight"), "linear grad_weight");
  expect_agrees<T>(grad.bias(), c.at("grad_bias"), "linear grad_bias");
}

template <class T>
void check_cross_entropy(const Case& c) {
  const std::vector<T> logits = c.values<T>("logits"), weights = c.values<T>("row_weights");
  const int64_t rows = c.at("logits").dim(0), classes = c.at("logits").dim(1);
  const std::vector<int64_t>& targets = c.ids("targets");
  std::vector<T> grad(logits.size());
  const LossValue weighted = softmax_cross_entropy<T>(logits, rows, classes, targets, weights, grad);
  expect_agrees_scalar<T>(weighted.mean, c.scalar("loss"), "cross_entropy weighted loss");
  expect_agrees_scalar<T>(weighted.total, c.scalar("total"), "cross_entropy weighted total");
  EXPECT_EQ(weighted.weight, c.scalar("weight"));
  expect_agrees<T>(grad, c.at("grad_logits"), "cross_entropy weighted grad");
  const LossValue plain = softmax_cross_entropy<T>(logits, rows, classes, targets, {}, grad);
  expect_agrees_scalar<T>(plain.mean, c.scalar("plain_loss"), "cross_entropy loss");
  expect_agrees<T>(grad, c.at("plain_grad_logits"), "cross_entropy grad");
  expect_agrees_scalar<T>(log_likelihood<T>(logits, rows, classes, targets, {}),
                          c.scalar("plain_log_likelihood"), "log_likelihood");
}

template <class T>
void check_mse(const Case& c) {
  const std::vector<T> predictions = c.values<T>("predictions"), targets = c.values<T>("targets");
  std::vector<T> grad(predictions.size());
  const LossValue value = mse_loss<T>(predictions, targets, {}, grad);
  expect_agrees_scalar<T>(value.mean, c.scalar("loss"), "mse loss");
  expect_agrees<T>(grad, c.at("grad_predictions"), "mse grad");
}

template <class T>
void check_accuracy(const Case& c) {
  const std::vector<T> logits = c.values<T>("logits"), weights = c.values<T>("row_weights");
  const AccuracyCount count = count_correct<T>(logits, c.at("logits").dim(0), c.at("logits").dim(1),
                                               c.ids("targets"), weights);
  EXPECT_EQ(count.correct, static_cast<int64_t>(c.scalar("correct")));
  EXPECT_EQ(count.counted, static_cast<int64_t>(c.scalar("counted")));
}

template <class T>
void check_pooling(const Case& c) {
  const BasicTensor<double>& output = c.at("output");
  const auto hidden = static_cast<int64_t>(c.scalar("hidden"));
  const SequenceShape shape{output.dim(0), output.dim(1), output.dim(2) / hidden, hidden};
  const std::vector<int64_t>& lengths = c.ids("lengths");
  const std::vector<T> y = c.values<T>("output");
  std::vector<T> pooled(static_cast<size_t>(shape.batch * output.dim(2)));
  std::vector<T> grad(y.size());
  pool_sequence<T>(Pooling::last, shape, y, lengths, pooled);
  expect_agrees<T>(pooled, c.at("hn_top"), c.name + " last == top-layer h_n");
  pool_sequence_backward<T>(Pooling::last, shape, lengths, c.values<T>("grad_last"), grad);
  expect_agrees<T>(grad, c.at("grad_output_last"), c.name + " last backward");
  pool_sequence<T>(Pooling::mean, shape, y, lengths, pooled);
  expect_agrees<T>(pooled, c.at("mean"), c.name + " mean");
  pool_sequence_backward<T>(Pooling::mean, shape, lengths, c.values<T>("grad_mean"), grad);
  expect_agrees<T>(grad, c.at("grad_output_mean"), c.name + " mean backward");
}

/// Steps our optimizer over the case's gradients; compares every step's parameters and
/// the final buffers.
template <class T>
void check_optimizer(const Case& c, const OptimizerOptions& options) {
  const std::vector<std::string> names = {"a", "b"};
  std::map<std::string, std::vector<T>> values, grads;
  for (const std::string& n : names) {
    values[n] = c.values<T>("start_" + n);
    grads[n].resize(values[n].size());
  }
  BasicOptimizer<T> optimizer(options);
  const int64_t steps = c.at("grads_a").dim(0);
  double worst = 0;
  for (int64_t s = 0; s < steps; ++s) {
    std::vector<Parameter<T>> refs;
    for (const std::string& n : names) {
      const std::vector<T> all = c.values<T>("grads_" + n);
      const size_t size = values[n].size();
      std::copy(all.begin() + s * size, all.begin() + (s + 1) * size, grads[n].begin());
      refs.push_back({n, {static_cast<int64_t>(size)}, values[n], grads[n]});
    }
    optimizer.step(refs);
    for (const std::string& n : names) {
      const std::vector<double>& trajectory = c.at("trajectory_" + n).vector();
      const size_t size = values[n].size();
      const std::span<const double> expected(trajectory.data() + s * size, size);
      double scale = 1e-30, diff = 0;
      for (size_t i = 0; i < size; ++i) {
        scale = std::max(scale, std::abs(expected[i]));
        diff = std::max(diff, std::abs(static_cast<double>(values[n][i]) - expected[i]));
      }
      worst = std::max(worst, diff / scale);
    }
  }
  EXPECT_LE(worst, kTolerance<T>) << c.name << " trajectory (" << precision<T>() << ")";
  std::printf("[ torch    ] %-40s %-6s relative error %.3g\n", (c.name + " trajectory").c_str(),
              precision<T>(), worst);
  const OptimizerState<T> state = optimizer.state();
  for (const std::string& buffer : optimizer.buffer_names()) {
    for (const std::string& n : names) {
      expect_agrees<T>(state.tensors.at(n + "/" + buffer).span(), c.at(buffer + "_" + n),
                       c.name + " " + n + "/" + buffer);
    }
  }
}

template <class T>
void check_clip(const Case& c) {
  std::vector<T> a = c.values<T>("grad_a"), b = c.values<T>("grad_b");
  std::vector<T> va(a.size()), vb(b.size());
  const std::vector<Parameter<T>> refs = {{"a", {static_cast<int64_t>(a.size())}, va, a},
                                         {"b", {static_cast<int64_t>(b.size())}, vb, b}};
  const double total = clip_grad_norm<T>(refs, c.scalar("max_norm"));
  expect_agrees_scalar<T>(total, c.scalar("total_norm"), c.name + " total norm");
  expect_agrees<T>(a, c.at("clipped_a"), c.name + " a");
  expect_agrees<T>(b, c.at("clipped_b"), c.name + " b");
}

void check_schedule(const Case& c, LrScheduleOptions options) {
  options.initial = c.scalar("initial");
  LrSchedule schedule(options);
  const std::vector<double>& expected = c.at("rates").vector();
  std::vector<double> rates = {schedule.rate()};
  const bool plateau = options.kind == LrScheduleKind::plateau;
  for (size_t e = 0; e + 1 < expected.size(); ++e) {
    rates.push_back(schedule.end_epoch(plateau ? c.at("losses").vector().at(e) : 0.0));
  }
  expect_agrees<double>(rates, expected, c.name + " rates");
}

TEST(TrainTorch, Embedding) {
  const Case c = load_case("embedding");
  check_embedding<float>(c);
  check_embedding<double>(c);
}

TEST(TrainTorch, Linear) {
  const Case c = load_case("linear");
  check_linear<float>(c);
  check_linear<double>(c);
}

TEST(TrainTorch, CrossEntropy) {
  const Case c = load_case("cross_entropy");
  check_cross_entropy<float>(c);
  check_cross_entropy<double>(c);
}

TEST(TrainTorch, MeanSquaredError) {
  const Case c = load_case("mse");
  check_mse<float>(c);
  check_mse<double>(c);
}

TEST(TrainTorch, Accuracy) {
  const Case c = load_case("accuracy");
  check_accuracy<float>(c);
  check_accuracy<double>(c);
}

TEST(TrainTorch, PoolingOneDirection) {
  const Case c = load_case("pool_d1");
  check_pooling<float>(c);
  check_pooling<double>(c);
}

TEST(TrainTorch, PoolingTwoDirections) {
  const Case c = load_case("pool_d2");
  check_pooling<float>(c);
  check_pooling<double>(c);
}

OptimizerOptions sgd(double lr, double momentum = 0, bool nesterov = false, double decay = 0) {
  OptimizerOptions o;
  o.learning_rate = lr;
  o.momentum = momentum;
  o.nesterov = nesterov;
  o.weight_decay = decay;
  return o;
}

OptimizerOptions adam(double lr, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
                      double decay = 0) {
  OptimizerOptions o;
  o.kind = OptimizerKind::adam;
  o.learning_rate = lr;
  o.beta1 = beta1;
  o.beta2 = beta2;
  o.eps = eps;
  o.weight_decay = decay;
  return o;
}

TEST(TrainTorch, Sgd) {
  const std::map<std::string, OptimizerOptions> cases = {
      {"sgd_plain", sgd(0.1)},
      {"sgd_momentum", sgd(0.1, 0.9)},
      {"sgd_nesterov", sgd(0.05, 0.8, true, 0.01)},
  };
  for (const auto& [name, options] : cases) {
    const Case c = load_case(name);
    check_optimizer<float>(c, options);
    check_optimizer<double>(c, options);
  }
}

TEST(TrainTorch, Adam) {
  const std::map<std::string, OptimizerOptions> cases = {
      {"adam_default", adam(0.01)},
      {"adam_decay", adam(0.003, 0.8, 0.99, 1e-6, 0.1)},
  };
  for (const auto& [name, options] : cases) {
    const Case c = load_case(name);
    check_optimizer<float>(c, options);
    check_optimizer<double>(c, options);
  }
}

TEST(TrainTorch, ClipGradNorm) {
  for (const char* name : {"clip_above", "clip_below"}) {
    const Case c = load_case(name);
    check_clip<float>(c);
    check_clip<double>(c);
  }
}

TEST(TrainTorch, LrSchedules) {
  LrScheduleOptions step;
  step.kind = LrScheduleKind::step;
  step.every = 3;
  step.factor = 0.5;
  check_schedule(load_case("lr_step"), step);

  LrScheduleOptions cosine;
  cosine.kind = LrScheduleKind::cosine;
  cosine.period = 8;
  cosine.minimum = 0.001;
  check_schedule(load_case("lr_cosine"), cosine);

  LrScheduleOptions word_lm;
  word_lm.kind = LrScheduleKind::plateau;
  word_lm.factor = 0.25;
  check_schedule(load_case("lr_plateau_wordlm"), word_lm);

  LrScheduleOptions patience;
  patience.kind = LrScheduleKind::plateau;
  patience.factor = 0.5;
  patience.patience = 1;
  patience.threshold = 0.01;
  patience.minimum = 0.3;
  check_schedule(load_case("lr_plateau_patience"), patience);
}

}  // namespace
}  // namespace rnnwave::testing
