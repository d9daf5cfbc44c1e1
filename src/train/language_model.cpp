#include "train/language_model.h"

#include <omp.h>

#include <optional>

#include "common/strings.h"
#include "rnnwave/train/dropout.h"
#include "train/parallel.h"
#include "train/run_seeds.h"

namespace rnnwave::train {
namespace {

/// pytorch/examples word_language_model: initrange = 0.1.
constexpr double kInitRange = 0.1;

ModelSpec stack_spec(const TrainConfig& config) {
  const int64_t embedding = config.embedding_size > 0 ? config.embedding_size : config.hidden_size;
  ModelSpec spec{config.cell, embedding, config.hidden_size, config.layers, false};
  spec.validate();
  return spec;
}

/// values[i] = U[-range, range) drawn as counter_uniform(key, i).
void fill_uniform(std::span<float> values, uint64_t key, double range) {
  parallel_blocks(static_cast<int64_t>(values.size()), kElementBlock, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      values[i] = static_cast<float>(-range + 2.0 * range * counter_uniform(key, static_cast<uint64_t>(i)));
    }
  });
}

/// Inside a task of the forward graph, the output layer computes on its own thread only.
class TaskThreads {
 public:
  TaskThreads() {
    if (omp_in_parallel()) one_.emplace();
  }

 private:
  std::optional<OneThread> one_;
};

}  // namespace

LanguageModel::LanguageModel(const TrainConfig& config, int64_t vocab_size)
    : spec_(stack_spec(config)),
      dropout_(config.dropout),
      embedding_(vocab_size, spec_.input_size),
      embedding_grad_(vocab_size, spec_.input_size),
      weights_(Weights::uniform(spec_, init_seed(config.seed, kStreamStack))),
      weight_grads_(spec_),
      rnn_(weights_, config.exec),
      head_(spec_.hidden_size, vocab_size),
      head_grad_(spec_.hidden_size, vocab_size) {
  fill_uniform(embedding_.weight(), init_seed(config.seed, kStreamEmbedding), kInitRange);
  fill_uniform(head_.weight(), init_seed(config.seed, kStreamHead), kInitRange);
}

std::vector<ModelParam> LanguageModel::parameters() {
  std::vector<ModelParam> params;
  params.push_back({"embedding.weight", {embedding_.vocab_size(), embedding_.embedding_size()},
                    embedding_.weight(), embedding_grad_.weight()});
  for (const ParamInfo& info : weights_.params()) {
    params.push_back({"rnn." + info.name, info.shape, weights_.get(info.name),
                      weight_grads_.get(info.name)});
  }
  const int64_t in = head_.in_features(), out = head_.out_features();
  params.push_back({"head.weight", {out, in}, head_.weight(), head_grad_.weight()});
  params.push_back({"head.bias", {out}, head_.bias(), head_grad_.bias()});
  return params;
}

void LanguageModel::parameters_changed() { rnn_.set_weights(weights_); }

void LanguageModel::set_exec(const ExecOptions& exec) { rnn_.set_options(exec); }

LossValue LanguageModel::train_batch(int64_t steps, int64_t batch, std::span<const int64_t> inputs,
                                     std::span<const int64_t> targets, State& state, uint64_t key) {
  const int64_t T = steps, N = batch, M = T * N;
  const int64_t E = spec_.input_size, H = spec_.hidden_size, V = vocab_size();
  const int64_t states = spec_.layers * N * H;
  if (static_cast<int64_t>(inputs.size()) != M || static_cast<int64_t>(targets.size()) != M) {
    fail("language model: inputs and targets must be [T, N] = [", T, ", ", N, "], got ",
         inputs.size(), " and ", targets.size(), " ids");
  }
  const bool lstm = has_cell_state(spec_.cell);
  embedded_.resize(static_cast<size_t>(M * E));
  dropped_embedded_.resize(embedded_.size());
  output_.resize(static_cast<size_t>(M * H));
  head_input_.resize(output_.size());
  grad_output_.resize(output_.size());
  grad_logits_.resize(static_cast<size_t>(M * V));
  hn_.resize(static_cast<size_t>(states));
  cn_.resize(lstm ? static_cast<size_t>(states) : 0);
  step_loss_.assign(static_cast<size_t>(T), 0.0);

  const Dropout embedding_dropout(dropout_, key, kDropEmbedding);
  const Dropout head_dropout(dropout_, key, kDropHead);
  embedding_.forward(inputs, embedded_);
  embedding_dropout.forward<float>(embedded_, dropped_embedded_, Phase::training, 0);

  // The output layer of steps [t0, t1): writes rows t*N .. (t+1)*N of head_input_,
  // grad_logits_ and grad_output_ and step_loss_[t], nothing else.
  const float scale = static_cast<float>(1.0 / static_cast<double>(T));
  const auto output_block = [&](int64_t t0, int64_t t1) {
    const TaskThreads threads;
    std::vector<float> logits(static_cast<size_t>(N * V)), grad_rows(static_cast<size_t>(N * H));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t row = t * N;
      const std::span<const float> out_rows(output_.data() + row * H, static_cast<size_t>(N * H));
      const std::span<float> in_rows(head_input_.data() + row * H, static_cast<size_t>(N * H));
      const std::span<float> grad(grad_logits_.data() + row * V, static_cast<size_t>(N * V));
      head_dropout.forward<float>(out_rows, in_rows, Phase::training, 0, static_cast<uint64_t>(row * H));
      head_.forward(in_rows, N, logits);
      // d(mean over the step's N rows)/d logits, scaled to the mean over all T*N rows.
      const LossValue loss = softmax_cross_entropy<float>(logits, N, V, targets.subspan(row, N), {}, grad);
      for (float& g : grad) g *= scale;
      step_loss_[t] = loss.total;
      head_.backward(in_rows, grad, N, grad_rows, nullptr);
      head_dropout.backward<float>(grad_rows, std::span<float>(grad_output_.data() + row * H, grad_rows.size()),
                                   Phase::training, 0, static_cast<uint64_t>(row * H));
    }
  };

  ForwardArgs<float> args;
  args.steps = T;
  args.batch = N;
  args.input = dropped_embedded_;
  args.h0 = state.h;
  if (lstm) args.c0 = state.c;
  args.output = output_;
  args.hn = hn_;
  if (lstm) args.cn = cn_;
  args.dropout = dropout_;
  args.dropout_seed = stack_dropout_seed(key);
  args.on_output_block = output_block;
  rnn_.forward(args, workspace_);

  // The head's weight gradient over all rows at once (its sum over rows fixes the order).
  head_.backward(head_input_, grad_logits_, M, {}, &head_grad_);
  grad_dropped_embedded_.resize(embedded_.size());
  grad_embedded_.resize(embedded_.size());
  BackwardArgs<float> back;
  back.grad_output = grad_output_;
  back.grad_input = grad_dropped_embedded_;
  back.grad_weights = &weight_grads_;
  rnn_.backward(back, workspace_);
  embedding_dropout.backward<float>(grad_dropped_embedded_, grad_embedded_, Phase::training, 0);
  embedding_.backward(inputs, grad_embedded_, &embedding_grad_);

  state.h = hn_;
  state.c = cn_;
  LossValue value;
  for (double partial : step_loss_) value.total += partial;
  value.weight = static_cast<double>(M);
  value.mean = value.total / value.weight;
  return value;
}

double LanguageModel::eval_batch(int64_t steps, int64_t batch, std::span<const int64_t> inputs,
                                 std::span<const int64_t> targets, State& state) const {
  const int64_t T = steps, N = batch, M = T * N;
  const int64_t E = spec_.input_size, H = spec_.hidden_size, V = vocab_size();
  const int64_t states = spec_.layers * N * H;
  if (static_cast<int64_t>(inputs.size()) != M || static_cast<int64_t>(targets.size()) != M) {
    fail("language model: inputs and targets must be [T, N] = [", T, ", ", N, "], got ",
         inputs.size(), " and ", targets.size(), " ids");
  }
  const bool lstm = has_cell_state(spec_.cell);
  std::vector<float> embedded(static_cast<size_t>(M * E)), output(static_cast<size_t>(M * H));
  std::vector<float> hn(static_cast<size_t>(states)), cn(lstm ? static_cast<size_t>(states) : 0);
  std::vector<double> step_nll(static_cast<size_t>(T), 0.0);
  embedding_.forward(inputs, embedded);

  const auto output_block = [&](int64_t t0, int64_t t1) {
    const TaskThreads threads;
    std::vector<float> logits(static_cast<size_t>(N * V));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t row = t * N;
      head_.forward(std::span<const float>(output.data() + row * H, static_cast<size_t>(N * H)), N, logits);
      step_nll[t] = -log_likelihood<float>(logits, N, V, targets.subspan(row, N), {});
    }
  };
  ForwardArgs<float> args;
  args.steps = T;
  args.batch = N;
  args.input = embedded;
  args.h0 = state.h;
  if (lstm) args.c0 = state.c;
  args.output = output;
  args.hn = hn;
  if (lstm) args.cn = cn;
  args.on_output_block = output_block;
  rnn_.forward(args);
  state.h = std::move(hn);
  state.c = std::move(cn);
  double total = 0;
  for (double partial : step_nll) total += partial;
  return total;
}

}  // namespace rnnwave::train
