// ExecOptions::single_weight_copy: one packed copy of each weight, turned between the
// forward and the backward form as passes need them; every result has the bits of a
// model that keeps both copies, in any order of calls and from two threads at once.
#include <gtest/gtest.h>

#include <atomic>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "support/problem.h"

namespace rnnwave::testing {
namespace {

/// What one call of a sequence produced: outputs, and the gradients of a backward.
struct Results {
  std::vector<float> output, hn, cn, grad_input, grad_h0, grad_c0, weights;
  bool operator==(const Results& o) const {
    return same_bits(output, o.output) && same_bits(hn, o.hn) && same_bits(cn, o.cn) &&
           same_bits(grad_input, o.grad_input) && same_bits(grad_h0, o.grad_h0) &&
           same_bits(grad_c0, o.grad_c0) && same_bits(weights, o.weights);
  }
};

Results inference(const Rnn& rnn, const Problem<float>& p) {
  ForwardOut<float> out;
  rnn.forward(forward_args(p, out));
  return {out.output, out.hn, out.cn, {}, {}, {}, {}};
}

/// A training forward and backward; the input's gradient only if `input_grad`.
Results training(const Rnn& rnn, const Problem<float>& p, bool input_grad) {
  ForwardOut<float> out;
  const Grads<float> g = run_backward(rnn, p, &out, 0.0, input_grad);
  const std::span<const float> weights = g.weights.flat();
  return {out.output, out.hn, out.cn, g.input, g.h0, g.c0, {weights.begin(), weights.end()}};
}

/// Training with and without the input's gradient, inference between, new weights, and
/// again: each call's results from the model with `options`.
std::vector<Results> call_sequence(const Problem<float>& p, const ExecOptions& options) {
  Rnn rnn(Weights::uniform(p.spec, 1), options);
  std::vector<Results> results;
  results.push_back(training(rnn, p, true));
  results.push_back(training(rnn, p, false));
  results.push_back(inference(rnn, p));
  results.push_back(training(rnn, p, true));
  results.push_back(training(rnn, p, true));
  rnn.set_weights(Weights::uniform(p.spec, 2));
  results.push_back(training(rnn, p, false));
  results.push_back(inference(rnn, p));
  rnn.set_weights(Weights::uniform(p.spec, 3));
  results.push_back(inference(rnn, p));
  results.push_back(training(rnn, p, true));
  return results;
}

class SingleWeightCopy : public ::testing::TestWithParam<CellVariant> {};

TEST_P(SingleWeightCopy, EveryCallHasTheBitsOfTwoCopies) {
  Case c = case_of(GetParam());
  c.layers = 2;
  c.bidirectional = true;
  c.variable_lengths = true;
  c.input_size = 13;
  c.hidden_size = 20;
  c.steps = 5;
  const Problem<float> p = make_problem<float>(c, 7);
  for (const Schedule schedule : {Schedule::wavefront, Schedule::layerwise, Schedule::sequential}) {
    ExecOptions two{schedule, schedule == Schedule::sequential ? 1 : 2};
    ExecOptions one = two;
    one.single_weight_copy = true;
    const std::vector<Results> expected = call_sequence(p, two), got = call_sequence(p, one);
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(got[i] == expected[i]) << to_string(schedule) << ": call " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cells, SingleWeightCopy, ::testing::ValuesIn(all_cell_variants()),
                         [](const auto& param_info) { return variant_name(param_info.param); });

TEST(SingleWeightCopyThreads, InferenceAndTrainingAtOnceGiveTheBitsOfOneCallAtATime) {
  Case c;
  c.layers = 2;
  c.bidirectional = true;
  c.input_size = 16;
  c.hidden_size = 24;
  c.steps = 6;
  c.batch = 4;
  const Problem<float> p = make_problem<float>(c, 11);
  const Weights weights = Weights::uniform(p.spec, 12);
  const Rnn reference(weights, ExecOptions{Schedule::wavefront, 1});
  const Results inferred = inference(reference, p), trained = training(reference, p, true);
  ExecOptions options{Schedule::wavefront, 1};
  options.single_weight_copy = true;
  const Rnn rnn(weights, options);
  std::atomic<int> wrong_inference = 0, wrong_training = 0;
  constexpr int kCalls = 40;
  std::thread other([&] {
    for (int i = 0; i < kCalls; ++i) wrong_inference += !(inference(rnn, p) == inferred);
  });
  for (int i = 0; i < kCalls; ++i) wrong_training += !(training(rnn, p, true) == trained);
  other.join();
  EXPECT_EQ(wrong_inference, 0);
  EXPECT_EQ(wrong_training, 0);
}

}  // namespace
}  // namespace rnnwave::testing
