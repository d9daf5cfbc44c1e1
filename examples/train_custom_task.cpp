// Your own task, trained by rnnwave's Trainer: a GRU reads a sequence of numbers and says
// whether their sum is positive. The task (data, model, loss, metrics) is defined here,
// through the public headers only; the Trainer brings the optimizer, clipping, the
// learning-rate schedule, validation, checkpoints and resume, and the run directory
// (rnnwave/run/) the progress on stderr, metrics.jsonl and curves.png.
//
// It trains 2 epochs into a run directory, "stops", resumes from its checkpoint for 2 more,
// and checks that the result is bit for bit that of 4 epochs without a stop. The run
// directory then holds checkpoint.npz, model.npz, metrics.jsonl (4 lines) and curves.png.
//
//   build/examples/example_train_custom_task [RUN_DIR]   (default: a folder in the temp dir)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <numeric>
#include <vector>

#include "rnnwave/rnn.h"
#include "rnnwave/run/run_dir.h"
#include "rnnwave/run/train_progress.h"
#include "rnnwave/train/linear.h"
#include "rnnwave/train/loss.h"
#include "rnnwave/train/task.h"
#include "rnnwave/train/trainer.h"

namespace {

using namespace rnnwave;

constexpr int64_t kSteps = 16, kHidden = 16, kClasses = 2;

/// A counter-based random number in [-1, 1): a function of its key alone, so the data and
/// the shuffles are functions of (seed, epoch, index) and a resumed run sees what an
/// uninterrupted one does.
float random_value(uint64_t key) {
  key += 0x9e3779b97f4a7c15ull;  // splitmix64
  key = (key ^ (key >> 30)) * 0xbf58476d1ce4e5b9ull;
  key = (key ^ (key >> 27)) * 0x94d049bb133111ebull;
  key ^= key >> 31;
  return static_cast<float>(static_cast<double>(key >> 11) * 0x1.0p-52 - 1.0);
}

/// Sequences of kSteps numbers in [-1, 1), input [T, N, 1]; label 1 if their sum is > 0.
struct Split {
  std::vector<float> values;  // [count, T], one sequence after another
  std::vector<int64_t> labels;
  int64_t count() const { return static_cast<int64_t>(labels.size()); }
};

Split make_split(int64_t count, uint64_t stream) {
  Split split;
  split.values.resize(static_cast<size_t>(count * kSteps));
  for (int64_t n = 0; n < count; ++n) {
    float sum = 0;
    for (int64_t t = 0; t < kSteps; ++t) {
      const float v = random_value(stream << 48 | static_cast<uint64_t>(n * kSteps + t));
      split.values[n * kSteps + t] = v;
      sum += v;
    }
    split.labels.push_back(sum > 0 ? 1 : 0);
  }
  return split;
}

/// The task: GRU (1 input, 16 hidden) -> its last state h_n -> Linear(16, 2) -> softmax
/// cross-entropy. Parameters "rnn.*" (as torch.nn.GRU) and "head.weight", "head.bias".
class SignOfSum final : public TrainingTask {
 public:
  explicit SignOfSum(const TrainConfig& config)
      : config_(config),
        spec_{CellKind::gru, /*input_size=*/1, kHidden, /*layers=*/1, /*bidirectional=*/false},
        weights_(Weights::uniform(spec_, config.seed)),
        weight_grads_(spec_),
        rnn_(weights_, config.exec),
        head_(Linear::uniform(kHidden, kClasses, config.seed + 1)),
        head_grads_(kHidden, kClasses),
        train_(make_split(1024, 1)),
        valid_(make_split(256, 2)),
        test_(make_split(256, 3)) {}

  // Views of buffers this object owns for its whole life: the Trainer asks once.
  std::vector<Parameter<float>> parameters() override {
    std::vector<Parameter<float>> params = named_parameters("rnn.", weights_, weight_grads_);
    for (Parameter<float>& p : named_parameters("head.", head_, head_grads_)) params.push_back(p);
    return params;
  }

  // The Rnn packs its weights: repack after each optimizer step.
  void parameters_changed() override { rnn_.set_weights(weights_); }

  int64_t begin_epoch(int64_t epoch) override {
    order_.resize(static_cast<size_t>(train_.count()));
    std::iota(order_.begin(), order_.end(), 0);
    for (size_t i = order_.size(); i > 1; --i) {  // Fisher-Yates from (seed, epoch, i)
      const float r = random_value(config_.seed << 40 ^ static_cast<uint64_t>(epoch) << 24 ^ i);
      const auto j = std::min(static_cast<size_t>((r + 1.0f) * 0.5f * static_cast<float>(i)), i - 1);
      std::swap(order_[i - 1], order_[j]);
    }
    return (train_.count() + config_.batch_size - 1) / config_.batch_size;
  }

  BatchLoss train_batch(int64_t batch) override {
    const int64_t first = batch * config_.batch_size;
    const int64_t n = std::min(config_.batch_size, train_.count() - first);
    gather(train_, std::span<const int64_t>(order_).subspan(first, n));
    // Forward, keeping what backward needs in the workspace.
    std::vector<float> output(kSteps * n * kHidden), hn(n * kHidden), logits(n * kClasses);
    ForwardArgs<float> args;
    args.steps = kSteps;
    args.batch = n;
    args.input = input_;
    args.output = output;
    args.hn = hn;
    rnn_.forward(args, workspace_);
    head_.forward(hn, n, logits);
    // The loss and its gradient, back through the head and the GRU.
    std::vector<float> grad_logits(logits.size()), grad_hn(hn.size()), grad_output(output.size(), 0.0f);
    const LossValue loss = softmax_cross_entropy<float>(logits, n, kClasses, labels_, {}, grad_logits);
    head_.backward(hn, grad_logits, n, grad_hn, &head_grads_);
    BackwardArgs<float> back;
    back.grad_output = grad_output;  // the loss reads h_n only
    back.grad_hn = grad_hn;
    back.grad_weights = &weight_grads_;
    rnn_.backward(back, workspace_);
    return {loss.mean, n};
  }

  EvalResult evaluate(EvalSplit which) override {
    const Split& split = which == EvalSplit::validation ? valid_ : test_;
    std::vector<int64_t> all(static_cast<size_t>(split.count()));
    std::iota(all.begin(), all.end(), 0);
    gather(split, all);
    const int64_t n = split.count();
    std::vector<float> output(kSteps * n * kHidden), hn(n * kHidden), logits(n * kClasses);
    ForwardArgs<float> args;
    args.steps = kSteps;
    args.batch = n;
    args.input = input_;
    args.output = output;
    args.hn = hn;
    rnn_.forward(args);  // inference: no workspace
    head_.forward(hn, n, logits);
    EvalResult result;
    result.loss = softmax_cross_entropy<float>(logits, n, kClasses, labels_, {}, {}).mean;
    int64_t correct = 0;
    for (int64_t m = 0; m < n; ++m) correct += (logits[m * 2 + 1] > logits[m * 2]) == (labels_[m] == 1);
    result.accuracy = static_cast<double>(correct) / static_cast<double>(n);
    result.perplexity = std::numeric_limits<double>::quiet_NaN();
    result.items = n;
    return result;
  }

 private:
  /// input_ [T, n, 1] and labels_ [n] of the sequences `rows` of `split`.
  void gather(const Split& split, std::span<const int64_t> rows) {
    const int64_t n = static_cast<int64_t>(rows.size());
    input_.resize(static_cast<size_t>(kSteps * n));
    labels_.resize(static_cast<size_t>(n));
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t t = 0; t < kSteps; ++t) input_[t * n + j] = split.values[rows[j] * kSteps + t];
      labels_[j] = split.labels[rows[j]];
    }
  }

  TrainConfig config_;
  ModelSpec spec_;
  Weights weights_, weight_grads_;
  Rnn rnn_;
  Workspace workspace_;
  Linear head_, head_grads_;
  Split train_, valid_, test_;
  std::vector<int64_t> order_, labels_;
  std::vector<float> input_;
};

/// The factory the Trainer calls for a new run and again on resume. This task needs no
/// saved state: its sizes are constants and its data a function of fixed streams.
TaskFactory sign_of_sum() {
  return {"sign_of_sum", [](const TrainConfig& config, const TaskState* /*saved*/) {
            return std::make_unique<SignOfSum>(config);
          }};
}

/// Trains until `epochs` are done, with progress on stderr and after each epoch the
/// checkpoint, model.npz, metrics.jsonl and curves.png in `run`.
void train_until(Trainer& trainer, int64_t epochs, const RunDirectory& run) {
  TrainProgressView view(trainer, trainer.config().epochs);
  while (trainer.epochs_done() < epochs) {
    const EpochMetrics metrics = trainer.train_epoch(view.callback());
    run.save_epoch(trainer);
    view.epoch(metrics);
  }
}

std::vector<float> parameter_values(Trainer& trainer) {
  std::vector<float> values;
  for (const Parameter<float>& p : trainer.task().parameters()) values.insert(values.end(), p.value.begin(), p.value.end());
  return values;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    // The Trainer's settings: optimizer, schedule, clipping, batches, epochs, seed, threads.
    TrainConfig config;
    config.optimizer.kind = OptimizerKind::adam;
    config.optimizer.learning_rate = 0.01;
    config.clip_norm = 1;
    config.batch_size = 32;
    config.epochs = 4;
    config.seed = 5;
    const RunDirectory run(argc > 1 ? argv[1]
                                    : (std::filesystem::temp_directory_path() / "rnnwave_example_custom_task").string());

    // A run stopped after 2 epochs.
    {
      Trainer trainer(config, sign_of_sum());
      train_until(trainer, 2, run);
    }
    // ... resumed from its checkpoint: the factory makes the task again, the Trainer loads
    // the parameters, the optimizer's and the schedule's state and the history (so
    // metrics.jsonl goes on from epoch 3).
    Trainer resumed = Trainer::from_checkpoint(run.file(kCheckpointFile), config.exec, sign_of_sum());
    std::printf("resumed %s after epoch %lld\n", run.path().c_str(), static_cast<long long>(resumed.epochs_done()));
    train_until(resumed, resumed.config().epochs, run);
    const EvalResult test = resumed.evaluate(EvalSplit::test);
    std::printf("test: loss %.4f, accuracy %.1f%% of %lld sequences\n", test.loss, 100 * test.accuracy,
                static_cast<long long>(test.items));

    // The same 4 epochs without a stop end with the same bits.
    Trainer whole(config, sign_of_sum());
    while (whole.epochs_done() < config.epochs) whole.train_epoch();
    const bool same = parameter_values(whole) == parameter_values(resumed) &&
                      whole.history().back().valid_loss == resumed.history().back().valid_loss;
    std::printf("resumed run %s the uninterrupted one\n", same ? "equals" : "DIFFERS FROM");
    std::printf("metrics.jsonl and curves.png are in %s\n", run.path().c_str());
    const bool learned = resumed.history().back().valid_loss < resumed.history().front().valid_loss;
    return same && learned ? 0 : 1;
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
