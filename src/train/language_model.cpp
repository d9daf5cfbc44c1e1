#include "train/language_model.h"

#include <omp.h>

#include <algorithm>
#include <exception>
#include <memory>

#include "common/memory_limits.h"
#include "common/scoped_threads.h"
#include "common/strings.h"
#include "rnnwave/train/dropout.h"
#include "train/check.h"
#include "train/parallel.h"
#include "train/run_seeds.h"

namespace rnnwave::train {
namespace {

/// pytorch/examples word_language_model: initrange = 0.1.
constexpr double kInitRange = 0.1;

ModelSpec stack_spec(const TrainConfig& config, int64_t vocab_size) {
  const int64_t embedding = config.embedding_size > 0 ? config.embedding_size : config.hidden_size;
  ModelSpec spec{config.cell, embedding, config.hidden_size, config.layers, false};
  spec.validate();
  check_stack_training_fits(spec);
  // The embedding and the head, each as values, gradients, two optimizer buffers (and the
  // head twice packed): refused before anything is allocated if they cannot fit.
  const double elements = static_cast<double>(vocab_size) * static_cast<double>(embedding + config.hidden_size);
  check_fits_in_memory(4.0 * 6.0 * elements, cat("a language model of ", vocab_size, " words, embedding size ",
                                                  embedding, " and hidden size ", config.hidden_size));
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

/// Steps of the output layer computed together: enough rows for efficient products,
/// few enough logits ([steps * N, V]) to keep in cache-friendly scratch memory.
constexpr int64_t kChunkSteps = 4;

}  // namespace

LanguageModel::LanguageModel(const TrainConfig& config, int64_t vocab_size)
    : spec_(stack_spec(config, vocab_size)),
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
  parameters_changed();
}

void LanguageModel::for_each_chunk(int64_t begin, int64_t end,
                                   const std::function<void(int64_t, int64_t)>& body) const {
  const int64_t chunks = (end - begin + kChunkSteps - 1) / kChunkSteps;
  const auto run = [&](int64_t chunk) {
    const int64_t t0 = begin + chunk * kChunkSteps;
    body(t0, std::min(end, t0 + kChunkSteps));
  };
  if (omp_in_parallel() || chunks <= 1) {
    // A task of the forward graph (or a single chunk): this thread only.
    const ScopedThreads one_thread(1);
    for (int64_t chunk = 0; chunk < chunks; ++chunk) run(chunk);
    return;
  }
  // After the pass (schedules without output tasks): chunks on the OpenMP threads. No
  // exception may leave the parallel region: the first is kept and rethrown.
  std::exception_ptr error;
#pragma omp parallel
  {
    const ScopedThreads one_thread(1);
#pragma omp for schedule(dynamic, 1)
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      try {
        run(chunk);
      } catch (...) {
#pragma omp critical(rnnwave_language_model_error)
        if (!error) error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

void LanguageModel::head_logits(const float* x, int64_t rows, float* logits) const {
  const int64_t V = vocab_size();
  const std::span<const float> bias = head_.bias();
  for (int64_t r = 0; r < rows; ++r) std::copy(bias.begin(), bias.end(), logits + r * V);
  kernels::gemm_packed<float>(rows, x, spec_.hidden_size, head_for_logits_, true, logits, V);
}

std::vector<Parameter<float>> LanguageModel::parameters() {
  std::vector<Parameter<float>> params;
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

std::vector<GradientGroup> LanguageModel::gradient_groups() const {
  std::vector<GradientGroup> groups{{"head", {"head.weight", "head.bias"}}};
  for (GradientGroup& layer : stack_gradient_groups(weights_, "rnn.")) groups.push_back(std::move(layer));
  groups.push_back({"embedding", {"embedding.weight"}});
  return groups;
}

void LanguageModel::parameters_changed() {
  rnn_.set_weights(weights_);
  const int64_t V = vocab_size(), H = spec_.hidden_size;
  head_for_logits_.pack(head_.weight().data(), H, V, H, true);
  head_for_grad_.pack(head_.weight().data(), V, H, H, false);
}

LossValue LanguageModel::train_batch(int64_t steps, int64_t batch, std::span<const int64_t> inputs,
                                     std::span<const int64_t> targets, State& state, uint64_t key,
                                     double grad_share) {
  const int64_t T = steps, N = batch, M = T * N;
  const int64_t E = spec_.input_size, H = spec_.hidden_size, V = vocab_size();
  const int64_t states = spec_.layers * N * H;
  if (static_cast<int64_t>(inputs.size()) != M || static_cast<int64_t>(targets.size()) != M) {
    fail("language model: inputs and targets must be [T, N] = [", T, ", ", N, "], got ",
         inputs.size(), " and ", targets.size(), " ids");
  }
  check_fits_in_memory(4.0 * static_cast<double>(M) * static_cast<double>(V + 4 * E + 4 * H),
                       cat("a language-model batch of ", T, " x ", N, " tokens over ", V, " words"));
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
  const double step_share = grad_share / static_cast<double>(T);
  const auto output_chunk = [&](int64_t t0, int64_t t1) {
    const int64_t row = t0 * N, rows = (t1 - t0) * N;
    const size_t hidden_values = static_cast<size_t>(rows * H);
    const std::span<const float> out_rows(output_.data() + row * H, hidden_values);
    const std::span<float> in_rows(head_input_.data() + row * H, hidden_values);
    head_dropout.forward<float>(out_rows, in_rows, Phase::training, 0, static_cast<uint64_t>(row * H));
    // Not zeroed: head_logits writes every element. (Zeroing was a 90 MB memset per batch.)
    const auto logits_memory = make_huge_pages_array<float>(static_cast<size_t>(rows * V));
    const std::span<const float> logits(logits_memory.get(), static_cast<size_t>(rows * V));
    std::vector<float> grad_rows(hidden_values);
    head_logits(in_rows.data(), rows, logits_memory.get());
    for (int64_t t = t0; t < t1; ++t) {
      // d(mean over the step's N rows)/d logits, scaled to the mean over all T*N rows.
      const size_t first = static_cast<size_t>((t - t0) * N * V), count = static_cast<size_t>(N * V);
      const std::span<float> grad(grad_logits_.data() + t * N * V, count);
      const LossValue loss = softmax_cross_entropy<float>(logits.subspan(first, count), N, V,
                                                          targets.subspan(t * N, N), {}, grad, step_share);
      step_loss_[t] = loss.total;
    }
    kernels::gemm_packed<float>(rows, grad_logits_.data() + row * V, V, head_for_grad_, false,
                                grad_rows.data(), H);
    head_dropout.backward<float>(grad_rows, std::span<float>(grad_output_.data() + row * H, hidden_values),
                                 Phase::training, 0, static_cast<uint64_t>(row * H));
  };
  const auto output_block = [&](int64_t t0, int64_t t1) { for_each_chunk(t0, t1, output_chunk); };

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
  if (gradients_final_) gradients_final_(0);
  grad_dropped_embedded_.resize(embedded_.size());
  grad_embedded_.resize(embedded_.size());
  BackwardArgs<float> back;
  back.grad_output = grad_output_;
  back.grad_input = grad_dropped_embedded_;
  back.grad_weights = &weight_grads_;
  if (gradients_final_) {
    const int64_t top = spec_.layers - 1;
    back.on_layer_grads_final = [this, top](int64_t layer) { gradients_final_(1 + top - layer); };
  }
  rnn_.backward(back, workspace_);
  embedding_dropout.backward<float>(grad_dropped_embedded_, grad_embedded_, Phase::training, 0);
  embedding_.backward(inputs, grad_embedded_, &embedding_grad_);
  if (gradients_final_) gradients_final_(spec_.layers + 1);

  state.h.assign(hn_.begin(), hn_.end());
  state.c.assign(cn_.begin(), cn_.end());
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

  const auto output_chunk = [&](int64_t t0, int64_t t1) {
    const int64_t rows = (t1 - t0) * N;
    const auto logits_memory = make_huge_pages_array<float>(static_cast<size_t>(rows * V));
    const std::span<const float> logits(logits_memory.get(), static_cast<size_t>(rows * V));
    head_logits(output.data() + t0 * N * H, rows, logits_memory.get());
    for (int64_t t = t0; t < t1; ++t) {
      const size_t first = static_cast<size_t>((t - t0) * N * V), count = static_cast<size_t>(N * V);
      step_nll[t] = -log_likelihood<float>(logits.subspan(first, count), N, V, targets.subspan(t * N, N), {});
    }
  };
  const auto output_block = [&](int64_t t0, int64_t t1) { for_each_chunk(t0, t1, output_chunk); };
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
