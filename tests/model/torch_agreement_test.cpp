// Agreement with PyTorch, the reference oracle: every case written by
// scripts/torch_cases.py (torch.nn.RNN / LSTM / GRU in float64, variable lengths through
// pack_padded_sequence) is run through the public API for every cell kind and every tested
// schedule and thread count, and each output, final state and gradient is compared with
// PyTorch's.
//
// The cases are read from the directory named by RNNWAVE_TORCH_CASES, which CTest sets
// after generating them (fixture torch_cases, tests/torch/CMakeLists.txt). Without it the
// tests fail: agreement with PyTorch is not optional.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "rnnwave/rnnwave.h"
#include "support/exec_options.h"

namespace rnnwave::testing {
namespace {

/// Largest |ours - torch| over the tensor, relative to the largest |torch|. Our results
/// are float32 and PyTorch's float64 (from the same float32 inputs), so this measures our
/// rounding error; a wrong formula, gate order or length handling shows as O(1).
constexpr double kTolerance = 1e-5;

/// The initial value of every result buffer.
constexpr float kGarbage = 7.0f;

constexpr const char* kCasesVariable = "RNNWAVE_TORCH_CASES";

namespace fs = std::filesystem;

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot open " + path.string());
  return nlohmann::json::parse(in);
}

/// One case directory, loaded: the files of a CLI run and PyTorch's results.
struct TorchCase {
  std::string name;
  ModelSpec spec;
  int64_t steps = 0, batch = 0;
  std::map<std::string, Tensor> weights;
  Tensor input, h0, c0, grad_output, grad_hn, grad_cn;
  BasicTensor<int64_t> lengths;
  BasicTensor<double> output, hn, cn;
  std::map<std::string, BasicTensor<double>> grads;

  std::vector<int64_t> state_shape() const {  // h: [L*D, N, Hs]
    return {spec.layers * spec.directions(), batch, spec.output_size()};
  }
  std::vector<int64_t> cell_state_shape() const {  // c: [L*D, N, H]
    return {spec.layers * spec.directions(), batch, spec.hidden_size};
  }
  std::vector<int64_t> output_shape() const {
    return {steps, batch, spec.directions() * spec.output_size()};
  }
};

TorchCase load_case(const fs::path& dir) {
  const nlohmann::json json = read_json(dir / "case.json");
  TorchCase c;
  c.name = json.at("name").get<std::string>();
  c.spec = ModelSpec{parse_cell_kind(json.at("cell").get<std::string>()),
                     json.at("input_size").get<int64_t>(), json.at("hidden_size").get<int64_t>(),
                     json.at("layers").get<int64_t>(), json.at("bidirectional").get<bool>()};
  c.spec.proj_size = json.value("proj_size", int64_t{0});  // LSTM with projection
  c.steps = json.at("steps").get<int64_t>();
  c.batch = json.at("batch").get<int64_t>();
  const nlohmann::json& files = json.at("files");
  auto path = [&](const std::string& name) { return (dir / name).string(); };
  auto optional = [&](const std::string& key, Tensor& into) {
    if (files.at(key).get<bool>()) into = load_npy<float>(path(key + ".npy"));
  };
  c.weights = load_npz<float>(path("weights.npz"));
  c.input = load_npy<float>(path("input.npy"));
  c.grad_output = load_npy<float>(path("grad_output.npy"));
  if (files.at("lengths").get<bool>()) c.lengths = load_npy<int64_t>(path("lengths.npy"));
  optional("h0", c.h0);
  optional("c0", c.c0);
  optional("grad_hn", c.grad_hn);
  optional("grad_cn", c.grad_cn);
  c.output = load_npy<double>(path("output.npy"));
  c.hn = load_npy<double>(path("hn.npy"));
  if (has_cell_state(c.spec.cell)) c.cn = load_npy<double>(path("cn.npy"));
  c.grads = load_npz<double>(path("grads.npz"));
  return c;
}

/// The worst relative error of a group of tensors, and where it was seen.
struct Worst {
  double error = 0;
  std::string where = "-";

  void update(double e, const std::string& at) {
    if (!(e <= error)) {  // NaN propagates as the worst
      error = e;
      where = at;
    }
  }
  std::string describe() const {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.3g", error);
    return std::string(buffer) + " (" + where + ")";
  }
};

double relative_error(std::span<const float> actual, const BasicTensor<double>& expected) {
  double scale = 0, difference = 0;
  for (int64_t i = 0; i < expected.size(); ++i) {
    const double a = actual[static_cast<size_t>(i)];
    const double e = expected.data()[i];
    if (!std::isfinite(a)) return std::numeric_limits<double>::infinity();
    scale = std::max(scale, std::abs(e));
    difference = std::max(difference, std::abs(a - e));
  }
  return scale > 0 ? difference / scale : difference;
}

/// Compares one result with PyTorch's; records the error in `worst`.
void expect_close(std::span<const float> actual, const BasicTensor<double>& expected,
                  const std::vector<int64_t>& shape, const std::string& what, Worst& worst) {
  ASSERT_EQ(shape_to_string(expected.shape()), shape_to_string(shape))
      << what << ": PyTorch's result has an unexpected shape";
  ASSERT_EQ(static_cast<int64_t>(actual.size()), expected.size()) << what;
  const double error = relative_error(actual, expected);
  worst.update(error, what);
  EXPECT_LE(error, kTolerance) << what << ": max |rnnwave - torch| / max |torch| = " << error;
}

/// Schedules that split the batch reject more sub-batches than sequences; a tested option
/// asking for more (the N = 1 case) runs with one per sequence. (Written so that it also
/// compiles where ExecOptions has no batch_splits.)
template <class Options>
void limit_batch_splits(Options& options, int64_t batch) {
  if constexpr (requires { options.batch_splits; }) {
    if (options.batch_splits > batch) options.batch_splits = batch;
  }
}

/// Runs one case (inference, training forward, backward) and compares every result.
void check_case(const TorchCase& c, ExecOptions options, Worst& forward, Worst& gradient) {
  limit_batch_splits(options, c.batch);
  const ModelSpec& spec = c.spec;
  const bool lstm = has_cell_state(spec.cell);
  const Rnn rnn(Weights::from_tensors(spec, c.weights), options);
  const auto state = c.state_shape();
  const auto cell_state = c.cell_state_shape();
  const int64_t state_size = shape_elements(state);

  ForwardArgs<float> args;
  args.steps = c.steps;
  args.batch = c.batch;
  args.input = c.input.span();
  args.lengths = c.lengths.span();
  args.h0 = c.h0.span();
  args.c0 = c.c0.span();

  // Every result buffer starts as garbage: what the library does not write shows.
  auto garbage = [](std::span<float> values) { std::fill(values.begin(), values.end(), kGarbage); };

  // Inference.
  Tensor output(c.output_shape()), hn(state), cn(lstm ? cell_state : std::vector<int64_t>{0});
  garbage(output.span());
  garbage(hn.span());
  garbage(cn.span());
  args.output = output.span();
  args.hn = hn.span();
  args.cn = cn.span();
  rnn.forward(args);
  expect_close(output.span(), c.output, c.output_shape(), c.name + " output", forward);
  expect_close(hn.span(), c.hn, state, c.name + " hn", forward);
  if (lstm) expect_close(cn.span(), c.cn, cell_state, c.name + " cn", forward);

  // Training forward, then backward.
  Tensor train_output(c.output_shape()), train_hn(state), train_cn(cn.shape());
  garbage(train_output.span());
  garbage(train_hn.span());
  garbage(train_cn.span());
  args.output = train_output.span();
  args.hn = train_hn.span();
  args.cn = train_cn.span();
  Workspace workspace;
  rnn.forward(args, workspace);
  expect_close(train_output.span(), c.output, c.output_shape(), c.name + " output (training)",
               forward);
  expect_close(train_hn.span(), c.hn, state, c.name + " hn (training)", forward);
  if (lstm) expect_close(train_cn.span(), c.cn, cell_state, c.name + " cn (training)", forward);

  std::vector<float> grad_input(c.input.vector().size(), kGarbage);
  std::vector<float> grad_h0(static_cast<size_t>(state_size), kGarbage);
  std::vector<float> grad_c0(lstm ? static_cast<size_t>(shape_elements(cell_state)) : 0, kGarbage);
  Weights grad_weights(spec);
  garbage(grad_weights.flat());  // overwritten, not accumulated into
  BackwardArgs<float> back;
  back.grad_output = c.grad_output.span();
  back.grad_hn = c.grad_hn.span();
  back.grad_cn = c.grad_cn.span();
  back.grad_input = grad_input;
  back.grad_h0 = grad_h0;
  back.grad_c0 = grad_c0;
  back.grad_weights = &grad_weights;
  rnn.backward(back, workspace);

  // The gradient file names exactly the library's parameters, plus input, h0 (and c0).
  std::set<std::string> expected_keys = {"input", "h0"};
  if (lstm) expected_keys.insert("c0");
  for (const ParamInfo& info : parameter_list(spec)) expected_keys.insert(info.name);
  std::set<std::string> keys;
  for (const auto& [key, value] : c.grads) keys.insert(key);
  ASSERT_EQ(keys, expected_keys) << c.name << ": grads.npz keys";

  expect_close(grad_input, c.grads.at("input"), c.input.shape(), c.name + " grad input", gradient);
  expect_close(grad_h0, c.grads.at("h0"), state, c.name + " grad h0", gradient);
  if (lstm) expect_close(grad_c0, c.grads.at("c0"), cell_state, c.name + " grad c0", gradient);
  for (const ParamInfo& info : grad_weights.params()) {
    const std::span<const float> ours = std::as_const(grad_weights).get(info.name);
    expect_close(ours, c.grads.at(info.name), info.shape, c.name + " grad " + info.name, gradient);
  }
}

struct Param {
  CellKind cell;
  ExecOptions options;
  std::string name;
};

std::vector<Param> all_params() {
  std::vector<Param> params;
  std::set<std::string> names;
  for (CellKind cell : kAllCellKinds) {
    for (const ExecOptions& options : tested_exec_options()) {
      std::string name = std::string(to_string(cell)) + "_" + exec_name(options);
      if (!names.insert(name).second) name.append("_").append(std::to_string(params.size()));
      names.insert(name);
      params.push_back({cell, options, name});
    }
  }
  return params;
}

void PrintTo(const Param& param, std::ostream* out) { *out << param.name; }

class TorchAgreement : public ::testing::TestWithParam<Param> {};

TEST_P(TorchAgreement, MatchesPyTorch) {
  const Param& param = GetParam();
  const char* variable = std::getenv(kCasesVariable);
  ASSERT_TRUE(variable != nullptr && *variable != '\0')
      << kCasesVariable << " is not set. It names the directory of PyTorch cases that "
      << "CTest generates before this test (fixture torch_cases, which runs "
      << "scripts/torch_cases.py with a Python that has torch); run the test through ctest, "
      << "or generate the cases with `python3 scripts/torch_cases.py --out DIR` and set "
      << kCasesVariable << "=DIR.";
  const fs::path root(variable);
  ASSERT_TRUE(fs::is_regular_file(root / "cases.json"))
      << kCasesVariable << "=" << root.string()
      << " holds no cases.json: not a complete output of scripts/torch_cases.py";
  const nlohmann::json index = read_json(root / "cases.json");
  // The kinds PyTorch has (gru_rb, for one, it has not: the reference and ONNX check it).
  const std::vector<std::string> torch_cells =
      index.value("cells", std::vector<std::string>{"rnn_tanh", "rnn_relu", "lstm", "gru"});
  if (std::find(torch_cells.begin(), torch_cells.end(), to_string(param.cell)) == torch_cells.end()) {
    GTEST_SKIP() << "PyTorch has no " << to_string(param.cell);
  }

  Worst forward, gradient;
  int cases = 0;
  for (const nlohmann::json& entry : index.at("cases")) {
    const std::string dir_name = entry.get<std::string>();
    const nlohmann::json header = read_json(root / dir_name / "case.json");
    if (header.at("cell").get<std::string>() != to_string(param.cell)) continue;
    SCOPED_TRACE("case " + dir_name);
    ++cases;
    try {
      check_case(load_case(root / dir_name), param.options, forward, gradient);
    } catch (const std::exception& error) {
      ADD_FAILURE() << dir_name << ": " << error.what();
    }
  }
  ASSERT_GT(cases, 0) << root.string() << " holds no case for cell " << to_string(param.cell);

  RecordProperty("cases", cases);
  RecordProperty("worst_forward", forward.describe());
  RecordProperty("worst_gradient", gradient.describe());
  std::printf("[  torch   ] %s: %d cases, worst relative error forward %s, gradients %s\n",
              param.name.c_str(), cases, forward.describe().c_str(), gradient.describe().c_str());
}

INSTANTIATE_TEST_SUITE_P(, TorchAgreement, ::testing::ValuesIn(all_params()),
                         [](const ::testing::TestParamInfo<Param>& param_info) {
                           return param_info.param.name;
                         });

}  // namespace
}  // namespace rnnwave::testing
