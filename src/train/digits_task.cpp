// Spoken digits (FSDD) as a training task: variable-length log-mel sequences, 10 classes.
//
// Splits: FSDD's training split (takes 5-49, 2,700 recordings, byte-sorted by file name)
// is cut into validation = every 10th recording (positions 0, 10, 20, ... of that list,
// 270 recordings) and training = the other 2,430; the test split (takes 0-4) is used by
// evaluate(test) only. The features are normalised with the statistics of FSDD's whole
// training split (as load_fsdd computes them), which the checkpoint keeps so that a saved
// model classifies new recordings without the data set.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "common/scoped_threads.h"
#include "common/strings.h"
#include "rnnwave/data_audio.h"
#include "rnnwave/data_fsdd.h"
#include "rnnwave/data_shuffle.h"
#include "rnnwave/train/digits.h"
#include "rnnwave/train/loss.h"
#include "train/run_seeds.h"
#include "train/sequence_model.h"
#include "train/builtin_task.h"

namespace rnnwave::train {
namespace {

constexpr int64_t kClasses = 10;
constexpr int64_t kValidationEvery = 10;

/// One recording: features [T_i, F] (normalised) and its digit.
struct Example {
  Tensor features;
  int64_t label = 0;
  int64_t steps() const { return features.dim(0); }
};

class DigitsTask final : public BuiltinTask {
 public:
  DigitsTask(const TrainConfig& config, FeatureStats stats)
      : config_(config),
        model_(config, FeatureOptions{}.feature_size(), kClasses),
        stats_(std::move(stats)),
        have_stats_(stats_.size() > 0) {}

  std::vector<Parameter<float>> parameters() override { return model_.parameters(); }
  std::vector<GradientGroup> gradient_groups() override { return model_.gradient_groups(); }
  void set_gradients_final(GradientsFinal hook) override { model_.set_gradients_final(std::move(hook)); }
  void parameters_changed() override { model_.parameters_changed(); }
  void use_pipeline(dist::World& world) override { model_.use_pipeline(world); }

  void load_data() override {
    if (loaded_) return;
    FsddOptions options;
    options.threads = config_.exec.threads;
    options.skip_bad = config_.skip_bad_recordings;
    const std::string dir = data_set_dir(config_, "fsdd");
    FsddSplits splits = load_fsdd(dir, options);
    if (splits.stats.size() != model_.input_size()) {
      fail("FSDD in ", quote_for_message(dir, 200), ": features have ", splits.stats.size(), " values per frame, the model expects ",
           model_.input_size());
    }
    if (have_stats_ && (splits.stats.mean != stats_.mean || splits.stats.stddev != stats_.stddev)) {
      fail("FSDD in ", quote_for_message(dir, 200), " is not the data this model was trained on: the feature statistics of its ",
           "training split differ from those saved with the model");
    }
    stats_ = splits.stats;
    have_stats_ = true;
    notes_ = splits.skipped;
    std::vector<Example> train, valid;
    for (size_t i = 0; i < splits.train.size(); ++i) {
      Example example{std::move(splits.train[i].features), splits.train[i].label};
      (i % kValidationEvery == 0 ? valid : train).push_back(std::move(example));
    }
    std::vector<Example> test;
    for (Utterance& u : splits.test) test.push_back({std::move(u.features), u.label});
    train_ = subset(std::move(train), config_.max_train);
    valid_ = subset(std::move(valid), config_.max_eval);
    test_ = subset(std::move(test), config_.max_eval);
    loaded_ = true;
  }

  int64_t begin_epoch(int64_t epoch) override {
    load_data();
    epoch_ = epoch;
    batches_ = epoch_batches(epoch);
    return static_cast<int64_t>(batches_.size());
  }

  BatchLoss train_batch(int64_t batch) override {
    const std::vector<int64_t>& members = batches_.at(static_cast<size_t>(batch));
    const int64_t n = static_cast<int64_t>(members.size());
    const int64_t T = assemble(train_, members, input_, lengths_, labels_);
    logits_.resize(static_cast<size_t>(n * kClasses));
    grad_.resize(logits_.size());
    model_.forward_train(T, n, input_, lengths_, batch_key(config_.seed, epoch_, batch), logits_);
    const LossValue loss = softmax_cross_entropy<float>(logits_, n, kClasses, labels_, {}, grad_);
    model_.backward(grad_);
    return {loss.mean, n};
  }

  ShardLoss train_shard(int64_t batch, int64_t shard, int64_t shards) override {
    const std::vector<int64_t>& members = batches_.at(static_cast<size_t>(batch));
    const int64_t n = static_cast<int64_t>(members.size());
    const RowRange rows = shard_rows(n, shard, shards);
    if (rows.size() == 0) {
      zero_gradients(model_.parameters());
      return {};
    }
    const std::span<const int64_t> part = std::span<const int64_t>(members).subspan(rows.begin, rows.size());
    // T is the shard's longest recording: steps past a sequence's end are never computed,
    // so the shard's rows see the same arithmetic as in the whole batch.
    const int64_t T = assemble(train_, part, input_, lengths_, labels_);
    logits_.resize(static_cast<size_t>(rows.size() * kClasses));
    grad_.resize(logits_.size());
    model_.forward_train(T, rows.size(), input_, lengths_, shard_key(config_.seed, epoch_, batch, shard), logits_);
    const double share = static_cast<double>(rows.size()) / static_cast<double>(n);
    const LossValue loss = softmax_cross_entropy<float>(logits_, rows.size(), kClasses, labels_, {}, grad_, share);
    model_.backward(grad_);
    return {loss.total, rows.size()};
  }

  EvalResult evaluate(EvalSplit split) override { return eval_result(*evaluate_part(split, 0, 1)); }

  std::optional<EvalSums> evaluate_part(EvalSplit split, int64_t part, int64_t parts) override {
    load_data();
    const std::vector<Example>& set = split == EvalSplit::validation ? valid_ : test_;
    // Batches of similar lengths: the recordings by decreasing length (ties by position).
    std::vector<int64_t> order(set.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return set[a].steps() > set[b].steps(); });
    std::vector<float> input, logits;
    std::vector<int64_t> lengths, labels;
    EvalSums sums;
    const int64_t count = static_cast<int64_t>(order.size());
    const int64_t batches = (count + config_.batch_size - 1) / config_.batch_size;
    const StridedRange mine = eval_batches(batches, part, parts);
    for (int64_t b = mine.first; b < mine.end; b += mine.stride) {
      const int64_t first = b * config_.batch_size;
      const int64_t n = std::min(config_.batch_size, count - first);
      const std::vector<int64_t> members(order.begin() + first, order.begin() + first + n);
      const int64_t T = assemble(set, members, input, lengths, labels);
      logits.resize(static_cast<size_t>(n * kClasses));
      model_.forward_eval(T, n, input, lengths, logits);
      sums.loss += softmax_cross_entropy<float>(logits, n, kClasses, labels, {}, {}).total;
      sums.correct += static_cast<double>(count_correct<float>(logits, n, kClasses, labels, {}).correct);
      sums.items += n;
    }
    return sums;
  }

  std::string data_notes() const override { return notes_; }

  TaskState task_state() const override {
    const int64_t F = stats_.size();
    std::map<std::string, BasicTensor<double>> state;
    state.emplace("feature_mean", BasicTensor<double>({F}, {stats_.mean.begin(), stats_.mean.end()}));
    state.emplace("feature_stddev", BasicTensor<double>({F}, {stats_.stddev.begin(), stats_.stddev.end()}));
    return state;
  }

  void export_data(int64_t epochs, DataExport& out) override {
    load_data();
    add_split(out, "train", train_);
    add_split(out, "valid", valid_);
    add_split(out, "test", test_);
    for (int64_t epoch = 0; epoch < epochs; ++epoch) out.add_epoch(epoch, epoch_batches(epoch));
  }

  DigitPrediction predict(const std::string& path) const {
    Tensor features = features_of_wav(path, FeatureOptions{}, stats_);
    const int64_t T = features.dim(0);
    const std::vector<int64_t> lengths{T};
    std::vector<float> logits(kClasses);
    model_.forward_eval(T, 1, features.span(), lengths, logits);
    DigitPrediction prediction;
    const double max = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (int64_t c = 0; c < kClasses; ++c) {
      prediction.probabilities[c] = std::exp(static_cast<double>(logits[c]) - max);
      sum += prediction.probabilities[c];
    }
    for (double& p : prediction.probabilities) p /= sum;
    prediction.label = static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    return prediction;
  }

 private:
  static std::vector<Example> subset(std::vector<Example> all, int64_t limit) {
    std::vector<Example> chosen;
    for (int64_t i : spread_subset(static_cast<int64_t>(all.size()), limit)) chosen.push_back(std::move(all[i]));
    return chosen;
  }

  /// The batches of epoch `epoch`: recordings of similar lengths together, shuffled.
  std::vector<std::vector<int64_t>> epoch_batches(int64_t epoch) const {
    std::vector<int64_t> lengths(train_.size());
    for (size_t i = 0; i < train_.size(); ++i) lengths[i] = train_[i].steps();
    return length_bucketed_batches(lengths, config_.batch_size, shuffle_seed(config_.seed), epoch);
  }

  /// S_features [sum of lengths, F] (recording after recording), S_lengths, S_targets.
  static void add_split(DataExport& out, const std::string& split, const std::vector<Example>& set) {
    std::vector<float> features;
    std::vector<int64_t> lengths, labels;
    const int64_t F = set.empty() ? 0 : set.front().features.dim(1);
    int64_t rows = 0;
    for (const Example& example : set) {
      features.insert(features.end(), example.features.vector().begin(), example.features.vector().end());
      lengths.push_back(example.steps());
      labels.push_back(example.label);
      rows += example.steps();
    }
    out.add<float>(split + "_features", {rows, F}, std::move(features));
    out.add<int64_t>(split + "_lengths", std::move(lengths));
    out.add<int64_t>(split + "_targets", std::move(labels));
  }

  /// input [T, n, F] (zero past each length), lengths [n], labels [n] of `members` of
  /// `set`; returns T, the longest length.
  static int64_t assemble(const std::vector<Example>& set, std::span<const int64_t> members,
                          std::vector<float>& input, std::vector<int64_t>& lengths,
                          std::vector<int64_t>& labels) {
    const int64_t n = static_cast<int64_t>(members.size());
    const int64_t F = set.at(static_cast<size_t>(members[0])).features.dim(1);
    int64_t T = 1;
    for (int64_t m : members) T = std::max(T, set[m].steps());
    input.assign(static_cast<size_t>(T * n * F), 0.0f);
    lengths.resize(static_cast<size_t>(n));
    labels.resize(static_cast<size_t>(n));
    for (int64_t j = 0; j < n; ++j) {
      const Example& example = set[members[j]];
      lengths[j] = example.steps();
      labels[j] = example.label;
      const float* rows = example.features.data();
      for (int64_t t = 0; t < example.steps(); ++t) {
        std::copy(rows + t * F, rows + (t + 1) * F, input.data() + (t * n + j) * F);
      }
    }
    return T;
  }

  TrainConfig config_;
  SequenceModel model_;
  FeatureStats stats_;
  bool have_stats_ = false;
  bool loaded_ = false;
  std::string notes_;
  std::vector<Example> train_, valid_, test_;
  int64_t epoch_ = 0;
  std::vector<std::vector<int64_t>> batches_;
  std::vector<float> input_, logits_, grad_;
  std::vector<int64_t> lengths_, labels_;
};

}  // namespace

std::unique_ptr<BuiltinTask> make_digits_task(const TrainConfig& config,
                                            const TaskState* saved) {
  if (saved == nullptr) {
    auto task = std::make_unique<DigitsTask>(config, FeatureStats{});
    task->load_data();
    return task;
  }
  const int64_t F = FeatureOptions{}.feature_size();
  const BasicTensor<double>& mean = saved_entry(*saved, "feature_mean", F);
  const BasicTensor<double>& stddev = saved_entry(*saved, "feature_stddev", F);
  FeatureStats stats;
  stats.mean.assign(mean.vector().begin(), mean.vector().end());
  stats.stddev.assign(stddev.vector().begin(), stddev.vector().end());
  for (int64_t f = 0; f < F; ++f) {
    if (static_cast<double>(stats.mean[f]) != mean.vector()[f] ||
        static_cast<double>(stats.stddev[f]) != stddev.vector()[f]) {
      fail("task state 'task/feature_mean' / 'task/feature_stddev' [", f, "] is not a float32 value");
    }
  }
  stats.validate();
  return std::make_unique<DigitsTask>(config, std::move(stats));
}

}  // namespace rnnwave::train

namespace rnnwave {

DigitPrediction predict_digit(const Trainer& trainer, const std::string& wav_path) {
  const auto* digits = dynamic_cast<const train::DigitsTask*>(&trainer.task());
  if (digits == nullptr) {
    fail("predict_digit(", quote_for_message(wav_path, 200), "): the run is of task ",
         quote_for_message(trainer.task_name()), "; only a digits model classifies recordings");
  }
  std::optional<ScopedThreads> threads;  // 0 = OpenMP's default, left as it is
  if (trainer.config().exec.threads > 0) threads.emplace(trainer.config().exec.threads);
  return digits->predict(wav_path);
}

}  // namespace rnnwave
