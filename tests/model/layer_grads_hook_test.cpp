// BackwardArgs::on_layer_grads_final: called once per layer, top layer first, when the
// layer's weight gradients are final; changes no bit; its exception reaches the caller.
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "rnnwave/error.h"
#include "support/exec_options.h"
#include "support/problem.h"

namespace rnnwave::testing {
namespace {

class LayerGradsHook : public ::testing::TestWithParam<ExecOptions> {};

Case hook_case() {
  Case c;
  c.cell = CellKind::lstm;
  c.layers = 3;
  c.bidirectional = true;
  c.variable_lengths = true;
  c.hidden_size = 20;
  c.steps = 11;
  c.batch = 5;
  return c;
}

/// The backward of run_backward with the hook: each call copies the layer's gradients as
/// they are at that moment into `seen` and appends the layer to `order`.
Grads<float> backward_with_hook(const Rnn& rnn, const Problem<float>& p, std::vector<int64_t>& order,
                                BasicWeights<float>& seen) {
  ForwardOut<float> out;
  Workspace ws;
  rnn.forward(forward_args(p, out), ws);
  Grads<float> g(p.spec);
  BackwardArgs<float> b;
  b.grad_output = p.grad_output;
  b.grad_hn = p.grad_hn;
  b.grad_cn = p.grad_cn;
  b.grad_weights = &g.weights;
  b.on_layer_grads_final = [&](int64_t layer) {
    order.push_back(layer);
    for (size_t i = 0; i < g.weights.params().size(); ++i) {
      if (g.weights.params()[i].layer != layer) continue;
      const std::span<const float> now = g.weights.values(i);
      std::copy(now.begin(), now.end(), seen.values(i).begin());
    }
  };
  rnn.backward(b, ws);
  return g;
}

TEST_P(LayerGradsHook, OncePerLayerTopFirstAfterTheLayerIsFinal) {
  const Problem<float> p = make_problem<float>(hook_case(), 21);
  const Rnn rnn(Weights::uniform(p.spec, 22), GetParam());
  const Grads<float> plain = run_backward(rnn, p);
  for (int repeat = 0; repeat < 3; ++repeat) {  // a different interleaving each time, perhaps
    std::vector<int64_t> order;
    BasicWeights<float> seen(p.spec);
    const Grads<float> hooked = backward_with_hook(rnn, p, order, seen);
    EXPECT_EQ(order, (std::vector<int64_t>{2, 1, 0}));
    // What the hook saw is what the pass left: nothing was written after the call.
    const std::span<const float> final_values = hooked.weights.flat();
    const std::span<const float> seen_values = seen.flat();
    EXPECT_TRUE(same_bits(std::vector<float>(seen_values.begin(), seen_values.end()),
                          std::vector<float>(final_values.begin(), final_values.end())));
    // And the hook changes no bit.
    const std::span<const float> plain_values = plain.weights.flat();
    EXPECT_TRUE(same_bits(std::vector<float>(plain_values.begin(), plain_values.end()),
                          std::vector<float>(final_values.begin(), final_values.end())));
  }
}

TEST_P(LayerGradsHook, AnExceptionFromTheHookReachesTheCaller) {
  const Problem<float> p = make_problem<float>(hook_case(), 23);
  const Rnn rnn(Weights::uniform(p.spec, 24), GetParam());
  ForwardOut<float> out;
  Workspace ws;
  rnn.forward(forward_args(p, out), ws);
  BasicWeights<float> grads(p.spec);
  BackwardArgs<float> b;
  b.grad_output = p.grad_output;
  b.grad_weights = &grads;
  b.on_layer_grads_final = [](int64_t layer) {
    if (layer == 1) throw std::runtime_error("reduction failed");
  };
  EXPECT_THROW(rnn.backward(b, ws), std::runtime_error);
}

TEST(LayerGradsHookArgs, NeedsGradWeights) {
  const Problem<float> p = make_problem<float>(hook_case(), 25);
  const Rnn rnn(Weights::uniform(p.spec, 26));
  ForwardOut<float> out;
  Workspace ws;
  rnn.forward(forward_args(p, out), ws);
  BackwardArgs<float> b;
  b.grad_output = p.grad_output;
  b.on_layer_grads_final = [](int64_t) {};
  try {
    rnn.backward(b, ws);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("on_layer_grads_final needs grad_weights"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Schedules, LayerGradsHook, ::testing::ValuesIn(tested_exec_options()),
                         [](const auto& param_info) { return exec_name(param_info.param); });

}  // namespace
}  // namespace rnnwave::testing
