// A program's own task through the public interface (rnnwave/train/task.h): it trains, it
// resumes bit-exactly, and a bad factory or a bad parameter list is one Error naming it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/expect_error.h"
#include "io/io_test_support.h"
#include "rnnwave/error.h"
#include "rnnwave/train/linear.h"
#include "rnnwave/train/loss.h"
#include "rnnwave/train/task.h"
#include "rnnwave/train/trainer.h"

namespace rnnwave::testing {
namespace {

constexpr int64_t kFeatures = 4, kClasses = 2;

uint64_t mix(uint64_t x) {  // splitmix64's finaliser
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
float uniform(uint64_t key) { return static_cast<float>(static_cast<double>(mix(key) >> 11) * 0x1.0p-53 * 2 - 1); }

/// Shards computed by ToyTask::train_shard, all tasks together.
int64_t shards_computed = 0;

/// What a test makes wrong in the parameter list, or `shards`: a task that cuts its
/// batches into shards.
enum class Flaw { none, short_grad, bad_shape, duplicate_name, shards };

/// Logistic regression of the sign of a fixed linear function of 4 features: a Linear
/// layer [2, 4], softmax cross-entropy, Trainer-driven. Data from a fixed data seed; the
/// shuffle of epoch e a function of (config.seed, e).
class ToyTask final : public TrainingTask {
 public:
  ToyTask(const TrainConfig& config, Flaw flaw)
      : config_(config), flaw_(flaw), head_(Linear::uniform(kFeatures, kClasses, config.seed)), grad_(kFeatures, kClasses) {
    make_split(256, 1, train_x_, train_y_);
    make_split(64, 2, valid_x_, valid_y_);
  }

  std::vector<Parameter<float>> parameters() override {
    std::vector<Parameter<float>> params = named_parameters("head.", head_, grad_);
    if (flaw_ == Flaw::short_grad) params[1].grad = params[1].grad.first(1);
    if (flaw_ == Flaw::bad_shape) params[0].shape = {3, 3};
    if (flaw_ == Flaw::duplicate_name) params[1].name = params[0].name;
    return params;
  }

  int64_t begin_epoch(int64_t epoch) override {
    order_.resize(train_y_.size());
    std::iota(order_.begin(), order_.end(), 0);
    for (size_t i = order_.size(); i > 1; --i) {  // Fisher-Yates from (seed, epoch, i)
      std::swap(order_[i - 1], order_[mix(config_.seed * 1000003 + static_cast<uint64_t>(epoch) * 7919 + i) % i]);
    }
    return (static_cast<int64_t>(order_.size()) + config_.batch_size - 1) / config_.batch_size;
  }

  BatchLoss train_batch(int64_t batch) override {
    const int64_t first = batch * config_.batch_size;
    const int64_t n = std::min<int64_t>(config_.batch_size, static_cast<int64_t>(order_.size()) - first);
    const LossValue loss = forward_backward(first, n, 1.0);
    return {loss.mean, n};
  }

  ShardLoss train_shard(int64_t batch, int64_t shard, int64_t shards) override {
    if (flaw_ != Flaw::shards) return TrainingTask::train_shard(batch, shard, shards);
    const int64_t first = batch * config_.batch_size;
    const int64_t n = std::min<int64_t>(config_.batch_size, static_cast<int64_t>(order_.size()) - first);
    const RowRange rows = shard_rows(n, shard, shards);
    if (rows.size() == 0) {
      zero_gradients(parameters());
      return {};
    }
    ++shards_computed;
    const double share = static_cast<double>(rows.size()) / static_cast<double>(n);
    return {forward_backward(first + rows.begin, rows.size(), share).total, rows.size()};
  }

  /// Forward and backward of the training rows order_[first, first + n), the gradient
  /// scaled by `share`.
  LossValue forward_backward(int64_t first, int64_t n, double share) {
    std::vector<float> x(static_cast<size_t>(n * kFeatures)), logits(static_cast<size_t>(n * kClasses));
    std::vector<float> grad_logits(logits.size());
    std::vector<int64_t> y(static_cast<size_t>(n));
    for (int64_t j = 0; j < n; ++j) {
      const int64_t row = order_[static_cast<size_t>(first + j)];
      std::copy_n(train_x_.begin() + row * kFeatures, kFeatures, x.begin() + j * kFeatures);
      y[j] = train_y_[row];
    }
    head_.forward(x, n, logits);
    const LossValue loss = softmax_cross_entropy<float>(logits, n, kClasses, y, {}, grad_logits, share);
    head_.backward(x, grad_logits, n, {}, &grad_);
    return loss;
  }

  EvalResult evaluate(EvalSplit) override {
    const int64_t n = static_cast<int64_t>(valid_y_.size());
    std::vector<float> logits(static_cast<size_t>(n * kClasses));
    head_.forward(valid_x_, n, logits);
    EvalResult result;
    result.loss = softmax_cross_entropy<float>(logits, n, kClasses, valid_y_, {}, {}).mean;
    int64_t correct = 0;
    for (int64_t j = 0; j < n; ++j) correct += (logits[j * 2 + 1] > logits[j * 2]) == (valid_y_[j] == 1);
    result.accuracy = static_cast<double>(correct) / static_cast<double>(n);
    result.perplexity = std::numeric_limits<double>::quiet_NaN();
    result.items = n;
    return result;
  }

 private:
  static void make_split(int64_t count, uint64_t stream, std::vector<float>& x, std::vector<int64_t>& y) {
    constexpr float kTruth[kFeatures] = {1.0f, -2.0f, 0.5f, 1.5f};
    x.resize(static_cast<size_t>(count * kFeatures));
    y.resize(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      float dot = 0;
      for (int64_t f = 0; f < kFeatures; ++f) {
        x[i * kFeatures + f] = uniform(stream << 40 | static_cast<uint64_t>(i * kFeatures + f));
        dot += kTruth[f] * x[i * kFeatures + f];
      }
      y[i] = dot > 0 ? 1 : 0;
    }
  }

  TrainConfig config_;
  Flaw flaw_;
  Linear head_, grad_;
  std::vector<float> train_x_, valid_x_;
  std::vector<int64_t> train_y_, valid_y_;
  std::vector<int64_t> order_;
};

TaskFactory toy_factory(Flaw flaw = Flaw::none) {
  return {"toy", [flaw](const TrainConfig& config, const TaskState*) { return std::make_unique<ToyTask>(config, flaw); }};
}

TrainConfig toy_config() {
  TrainConfig c;
  c.optimizer.kind = OptimizerKind::adam;
  c.optimizer.learning_rate = 0.05;
  c.clip_norm = 1;
  c.batch_size = 32;
  c.epochs = 4;
  c.seed = 3;
  c.exec.threads = 2;
  return c;
}

std::vector<std::vector<float>> values_of(Trainer& trainer) {
  std::vector<std::vector<float>> values;
  for (const Parameter<float>& p : trainer.task().parameters()) values.emplace_back(p.value.begin(), p.value.end());
  return values;
}

TEST(TrainerCustomTask, TrainsAndItsLossFalls) {
  Trainer trainer(toy_config(), toy_factory());
  EXPECT_EQ(trainer.task_name(), "toy");
  int64_t progress_calls = 0;
  for (int e = 0; e < 4; ++e) trainer.train_epoch([&](const TrainProgress&) { ++progress_calls; });
  const std::vector<EpochMetrics>& h = trainer.history();
  ASSERT_EQ(h.size(), 4u);
  EXPECT_EQ(progress_calls, 4 * 8);  // 256 rows in batches of 32
  EXPECT_LT(h.back().train_loss, 0.8 * h.front().train_loss);
  EXPECT_LT(h.back().valid_loss, h.front().valid_loss);
  EXPECT_GT(h.back().valid_accuracy, 0.8);
}

TEST(TrainerCustomTask, ResumedRunEndsBitForBitAsAnUninterruptedOne) {
  TempDir dir;
  Trainer whole(toy_config(), toy_factory());
  for (int e = 0; e < 4; ++e) whole.train_epoch();

  {
    Trainer first(toy_config(), toy_factory());
    first.train_epoch();
    first.train_epoch();
    first.save_checkpoint(dir.file("checkpoint.npz"));
  }  // the interruption
  Trainer resumed = Trainer::from_checkpoint(dir.file("checkpoint.npz"), ExecOptions{Schedule::wavefront, 1},
                                             toy_factory());
  EXPECT_EQ(resumed.epochs_done(), 2);
  resumed.train_epoch();
  resumed.train_epoch();

  EXPECT_EQ(values_of(resumed), values_of(whole));  // float ==: the same bits but for -0/+0
  for (size_t e = 0; e < 4; ++e) {
    EXPECT_EQ(resumed.history()[e].train_loss, whole.history()[e].train_loss) << e;
    EXPECT_EQ(resumed.history()[e].valid_loss, whole.history()[e].valid_loss) << e;
  }
}

TEST(TrainerCustomTask, CheckpointsKnowTheirTask) {
  TempDir dir;
  Trainer toy(toy_config(), toy_factory());
  toy.save_checkpoint(dir.file("toy.npz"));
  EXPECT_ERROR_CONTAINING(Trainer::from_checkpoint(dir.file("toy.npz"), {}), "unknown training task 'toy'");
  TaskFactory other = toy_factory();
  other.name = "other";
  EXPECT_ERROR_CONTAINING(Trainer::from_checkpoint(dir.file("toy.npz"), {}, other),
                          "the run is of task 'toy', not 'other'");
  EXPECT_ERROR_CONTAINING(toy.export_data(dir.file("data.npz")), "export_data", "not a built-in task");
}

TEST(TrainerCustomTask, ABadFactoryIsOneErrorNamingTheTask) {
  const TrainConfig c = toy_config();
  EXPECT_ERROR_CONTAINING(Trainer(c, TaskFactory{"toy", [](const TrainConfig&, const TaskState*)
                                                            -> std::unique_ptr<TrainingTask> {
                                    throw Error("no data in 'x'");
                                  }}),
                          "task 'toy': no data in 'x'");
  EXPECT_ERROR_CONTAINING(Trainer(c, TaskFactory{"toy", [](const TrainConfig&, const TaskState*)
                                                            -> std::unique_ptr<TrainingTask> {
                                    throw std::runtime_error("disk on fire");
                                  }}),
                          "task 'toy': the task factory failed", "disk on fire");
  EXPECT_ERROR_CONTAINING(
      Trainer(c, TaskFactory{"toy", [](const TrainConfig&, const TaskState*) { return std::unique_ptr<TrainingTask>(); }}),
      "task 'toy': the task factory returned no task");
  EXPECT_ERROR_CONTAINING(Trainer(c, TaskFactory{"toy", nullptr}), "task 'toy'", "no make function");
  EXPECT_ERROR_CONTAINING(Trainer(c, TaskFactory{"Toy Task", toy_factory().make}), "task name", "expected 1 to 32");
  EXPECT_ERROR_CONTAINING(Trainer(c, TaskFactory{"digits", toy_factory().make}), "'digits' is the name of a built-in task");
}

TEST(TrainerCustomTask, ABadParameterListIsOneErrorNamingTheParameter) {
  const TrainConfig c = toy_config();
  EXPECT_ERROR_CONTAINING(Trainer(c, toy_factory(Flaw::short_grad)),
                          "task 'toy': parameter 'head.bias': its gradient has 1 elements, its value 2");
  EXPECT_ERROR_CONTAINING(Trainer(c, toy_factory(Flaw::bad_shape)),
                          "task 'toy': parameter 'head.weight': its value has 8 elements, its shape [3, 3] 9");
  EXPECT_ERROR_CONTAINING(Trainer(c, toy_factory(Flaw::duplicate_name)), "parameter 'head.weight' is given twice");
}

TEST(TrainerCustomTask, ShardsNeedATaskThatCutsItsBatches) {
  TrainConfig c = toy_config();
  c.shards = 2;
  Trainer trainer(c, toy_factory());
  const std::vector<std::vector<float>> before = values_of(trainer);
  EXPECT_ERROR_CONTAINING(trainer.train_epoch(), "epoch 1, batch 1 of 8",
                          "does not cut its batches into shards", "shards = 1");
  EXPECT_EQ(values_of(trainer), before);  // no step taken
}

TEST(TrainerCustomTask, ATaskThatCutsItsBatchesTrainsWithShards) {
  TrainConfig c = toy_config();
  Trainer whole(c, toy_factory(Flaw::shards));
  c.shards = 3;
  Trainer sharded(c, toy_factory(Flaw::shards));
  // Without evaluate_part the task is scored whole, as with one shard: the same bits.
  EXPECT_EQ(sharded.evaluate(EvalSplit::validation).loss, whole.evaluate(EvalSplit::validation).loss);
  shards_computed = 0;
  for (int e = 0; e < 2; ++e) {
    whole.train_epoch();
    sharded.train_epoch();
  }
  EXPECT_EQ(shards_computed, 2 * 8 * 3);  // 2 epochs of 8 batches of 3 shards (none empty)
  // The same mathematics summed in another order: equal to float rounding, not bit for bit.
  for (size_t e = 0; e < 2; ++e) {
    EXPECT_NEAR(sharded.history()[e].train_loss, whole.history()[e].train_loss, 1e-5) << e;
    EXPECT_NEAR(sharded.history()[e].valid_loss, whole.history()[e].valid_loss, 1e-5) << e;
  }
  EXPECT_LT(sharded.history()[1].train_loss, sharded.history()[0].train_loss);
}

}  // namespace
}  // namespace rnnwave::testing
