// Finite-difference checks, in double precision, of every backward of the training layers,
// and of a whole classifier (embedding -> dropout -> recurrent stack -> pooling -> linear ->
// cross-entropy) chained through the public API.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "rnnwave/rnnwave.h"
#include "rnnwave/train/train.h"
#include "train/train_test_support.h"

namespace rnnwave::testing {
namespace {

TEST(TrainGradCheck, Linear) {
  const int64_t rows = 5, in = 4, out = 3;
  BasicLinear<double> layer = BasicLinear<double>::uniform(in, out, 11);
  std::vector<double> x = random_values<double>(rows * in, 12);
  const std::vector<double> coeff = random_values<double>(rows * out, 13);
  std::vector<double> y(rows * out), grad_x(rows * in);
  BasicLinear<double> grad(in, out);
  layer.backward(x, coeff, rows, grad_x, &grad);
  const auto loss = [&] {
    layer.forward(x, rows, y);
    return dot<double>(y, coeff);
  };
  GradChecker checker;
  checker.check_all(x, grad_x, loss, "x");
  checker.check_all(layer.weight(), grad.weight(), loss, "weight");
  checker.check_all(layer.bias(), grad.bias(), loss, "bias");
  checker.report("linear");
}

TEST(TrainGradCheck, Embedding) {
  const int64_t vocab = 6, size = 3;
  BasicEmbedding<double> table = BasicEmbedding<double>::normal(vocab, size, 21);
  const std::vector<int64_t> ids = {0, 5, 2, 5, 5, 1, 0};
  const std::vector<double> coeff = random_values<double>(static_cast<int64_t>(ids.size()) * size, 22);
  std::vector<double> out(coeff.size());
  BasicEmbedding<double> grad(vocab, size);
  table.backward(ids, coeff, &grad);
  const auto loss = [&] {
    table.forward(ids, out);
    return dot<double>(out, coeff);
  };
  GradChecker checker;
  checker.check_all(table.weight(), grad.weight(), loss, "weight");
  checker.report("embedding");
}

TEST(TrainGradCheck, CrossEntropyWeightedAndPlain) {
  const int64_t rows = 5, classes = 4;
  std::vector<double> logits = random_values<double>(rows * classes, 31, -3, 3);
  for (int64_t c = 0; c < classes; ++c) logits[2 * classes + c] += 50;  // a shifted row
  const std::vector<int64_t> targets = {3, 0, 1, 1, 2};
  const std::vector<double> weights = {1, 0, 0.5, 2, 1};
  for (const bool weighted : {true, false}) {
    const std::span<const double> w = weighted ? std::span<const double>(weights) : std::span<const double>();
    std::vector<double> grad(logits.size());
    softmax_cross_entropy<double>(logits, rows, classes, targets, w, grad);
    const auto loss = [&] {
      return softmax_cross_entropy<double>(logits, rows, classes, targets, w, {}).mean;
    };
    GradChecker checker;
    checker.check_all(logits, grad, loss, weighted ? "weighted logits" : "logits");
    checker.report(weighted ? "cross-entropy, row weights" : "cross-entropy");
  }
}

TEST(TrainGradCheck, MeanSquaredError) {
  std::vector<double> predictions = random_values<double>(6, 41);
  const std::vector<double> targets = random_values<double>(6, 42);
  const std::vector<double> weights = {1, 2, 0, 1, 0.5, 1};
  std::vector<double> grad(6);
  mse_loss<double>(predictions, targets, weights, grad);
  GradChecker checker;
  checker.check_all(predictions, grad, [&] {
    return mse_loss<double>(predictions, targets, weights, {}).mean;
  }, "predictions");
  checker.report("mse");
}

class TrainPoolingGradCheck : public ::testing::TestWithParam<std::tuple<Pooling, int64_t>> {};

TEST_P(TrainPoolingGradCheck, MatchesFiniteDifferences) {
  const auto [pooling, directions] = GetParam();
  const SequenceShape shape{4, 3, directions, 2};
  const int64_t width = directions * shape.hidden;
  const std::vector<int64_t> lengths = {4, 1, 3};
  std::vector<double> output = random_values<double>(shape.steps * shape.batch * width, 51);
  const std::vector<double> coeff = random_values<double>(shape.batch * width, 52);
  std::vector<double> pooled(coeff.size());
  std::vector<double> grad(output.size(), 7.0);  // every element must be written
  pool_sequence_backward<double>(pooling, shape, lengths, coeff, grad);
  GradChecker checker;
  checker.check_all(output, grad, [&] {
    pool_sequence<double>(pooling, shape, output, lengths, pooled);
    return dot<double>(pooled, coeff);
  }, "output");
  checker.report(std::string("pooling ") + std::string(to_string(pooling)) + " D=" + std::to_string(directions));
}

INSTANTIATE_TEST_SUITE_P(All, TrainPoolingGradCheck,
                         ::testing::Combine(::testing::ValuesIn(kAllPoolings),
                                            ::testing::Values(int64_t{1}, int64_t{2})),
                         [](const auto& param_info) {
                           return std::string(to_string(std::get<0>(param_info.param))) + "_d" +
                                  std::to_string(std::get<1>(param_info.param));
                         });

TEST(TrainGradCheck, Dropout) {
  const Dropout dropout(0.3, 61, 2);
  std::vector<double> x = random_values<double>(40, 62);
  const std::vector<double> coeff = random_values<double>(40, 63);
  std::vector<double> y(40), grad(40);
  dropout.backward<double>(coeff, grad, Phase::training, 5);
  GradChecker checker;
  checker.check_all(x, grad, [&] {
    dropout.forward<double>(x, y, Phase::training, 5);
    return dot<double>(y, coeff);
  }, "x");
  checker.report("dropout");
}

/// A sequence classifier assembled from the public API, checked end to end: ids [T, N] ->
/// embedding [T, N, E] -> dropout -> bidirectional LSTM [T, N, 2H] (variable lengths) ->
/// last-state pooling [N, 2H] -> linear [N, C] -> cross-entropy.
TEST(TrainGradCheck, ClassifierEndToEnd) {
  const int64_t steps = 4, batch = 3, vocab = 7, embed = 3, hidden = 2, classes = 3;
  const ModelSpec spec{CellKind::lstm, embed, hidden, 1, true};
  const std::vector<int64_t> ids = random_ids(steps * batch, vocab, 71);
  const std::vector<int64_t> lengths = {4, 2, 3};
  const std::vector<int64_t> targets = {2, 0, 1};
  BasicEmbedding<double> embedding = BasicEmbedding<double>::normal(vocab, embed, 72);
  BasicWeights<double> weights = BasicWeights<double>::uniform(spec, 73);
  BasicLinear<double> head = BasicLinear<double>::uniform(2 * hidden, classes, 74);
  const Dropout dropout(0.25, 75, 0);
  const SequenceShape shape{steps, batch, 2, hidden};

  std::vector<double> embedded(steps * batch * embed), dropped(embedded.size());
  std::vector<double> output(steps * batch * 2 * hidden), pooled(batch * 2 * hidden);
  std::vector<double> logits(batch * classes), grad_logits(logits.size());
  BasicWorkspace<double> workspace;
  BasicRnn<double> rnn(weights, ExecOptions{Schedule::sequential, 1});
  const auto forward = [&](bool keep) {
    embedding.forward(ids, embedded);
    dropout.forward<double>(embedded, dropped, Phase::training, 3);
    rnn.set_weights(weights);
    ForwardArgs<double> args;
    args.steps = steps;
    args.batch = batch;
    args.input = dropped;
    args.lengths = lengths;
    args.output = output;
    if (keep) rnn.forward(args, workspace);
    else rnn.forward(args);
    pool_sequence<double>(Pooling::last, shape, output, lengths, pooled);
    head.forward(pooled, batch, logits);
    return softmax_cross_entropy<double>(logits, batch, classes, targets, {},
                                         keep ? std::span<double>(grad_logits) : std::span<double>())
        .mean;
  };

  forward(true);
  BasicLinear<double> head_grad(2 * hidden, classes);
  std::vector<double> grad_pooled(pooled.size()), grad_output(output.size());
  std::vector<double> grad_dropped(dropped.size()), grad_embedded(embedded.size());
  head.backward(pooled, grad_logits, batch, grad_pooled, &head_grad);
  pool_sequence_backward<double>(Pooling::last, shape, lengths, grad_pooled, grad_output);
  BasicWeights<double> rnn_grad(spec);
  BackwardArgs<double> back;
  back.grad_output = grad_output;
  back.grad_input = grad_dropped;
  back.grad_weights = &rnn_grad;
  rnn.backward(back, workspace);
  dropout.backward<double>(grad_dropped, grad_embedded, Phase::training, 3);
  BasicEmbedding<double> embedding_grad(vocab, embed);
  embedding.backward(ids, grad_embedded, &embedding_grad);

  const auto loss = [&] { return forward(false); };
  GradChecker checker;
  checker.check_all(embedding.weight(), embedding_grad.weight(), loss, "embedding.weight");
  checker.check_all(weights.flat(), rnn_grad.flat(), loss, "rnn");
  checker.check_all(head.weight(), head_grad.weight(), loss, "head.weight");
  checker.check_all(head.bias(), head_grad.bias(), loss, "head.bias");
  checker.report("classifier end to end");
}

}  // namespace
}  // namespace rnnwave::testing
