// The reference RNN refuses malformed arguments with std::invalid_argument naming the values.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "reference/reference_rnn.h"
#include "reference/reference_test_support.h"

namespace rnnref::test_support {
namespace {

// A valid call: 2-layer bidirectional LSTM, I = 3, H = 2, T = 3, N = 2. Each test breaks one
// argument and expects forward() (and backward()) to throw a message containing `expected`.
struct Call {
  Config config{Cell::lstm, 3, 2, 2, true};
  Params params;
  Problem problem;
  std::vector<double> grad_output;
  std::vector<double> grad_hn;
  std::vector<double> grad_cn;

  Call() {
    std::mt19937_64 rng(7);
    params = random_params(config, rng);
    problem = random_problem(config, 3, 2, {2, 3}, true, rng);
    grad_output = random_vector(3 * 2 * 4, rng, 1.0);
    grad_hn = random_vector(state_size(config, 2), rng, 1.0);
    grad_cn = random_vector(state_size(config, 2), rng, 1.0);
  }
};

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no exception)";
}

// Breaks a valid call with `mutate`; forward() and backward() must both refuse it.
void expect_rejected(const std::function<void(Call&)>& mutate, const std::string& expected) {
  Call call;
  mutate(call);
  const std::string f = message_of([&] { forward(call.config, call.params, call.problem); });
  EXPECT_NE(f.find(expected), std::string::npos) << "forward: " << f;
  const std::string b = message_of([&] {
    backward(call.config, call.params, call.problem, call.grad_output, call.grad_hn, call.grad_cn);
  });
  EXPECT_NE(b.find(expected), std::string::npos) << "backward: " << b;
}

// Breaks only the backward-only arguments.
void expect_backward_rejected(const std::function<void(Call&)>& mutate,
                              const std::string& expected) {
  Call call;
  mutate(call);
  EXPECT_NO_THROW(forward(call.config, call.params, call.problem));
  const std::string b = message_of([&] {
    backward(call.config, call.params, call.problem, call.grad_output, call.grad_hn, call.grad_cn);
  });
  EXPECT_NE(b.find(expected), std::string::npos) << "backward: " << b;
}

TEST(ReferenceValidation, TheBaselineCallIsValid) {
  Call call;
  EXPECT_NO_THROW(forward(call.config, call.params, call.problem));
  EXPECT_NO_THROW(backward(call.config, call.params, call.problem, call.grad_output, call.grad_hn,
                           call.grad_cn));
  // Empty optional tensors are zeros.
  call.problem.lengths.clear();
  call.problem.h0.clear();
  call.problem.c0.clear();
  EXPECT_NO_THROW(backward(call.config, call.params, call.problem, call.grad_output, {}, {}));
}

TEST(ReferenceValidation, RejectsBadSizes) {
  expect_rejected([](Call& c) { c.config.input_size = 0; }, "input_size: expected >= 1, got 0");
  expect_rejected([](Call& c) { c.config.hidden_size = -1; }, "hidden_size: expected >= 1, got -1");
  expect_rejected([](Call& c) { c.config.layers = 0; }, "layers: expected >= 1, got 0");
  expect_rejected([](Call& c) { c.problem.steps = 0; }, "steps: expected >= 1, got 0");
  expect_rejected([](Call& c) { c.problem.batch = 0; }, "batch: expected >= 1, got 0");
  expect_rejected([](Call& c) { c.config.cell = static_cast<Cell>(42); }, "unknown cell kind 42");
  EXPECT_THROW(gates(static_cast<Cell>(-1)), std::invalid_argument);
}

TEST(ReferenceValidation, RejectsBadParameters) {
  expect_rejected([](Call& c) { c.params.layers.pop_back(); },
                  "params.layers: expected 4 (layers * directions), got 3");
  // Layer 1 reads both directions of layer 0: w_ih is [G*H, D*H] = [8, 4].
  expect_rejected([](Call& c) { c.params.layers[2].w_ih.resize(8 * 3); },
                  "params.layers[2].w_ih: expected 32 values ([8, 4]), got 24");
  expect_rejected([](Call& c) { c.params.layers[1].w_hh.pop_back(); },
                  "params.layers[1].w_hh: expected 16 values ([8, 2]), got 15");
  expect_rejected([](Call& c) { c.params.layers[0].b_ih.clear(); },
                  "params.layers[0].b_ih: expected 8 values ([8]), got 0");
  expect_rejected([](Call& c) { c.params.layers[3].b_hh.push_back(1.0); },
                  "params.layers[3].b_hh: expected 8 values ([8]), got 9");
  // The same parameters do not fit a unidirectional model.
  expect_rejected([](Call& c) { c.config.bidirectional = false; },
                  "params.layers: expected 2 (layers * directions), got 4");
}

TEST(ReferenceValidation, RejectsBadProblems) {
  expect_rejected([](Call& c) { c.problem.input.pop_back(); },
                  "input: expected 18 values ([3, 2, 3]), got 17");
  expect_rejected([](Call& c) { c.problem.lengths.pop_back(); },
                  "lengths: expected 2 values ([2]), got 1");
  expect_rejected([](Call& c) { c.problem.lengths[1] = 0; },
                  "lengths[1]: expected in [1, 3], got 0");
  expect_rejected([](Call& c) { c.problem.lengths[0] = 4; },
                  "lengths[0]: expected in [1, 3], got 4");
  expect_rejected([](Call& c) { c.problem.h0.resize(4 * 2 * 3); },
                  "h0: expected 16 values ([4, 2, 2]), got 24");
  expect_rejected([](Call& c) { c.problem.c0.pop_back(); },
                  "c0: expected 16 values ([4, 2, 2]), got 15");
  expect_rejected(
      [](Call& c) {
        c.config.cell = Cell::gru;
        std::mt19937_64 rng(1);
        c.params = random_params(c.config, rng);
        c.grad_cn.clear();
      },
      "c0: must be empty");
}

TEST(ReferenceValidation, RejectsBadOutputGradients) {
  expect_backward_rejected([](Call& c) { c.grad_output.resize(3 * 2 * 2); },
                           "grad_output: expected 24 values ([3, 2, 4]), got 12");
  expect_backward_rejected([](Call& c) { c.grad_output.clear(); },
                           "grad_output: expected 24 values ([3, 2, 4]), got 0");
  expect_backward_rejected([](Call& c) { c.grad_hn.pop_back(); },
                           "grad_hn: expected 16 values ([4, 2, 2]), got 15");
  expect_backward_rejected([](Call& c) { c.grad_cn.push_back(0.0); },
                           "grad_cn: expected 16 values ([4, 2, 2]), got 17");
  expect_backward_rejected(
      [](Call& c) {
        c.config.cell = Cell::rnn_tanh;
        std::mt19937_64 rng(1);
        c.params = random_params(c.config, rng);
        c.problem.c0.clear();
      },
      "grad_cn: must be empty");
}

}  // namespace
}  // namespace rnnref::test_support
