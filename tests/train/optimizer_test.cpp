// Optimizers, learning-rate schedules and gradient clipping: rules by hand, bit-exact
// checkpoints, parameter-list checks, bad arguments.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "io/expect_error.h"
#include "rnnwave/npy.h"
#include "rnnwave/train/clip.h"
#include "rnnwave/train/lr_schedule.h"
#include "rnnwave/train/optimizer.h"
#include "train/train_test_support.h"

namespace rnnwave::testing {
namespace {

/// Two parameters and their gradients, owned together.
struct Model {
  std::vector<float> a = random_values<float>(12, 1), b = random_values<float>(5, 2);
  std::vector<float> grad_a = std::vector<float>(12), grad_b = std::vector<float>(5);

  std::vector<Parameter<float>> refs() { return {{"a", {12}, a, grad_a}, {"b", {5}, b, grad_b}}; }
  /// The gradients of step `step`: fixed pseudo-random values.
  void set_grads(uint64_t step) {
    grad_a = random_values<float>(12, 100 + step);
    grad_b = random_values<float>(5, 200 + step);
  }
};

OptimizerOptions options_of(OptimizerKind kind) {
  OptimizerOptions o;
  o.kind = kind;
  if (kind == OptimizerKind::sgd) {
    o.learning_rate = 0.1;
    o.momentum = 0.9;
    o.nesterov = true;
    o.weight_decay = 0.01;
  } else {
    o.learning_rate = 0.01;
    o.weight_decay = 0.01;
  }
  return o;
}

TEST(TrainOptimizer, SgdMomentumByHand) {
  OptimizerOptions o;
  o.learning_rate = 0.5;
  o.momentum = 0.5;
  BasicOptimizer<double> sgd(o);
  std::vector<double> p = {1.0}, g = {2.0};
  const std::vector<Parameter<double>> refs = {{"p", {1}, p, g}};
  sgd.step(refs);  // buf = 2, p = 1 - 0.5 * 2 = 0
  EXPECT_EQ(p[0], 0.0);
  g[0] = 1.0;
  sgd.step(refs);  // buf = 0.5 * 2 + 1 = 2, p = 0 - 1 = -1
  EXPECT_EQ(p[0], -1.0);
  EXPECT_EQ(sgd.state().tensors.at("p/momentum_buffer").vector(), std::vector<double>{2.0});
  EXPECT_EQ(sgd.steps(), 2);
}

TEST(TrainOptimizer, AdamFirstStepIsLearningRateTimesSign) {
  OptimizerOptions o;
  o.kind = OptimizerKind::adam;
  o.learning_rate = 0.01;
  BasicOptimizer<double> adam(o);
  std::vector<double> p = {1.0, 1.0}, g = {3.0, -0.5};
  adam.step(std::vector<Parameter<double>>{{"p", {2}, p, g}});
  EXPECT_NEAR(p[0], 1.0 - 0.01 * 3.0 / (3.0 + 1e-8), 1e-15);
  EXPECT_NEAR(p[1], 1.0 + 0.01 * 0.5 / (0.5 + 1e-8), 1e-15);
}

class TrainOptimizerKinds : public ::testing::TestWithParam<OptimizerKind> {};

TEST_P(TrainOptimizerKinds, CheckpointResumesBitExactly) {
  const OptimizerOptions o = options_of(GetParam());
  // Uninterrupted: five steps.
  Model whole;
  Optimizer reference(o);
  for (uint64_t s = 0; s < 5; ++s) {
    whole.set_grads(s);
    reference.step(whole.refs());
  }
  // Interrupted after three: state and parameters through .npz files, then two more steps.
  Model first;
  Optimizer before(o);
  for (uint64_t s = 0; s < 3; ++s) {
    first.set_grads(s);
    before.step(first.refs());
  }
  const OptimizerState<float> saved = before.state();
  EXPECT_EQ(saved.scalars.at("step"), 3);
  EXPECT_EQ(saved.scalars.at("learning_rate"), o.learning_rate);
  const std::vector<std::string> buffers = before.buffer_names();
  EXPECT_EQ(saved.tensors.size(), 2 * buffers.size());
  for (const std::string& buffer : buffers) {
    EXPECT_EQ(saved.tensors.at("a/" + buffer).shape(), (std::vector<int64_t>{12}));
  }
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("rnnwave_optimizer_" + std::string(to_string(o.kind)));
  std::filesystem::create_directories(dir);
  save_npz((dir / "state.npz").string(), saved.tensors);
  std::map<std::string, BasicTensor<double>> scalars;
  for (const auto& [key, value] : saved.scalars) scalars[key] = BasicTensor<double>({}, {value});
  save_npz((dir / "scalars.npz").string(), scalars);

  OptimizerState<float> loaded;
  loaded.tensors = load_npz<float>((dir / "state.npz").string());
  for (const auto& [key, tensor] : load_npz<double>((dir / "scalars.npz").string())) {
    loaded.scalars[key] = tensor.vector().at(0);
  }
  std::filesystem::remove_all(dir);
  Optimizer after(options_of(o.kind));
  after.load_state(loaded);
  EXPECT_EQ(after.steps(), 3);
  for (uint64_t s = 3; s < 5; ++s) {
    first.set_grads(s);
    after.step(first.refs());
  }
  EXPECT_EQ(first.a, whole.a);
  EXPECT_EQ(first.b, whole.b);
  const OptimizerState<float> end = after.state(), expected = reference.state();
  for (const auto& [key, tensor] : expected.tensors) {
    EXPECT_EQ(end.tensors.at(key).vector(), tensor.vector()) << key;
  }
}

TEST_P(TrainOptimizerKinds, ParameterListMustStayTheSame) {
  Model model;
  Optimizer optimizer(options_of(GetParam()));
  model.set_grads(0);
  optimizer.step(model.refs());
  std::vector<Parameter<float>> refs = model.refs();
  // Any order is fine.
  std::swap(refs[0], refs[1]);
  optimizer.step(refs);
  const std::vector<float> before = model.a;
  EXPECT_ERROR_CONTAINING(optimizer.step(std::vector<Parameter<float>>{refs[0]}),
                          "parameter 'a'", "missing");
  std::vector<float> c(3), grad_c(3);
  refs.push_back({"c", {3}, c, grad_c});
  EXPECT_ERROR_CONTAINING(optimizer.step(refs), "parameter 'c' is not one of the 2");
  refs.pop_back();
  refs[1].value = refs[1].value.first(11);
  refs[1].grad = refs[1].grad.first(11);
  EXPECT_ERROR_CONTAINING(optimizer.step(refs), "'a' has 11 elements, its optimizer state 12");
  refs = model.refs();
  refs[1].name = "a";
  EXPECT_ERROR_CONTAINING(optimizer.step(refs), "'a' given twice");
  refs = model.refs();
  model.grad_b[3] = std::nanf("");
  EXPECT_ERROR_CONTAINING(optimizer.step(refs), "gradient of b contains NaN at [3]");
  EXPECT_EQ(model.a, before);  // nothing changed by a refused step
  EXPECT_EQ(optimizer.steps(), 2);
}

TEST_P(TrainOptimizerKinds, LoadStateRefusesForeignStates) {
  Model model;
  Optimizer optimizer(options_of(GetParam()));
  model.set_grads(0);
  optimizer.step(model.refs());
  const OptimizerState<float> good = optimizer.state();
  const std::string buffer = optimizer.buffer_names().front();

  OptimizerState<float> bad = good;
  bad.scalars["momentum"] = 0.9;
  EXPECT_ERROR_CONTAINING(optimizer.load_state(bad), "unexpected scalar 'momentum'");
  bad = good;
  bad.scalars.erase("step");
  EXPECT_ERROR_CONTAINING(optimizer.load_state(bad), "missing scalar 'step'");
  bad = good;
  bad.scalars["step"] = 2.5;
  EXPECT_ERROR_CONTAINING(optimizer.load_state(bad), "'step' must be a non-negative integer", "2.5");
  bad = good;
  bad.tensors["a/velocity"] = Tensor({12});
  EXPECT_ERROR_CONTAINING(optimizer.load_state(bad), "tensor 'a/velocity'", buffer);
  bad = good;
  bad.tensors["a/" + buffer] = Tensor({3, 4});
  EXPECT_ERROR_CONTAINING(optimizer.load_state(bad), "must be 1-D", "[3, 4]");
  bad = good;
  bad.tensors["a/" + buffer] = Tensor({11});
  if (optimizer.buffer_names().size() > 1) {
    EXPECT_ERROR_CONTAINING(optimizer.load_state(bad), "buffers of 'a' differ in size");
    bad = good;
    bad.tensors.erase("b/" + buffer);
    EXPECT_ERROR_CONTAINING(optimizer.load_state(bad), "'b' lacks its buffer '" + buffer + "'");
  }
  // Nothing was changed by the refused loads.
  EXPECT_EQ(optimizer.state().tensors.at("a/" + buffer).vector(), good.tensors.at("a/" + buffer).vector());
  EXPECT_EQ(optimizer.steps(), 1);
  // A state of other parameters loads, and then the step names the difference.
  bad = good;
  for (const std::string& name : optimizer.buffer_names()) bad.tensors.erase("b/" + name);
  optimizer.load_state(bad);
  EXPECT_ERROR_CONTAINING(optimizer.step(model.refs()), "parameter 'b' is not one of the 1");
}

INSTANTIATE_TEST_SUITE_P(All, TrainOptimizerKinds, ::testing::ValuesIn(kAllOptimizerKinds),
                         [](const auto& param_info) { return std::string(to_string(param_info.param)); });

TEST(TrainOptimizer, OptionsAreValidated) {
  OptimizerOptions o;
  o.learning_rate = 0;
  EXPECT_ERROR_CONTAINING(Optimizer{o}, "learning_rate", "> 0", "got 0");
  o = {};
  o.nesterov = true;
  EXPECT_ERROR_CONTAINING(Optimizer{o}, "nesterov needs momentum > 0");
  o = {};
  o.kind = OptimizerKind::adam;
  o.momentum = 0.9;
  EXPECT_ERROR_CONTAINING(Optimizer{o}, "momentum and nesterov are options of sgd, not of adam");
  o = {};
  o.kind = OptimizerKind::adam;
  o.beta2 = 1;
  EXPECT_ERROR_CONTAINING(Optimizer{o}, "beta2", "[0, 1)", "got 1");
  EXPECT_ERROR_CONTAINING(parse_optimizer_kind("rmsprop"), "unknown optimizer 'rmsprop'", "sgd, adam");
  EXPECT_EQ(parse_optimizer_kind("adam"), OptimizerKind::adam);
  Optimizer sgd(OptimizerOptions{});
  EXPECT_TRUE(sgd.buffer_names().empty());
  EXPECT_ERROR_CONTAINING(sgd.set_learning_rate(std::nan("")), "learning_rate", "nan");
}

TEST(TrainOptimizer, RecurrentStackNamedParameters) {
  const ModelSpec spec{CellKind::gru, 3, 4, 2, true};
  Weights values = Weights::uniform(spec, 1), grads(spec);
  const std::vector<Parameter<float>> refs = named_parameters("rnn.", values, grads);
  ASSERT_EQ(refs.size(), values.params().size());
  EXPECT_EQ(refs[0].name, "rnn.weight_ih_l0");
  EXPECT_EQ(refs.back().name, "rnn.bias_hh_l1_reverse");
  EXPECT_EQ(refs[1].value.data(), values.get("weight_hh_l0").data());
  EXPECT_EQ(refs[1].grad.data(), grads.get("weight_hh_l0").data());
  Weights other(ModelSpec{CellKind::gru, 3, 4, 1, true});
  EXPECT_ERROR_CONTAINING(named_parameters("rnn.", values, other), "gradients are of", "parameters of");
}

TEST(TrainLrSchedule, RulesByHand) {
  LrScheduleOptions o;
  o.kind = LrScheduleKind::step;
  o.initial = 1;
  o.factor = 0.5;
  o.every = 2;
  LrSchedule step(o);
  std::vector<double> rates = {step.rate()};
  for (int e = 0; e < 5; ++e) rates.push_back(step.end_epoch());
  EXPECT_EQ(rates, (std::vector<double>{1, 1, 0.5, 0.5, 0.25, 0.25}));

  o = {};
  o.kind = LrScheduleKind::plateau;
  o.initial = 20;
  o.factor = 0.25;
  LrSchedule plateau(o);
  EXPECT_EQ(plateau.end_epoch(5.0), 20);
  EXPECT_EQ(plateau.end_epoch(4.0), 20);
  EXPECT_EQ(plateau.end_epoch(4.0), 5);  // no improvement: divided by 4
  EXPECT_EQ(plateau.end_epoch(std::nan("")), 1.25);
  EXPECT_EQ(plateau.end_epoch(3.0), 1.25);

  o = {};
  o.kind = LrScheduleKind::cosine;
  o.initial = 1;
  o.period = 4;
  LrSchedule cosine(o);
  cosine.end_epoch();
  cosine.end_epoch();
  EXPECT_NEAR(cosine.rate(), 0.5, 1e-15);
  EXPECT_EQ(cosine.epoch(), 2);
}

TEST(TrainLrSchedule, StateRoundTrip) {
  LrScheduleOptions o;
  o.kind = LrScheduleKind::plateau;
  o.initial = 1;
  o.factor = 0.5;
  o.patience = 1;
  LrSchedule a(o);
  const std::vector<double> losses = {3, 2, 2.5, 2.4, 2.1, 1, 1, 1, 1};
  for (size_t e = 0; e < 4; ++e) a.end_epoch(losses[e]);
  LrSchedule b(o);
  b.load_state(a.state());
  for (size_t e = 4; e < losses.size(); ++e) EXPECT_EQ(a.end_epoch(losses[e]), b.end_epoch(losses[e]));
  EXPECT_EQ(a.state(), b.state());
  auto bad = a.state();
  bad.erase("best");
  EXPECT_ERROR_CONTAINING(b.load_state(bad), "missing key 'best'");
  bad = a.state();
  bad["rate"] = -1;
  EXPECT_ERROR_CONTAINING(b.load_state(bad), "'rate' must be finite and > 0");
}

TEST(TrainLrSchedule, OptionsAreValidated) {
  LrScheduleOptions o;
  o.factor = 1.5;
  EXPECT_ERROR_CONTAINING(LrSchedule{o}, "factor must be in (0, 1)", "got 1.5");
  o = {};
  o.every = 0;
  EXPECT_ERROR_CONTAINING(LrSchedule{o}, "every must be >= 1");
  o = {};
  o.minimum = 1;
  EXPECT_ERROR_CONTAINING(LrSchedule{o}, "minimum must be in [0, initial rate 0.01]");
  EXPECT_ERROR_CONTAINING(parse_lr_schedule_kind("exp"), "unknown learning-rate schedule 'exp'",
                          "constant, step, plateau, cosine");
  EXPECT_EQ(parse_lr_schedule_kind("plateau"), LrScheduleKind::plateau);
}

TEST(TrainClip, ScalesAboveMaxNormOnly) {
  std::vector<double> a = {3, 0}, b = {0, 4}, va(2), vb(2);
  std::vector<Parameter<double>> refs = {{"a", {2}, va, a}, {"b", {2}, vb, b}};
  EXPECT_DOUBLE_EQ(grad_norm<double>(refs), 5);
  EXPECT_DOUBLE_EQ(clip_grad_norm<double>(refs, 10), 5);
  EXPECT_EQ(a[0], 3);  // below max_norm: untouched
  EXPECT_DOUBLE_EQ(clip_grad_norm<double>(refs, 1), 5);
  EXPECT_DOUBLE_EQ(a[0], 3 * (1 / (5 + 1e-6)));
  EXPECT_DOUBLE_EQ(b[1], 4 * (1 / (5 + 1e-6)));
}

TEST(TrainClip, BadArgumentsThrow) {
  std::vector<float> a = {1, std::numeric_limits<float>::infinity()}, va(2);
  std::vector<Parameter<float>> refs = {{"a", {2}, va, a}};
  EXPECT_ERROR_CONTAINING(clip_grad_norm<float>(refs, 1), "gradient of a contains inf at [1]");
  EXPECT_EQ(a[0], 1);
  a[1] = 0;
  EXPECT_ERROR_CONTAINING(clip_grad_norm<float>(refs, 0), "max_norm", "got 0");
  refs[0].value = std::span<float>(va).first(1);
  EXPECT_ERROR_CONTAINING(grad_norm<float>(refs), "'a' has 1 elements but its gradient 2");
}

}  // namespace
}  // namespace rnnwave::testing
