// The adding problem as a training task: a regression of the sum of two marked values.
#include <algorithm>
#include <cmath>
#include <limits>

#include "common/strings.h"
#include "rnnwave/data_adding.h"
#include "rnnwave/data_shuffle.h"
#include "rnnwave/train/loss.h"
#include "train/run_seeds.h"
#include "train/sequence_model.h"
#include "train/builtin_task.h"

namespace rnnwave::train {
namespace {

/// The data set is the same for every run (as a real data set would be): samples of
/// SyntheticAdding under this seed. The run's seed drives weights, shuffles and dropout.
constexpr uint64_t kDataSeed = 0;
/// A prediction within this distance of the target counts as correct.
constexpr double kTolerance = 0.04;
constexpr int64_t kChannels = 2;

/// input [T, n, 2], lengths [n], targets [n] of the sequences `columns` of `set`.
void gather(const AddingBatch& set, std::span<const int64_t> columns, std::vector<float>& input,
            std::vector<int64_t>& lengths, std::vector<float>& targets) {
  const int64_t T = set.input.dim(0), total = set.input.dim(1);
  const int64_t n = static_cast<int64_t>(columns.size());
  input.resize(static_cast<size_t>(T * n * kChannels));
  lengths.resize(static_cast<size_t>(n));
  targets.resize(static_cast<size_t>(n));
  const float* source = set.input.data();
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t j = 0; j < n; ++j) {
      const float* from = source + (t * total + columns[j]) * kChannels;
      std::copy(from, from + kChannels, input.data() + (t * n + j) * kChannels);
    }
  }
  for (int64_t j = 0; j < n; ++j) {
    lengths[j] = set.lengths[static_cast<size_t>(columns[j])];
    targets[j] = set.target.data()[columns[j]];
  }
}

class SyntheticTask final : public BuiltinTask {
 public:
  explicit SyntheticTask(const TrainConfig& config)
      : config_(config), model_(config, kChannels, 1) {}

  std::vector<Parameter<float>> parameters() override { return model_.parameters(); }
  std::vector<GradientGroup> gradient_groups() override { return model_.gradient_groups(); }
  void set_gradients_final(GradientsFinal hook) override { model_.set_gradients_final(std::move(hook)); }
  void parameters_changed() override { model_.parameters_changed(); }
  void use_pipeline(dist::World& world) override { model_.use_pipeline(world); }

  void load_data() override {
    if (loaded_) return;
    const SyntheticAdding data(AddingOptions{config_.synthetic_steps, false, kDataSeed});
    const int64_t train_count = config_.max_train > 0 ? std::min(config_.max_train, config_.synthetic_train)
                                                      : config_.synthetic_train;
    const int64_t eval_count = config_.max_eval > 0 ? std::min(config_.max_eval, config_.synthetic_eval)
                                                    : config_.synthetic_eval;
    train_ = data.samples(AddingSplit::train, 0, train_count);
    valid_ = data.validation_set(eval_count);
    test_ = data.test_set(eval_count);
    loaded_ = true;
  }

  int64_t begin_epoch(int64_t epoch) override {
    load_data();
    epoch_ = epoch;
    order_ = epoch_order(epoch);
    const int64_t count = static_cast<int64_t>(order_.size());
    return (count + config_.batch_size - 1) / config_.batch_size;
  }

  BatchLoss train_batch(int64_t batch) override {
    const int64_t count = static_cast<int64_t>(order_.size());
    const int64_t first = batch * config_.batch_size;
    const int64_t n = std::min(config_.batch_size, count - first);
    gather(train_, std::span<const int64_t>(order_).subspan(first, n), input_, lengths_, targets_);
    predictions_.resize(static_cast<size_t>(n));
    grad_.resize(static_cast<size_t>(n));
    model_.forward_train(train_.input.dim(0), n, input_, lengths_, batch_key(config_.seed, epoch_, batch),
                         predictions_);
    const LossValue loss = mse_loss<float>(predictions_, targets_, {}, grad_);
    model_.backward(grad_);
    return {loss.mean, n};
  }

  ShardLoss train_shard(int64_t batch, int64_t shard, int64_t shards) override {
    const int64_t count = static_cast<int64_t>(order_.size());
    const int64_t first = batch * config_.batch_size;
    const int64_t n = std::min(config_.batch_size, count - first);
    const RowRange rows = shard_rows(n, shard, shards);
    if (rows.size() == 0) {
      zero_gradients(model_.parameters());
      return {};
    }
    gather(train_, std::span<const int64_t>(order_).subspan(first + rows.begin, rows.size()), input_, lengths_,
           targets_);
    predictions_.resize(static_cast<size_t>(rows.size()));
    grad_.resize(static_cast<size_t>(rows.size()));
    model_.forward_train(train_.input.dim(0), rows.size(), input_, lengths_,
                         shard_key(config_.seed, epoch_, batch, shard), predictions_);
    const double share = static_cast<double>(rows.size()) / static_cast<double>(n);
    const LossValue loss = mse_loss<float>(predictions_, targets_, {}, grad_, share);
    model_.backward(grad_);
    return {loss.total, rows.size()};
  }

  EvalResult evaluate(EvalSplit split) override { return eval_result(*evaluate_part(split, 0, 1)); }

  std::optional<EvalSums> evaluate_part(EvalSplit split, int64_t part, int64_t parts) override {
    load_data();
    const AddingBatch& set = split == EvalSplit::validation ? valid_ : test_;
    const int64_t T = set.input.dim(0), count = set.input.dim(1);
    std::vector<float> input, targets, predictions;
    std::vector<int64_t> lengths, columns;
    EvalSums sums;
    const StridedRange mine = eval_batches((count + config_.batch_size - 1) / config_.batch_size, part, parts);
    for (int64_t b = mine.first; b < mine.end; b += mine.stride) {
      const int64_t first = b * config_.batch_size;
      const int64_t n = std::min(config_.batch_size, count - first);
      columns.resize(static_cast<size_t>(n));
      for (int64_t j = 0; j < n; ++j) columns[j] = first + j;
      gather(set, columns, input, lengths, targets);
      predictions.resize(static_cast<size_t>(n));
      model_.forward_eval(T, n, input, lengths, predictions);
      for (int64_t j = 0; j < n; ++j) {
        const double error = static_cast<double>(predictions[j]) - static_cast<double>(targets[j]);
        sums.loss += error * error;
        if (std::abs(error) < kTolerance) sums.correct += 1;
      }
      sums.items += n;
    }
    return sums;
  }

  void export_data(int64_t epochs, DataExport& out) override {
    load_data();
    add_split(out, "train", train_);
    add_split(out, "valid", valid_);
    add_split(out, "test", test_);
    for (int64_t epoch = 0; epoch < epochs; ++epoch) {
      const std::vector<int64_t> order = epoch_order(epoch);
      std::vector<std::vector<int64_t>> batches;
      for (size_t first = 0; first < order.size(); first += static_cast<size_t>(config_.batch_size)) {
        const size_t last = std::min(order.size(), first + static_cast<size_t>(config_.batch_size));
        batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(first),
                             order.begin() + static_cast<std::ptrdiff_t>(last));
      }
      out.add_epoch(epoch, batches);
    }
  }

  TaskState task_state() const override { return {}; }

 private:
  /// The training samples in the order epoch `epoch` sees them; batches are consecutive.
  std::vector<int64_t> epoch_order(int64_t epoch) const {
    return epoch_permutation(train_.input.dim(1), shuffle_seed(config_.seed), epoch);
  }

  /// S_features [N * T, 2] (sequence after sequence, all of T steps: the data set has
  /// fixed lengths), S_lengths [N], S_targets [N].
  static void add_split(DataExport& out, const std::string& split, const AddingBatch& set) {
    const int64_t T = set.input.dim(0), N = set.input.dim(1);
    std::vector<float> features(static_cast<size_t>(T * N * kChannels));
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t t = 0; t < T; ++t) {
        const float* from = set.input.data() + (t * N + n) * kChannels;
        std::copy(from, from + kChannels, features.data() + (n * T + t) * kChannels);
      }
    }
    out.add<float>(split + "_features", {N * T, kChannels}, std::move(features));
    out.add<int64_t>(split + "_lengths", std::vector<int64_t>(static_cast<size_t>(N), T));
    out.add<float>(split + "_targets", set.target.vector());
  }

  TrainConfig config_;
  SequenceModel model_;
  bool loaded_ = false;
  AddingBatch train_, valid_, test_;
  int64_t epoch_ = 0;
  std::vector<int64_t> order_, lengths_;
  std::vector<float> input_, targets_, predictions_, grad_;
};

}  // namespace

std::unique_ptr<BuiltinTask> make_synthetic_task(const TrainConfig& config,
                                               const TaskState* saved) {
  auto task = std::make_unique<SyntheticTask>(config);
  if (saved == nullptr) task->load_data();
  return task;
}

}  // namespace rnnwave::train
