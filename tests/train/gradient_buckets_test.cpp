// Per-layer gradient buckets (train/gradient_buckets.h): the same bits as one bucket and as
// the in-process tree sum; the built-in tasks announce every group once per shard, in the
// order of gradient_groups(); bad groups are one Error naming the task and the parameter.
#include "train/gradient_buckets.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "rnnwave/dist/world.h"
#include "rnnwave/error.h"
#include "rnnwave/trace.h"
#include "rnnwave/train/trainer.h"
#include "train/builtin_task.h"
#include "train/language_model.h"

namespace rnnwave::testing {
namespace {

/// The adding problem, small, with 3 layers and 4 shards (the last batch of 50 has 2
/// rows, so some shards are empty).
TrainConfig tiny(int64_t shards) {
  TrainConfig c = defaults_for(TrainTask::synthetic);
  c.hidden_size = 12;
  c.layers = 3;
  c.synthetic_steps = 10;
  c.synthetic_train = 50;
  c.synthetic_eval = 32;
  c.batch_size = 16;
  c.epochs = 2;
  c.seed = 13;
  c.shards = shards;
  c.exec.threads = 2;
  return c;
}

/// A built-in task as a program's own: with `groups` its gradient groups and their
/// announcements pass through (and each announcement is logged); without, it names none
/// and never announces (one bucket, combined after the shard).
class Wrapped final : public TrainingTask {
 public:
  Wrapped(const TrainConfig& config, bool groups, std::vector<int64_t>* log)
      : inner_(train::make_builtin_task(config, nullptr)), groups_(groups), log_(log) {}
  std::vector<Parameter<float>> parameters() override { return inner_->parameters(); }
  void parameters_changed() override { inner_->parameters_changed(); }
  void load_data() override { inner_->load_data(); }
  int64_t begin_epoch(int64_t epoch) override { return inner_->begin_epoch(epoch); }
  BatchLoss train_batch(int64_t batch) override { return inner_->train_batch(batch); }
  ShardLoss train_shard(int64_t batch, int64_t shard, int64_t shards) override {
    if (log_ != nullptr) log_->push_back(-1);  // a shard begins
    return inner_->train_shard(batch, shard, shards);
  }
  EvalResult evaluate(EvalSplit split) override { return inner_->evaluate(split); }
  std::vector<GradientGroup> gradient_groups() override {
    return groups_ ? inner_->gradient_groups() : std::vector<GradientGroup>{};
  }
  void set_gradients_final(GradientsFinal hook) override {
    if (!groups_) return;
    if (!hook) {
      inner_->set_gradients_final({});
      return;
    }
    inner_->set_gradients_final([this, hook](int64_t group) {
      {
        const std::lock_guard<std::mutex> lock(mutex_);
        if (log_ != nullptr) log_->push_back(group);
      }
      hook(group);
    });
  }

 private:
  std::unique_ptr<train::BuiltinTask> inner_;
  bool groups_;
  std::vector<int64_t>* log_;
  std::mutex mutex_;
};

Trainer wrapped_trainer(const TrainConfig& config, bool groups, std::vector<int64_t>* log = nullptr) {
  return Trainer(config, TaskFactory{"wrapped", [config, groups, log](const TrainConfig&, const TaskState*) {
                                       return std::make_unique<Wrapped>(config, groups, log);
                                     }});
}

std::vector<std::vector<float>> values_of(Trainer& trainer) {
  std::vector<std::vector<float>> values;
  for (const Parameter<float>& p : trainer.task().parameters()) values.emplace_back(p.value.begin(), p.value.end());
  return values;
}

void train(Trainer& trainer) {
  for (int64_t e = 0; e < trainer.config().epochs; ++e) trainer.train_epoch();
}

TEST(GradientBuckets, PerLayerBucketsGiveTheBitsOfOneBucketAndOfOneProcess) {
  const TrainConfig config = tiny(4);
  Trainer in_process(config);  // tree_sum over the shard buffers, no reducer
  train(in_process);
  std::vector<std::vector<float>> per_layer, one_bucket;
  {
    dist::World world;
    Trainer trainer = wrapped_trainer(config, true);
    trainer.distribute(world);
    train(trainer);
    per_layer = values_of(trainer);
    const CommunicationStats& stats = trainer.communication();
    EXPECT_EQ(stats.batches, 4);  // the last epoch's batches
    EXPECT_GE(stats.combining_seconds, 0.0);
    EXPECT_GE(stats.waiting_seconds, 0.0);
    EXPECT_GE(stats.hidden_share(), 0.0);
    EXPECT_LE(stats.hidden_share(), 1.0);
    EXPECT_EQ(trainer.history().back().train_loss, in_process.history().back().train_loss);
  }
  {
    dist::World world;
    Trainer trainer = wrapped_trainer(config, false);
    trainer.distribute(world);
    train(trainer);
    one_bucket = values_of(trainer);
  }
  const std::vector<std::vector<float>> reference = values_of(in_process);
  ASSERT_EQ(per_layer.size(), reference.size());
  for (size_t p = 0; p < reference.size(); ++p) {
    EXPECT_EQ(per_layer[p], reference[p]) << "parameter " << p;
    EXPECT_EQ(one_bucket[p], reference[p]) << "parameter " << p;
  }
  Trainer fresh(config);
  EXPECT_NE(reference, values_of(fresh));  // training changed the parameters
}

TEST(GradientBuckets, TheLastShardOfEachBatchAnnouncesEveryGroupOnceInOrder) {
  TrainConfig config = tiny(2);
  config.epochs = 1;
  std::vector<int64_t> log;
  dist::World world;
  Trainer trainer = wrapped_trainer(config, true, &log);
  trainer.distribute(world);
  trainer.train_epoch();
  // Per batch: shard 0 without announcements, then shard 1 announcing the head (0) and
  // the layers from the top (1, 2, 3). The last batch has 2 rows: one per shard.
  std::vector<int64_t> batch{-1, -1, 0, 1, 2, 3};
  std::vector<int64_t> want;
  for (int b = 0; b < 4; ++b) want.insert(want.end(), batch.begin(), batch.end());
  EXPECT_EQ(log, want);
}

TEST(GradientBuckets, TheTraceShowsEachBucketFromItsStartBesideTheBackwardTasks) {
  TrainConfig config = tiny(2);
  config.epochs = 1;
  config.exec.threads = 1;
  Trace trace;
  config.exec.trace = &trace;
  dist::World world;
  Trainer trainer(config);
  trainer.distribute(world);
  trainer.train_epoch();
  // Per batch: the head, the layers from the top, then the trainer's wait, each started
  // no earlier than the one before.
  std::vector<TraceEvent> combine, weight_grads;
  for (const TraceEvent& e : trace.events()) {
    if (e.pass == "combine") combine.push_back(e);
    if (e.pass == "backward" && e.kind == "weight_grad" && e.layer == 0) weight_grads.push_back(e);
  }
  const std::vector<std::string> kinds{"combine head", "combine layer 2", "combine layer 1", "combine layer 0",
                                       "combine_wait"};
  ASSERT_EQ(combine.size(), 4 * kinds.size());  // 4 batches
  for (size_t b = 0; b < 4; ++b) {
    for (size_t k = 0; k < kinds.size(); ++k) {
      const TraceEvent& e = combine[b * kinds.size() + k];
      EXPECT_EQ(e.kind, kinds[k]) << "batch " << b;
      EXPECT_GE(e.duration_us, 0.0);
      if (k > 0) {
        EXPECT_GE(e.start_us, combine[b * kinds.size() + k - 1].start_us) << e.kind << ", batch " << b;
      }
    }
    // Overlap: the top layer's bucket starts while layer 0's weight gradients are still
    // being computed (one thread runs the tasks in creation order: the top layer's weight
    // gradients before the layers below; the last layer-0 task starts layer 0's bucket).
    const double top_start = combine[b * kinds.size() + 1].start_us;
    const double bottom_start = combine[b * kinds.size() + 3].start_us;
    double last_end = 0;
    for (const TraceEvent& w : weight_grads) {
      if (w.start_us <= bottom_start) last_end = std::max(last_end, w.start_us + w.duration_us);
    }
    EXPECT_LT(top_start, last_end) << "batch " << b;
  }
}

TEST(GradientBuckets, GroupsOfTheBuiltInTasksAreTheHeadAndTheLayersFromTheTop) {
  std::unique_ptr<train::BuiltinTask> task = train::make_builtin_task(tiny(2), nullptr);
  const std::vector<GradientGroup> groups = task->gradient_groups();
  ASSERT_EQ(groups.size(), 4u);
  EXPECT_EQ(groups[0].name, "head");
  EXPECT_EQ(groups[1].name, "layer 2");
  EXPECT_EQ(groups[3].name, "layer 0");
  EXPECT_EQ(groups[3].parameters.front(), "rnn.weight_ih_l0");
  // Checked: every parameter exactly once.
  const std::vector<train::ParamGroup> checked = train::checked_gradient_groups(groups, task->parameters(), "t");
  size_t count = 0;
  for (const train::ParamGroup& g : checked) count += g.params.size();
  EXPECT_EQ(count, task->parameters().size());
}

/// The language model (wikitext2's, no data needed on random ids) announces the head, the
/// layers from the top and the embedding, once each, each when its gradients are final,
/// and the announcements change no bit.
TEST(GradientBuckets, TheLanguageModelAnnouncesEachGroupOnceWhenFinal) {
  TrainConfig c = defaults_for(TrainTask::wikitext2);
  c.hidden_size = 16;
  c.embedding_size = 12;
  c.layers = 3;
  c.dropout = 0.2;
  c.seed = 5;
  const int64_t V = 40, T = 9, N = 3;
  std::vector<int64_t> tokens((T + 1) * N);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int64_t>((i * 7 + 3) % V);
  const std::vector<int64_t> inputs(tokens.begin(), tokens.begin() + T * N);
  const std::vector<int64_t> targets(tokens.begin() + N, tokens.end());

  train::LanguageModel plain(c, V), announcing(c, V);
  train::LanguageModel::State plain_state, state;
  plain.train_batch(T, N, inputs, targets, plain_state, 77);
  const std::vector<Parameter<float>> params = announcing.parameters();
  const std::vector<train::ParamGroup> groups =
      train::checked_gradient_groups(announcing.gradient_groups(), params, "wikitext2");
  ASSERT_EQ(groups.size(), 5u);  // head, layers 2, 1, 0, embedding
  EXPECT_EQ(groups.back().name, "embedding");
  std::vector<int64_t> order;
  std::vector<std::vector<float>> seen(params.size());
  std::mutex mutex;
  announcing.set_gradients_final([&](int64_t g) {
    const std::lock_guard<std::mutex> lock(mutex);
    order.push_back(g);
    for (size_t p : groups[static_cast<size_t>(g)].params) seen[p].assign(params[p].grad.begin(), params[p].grad.end());
  });
  announcing.train_batch(T, N, inputs, targets, state, 77);
  EXPECT_EQ(order, (std::vector<int64_t>{0, 1, 2, 3, 4}));
  const std::vector<Parameter<float>> reference = plain.parameters();
  for (size_t p = 0; p < params.size(); ++p) {
    const std::vector<float> final_grad(params[p].grad.begin(), params[p].grad.end());
    EXPECT_EQ(seen[p], final_grad) << params[p].name << ": written after its announcement";
    EXPECT_EQ(final_grad, std::vector<float>(reference[p].grad.begin(), reference[p].grad.end())) << params[p].name;
  }
}

void expect_refused(const std::vector<GradientGroup>& groups, const std::vector<Parameter<float>>& params,
                    const std::string& expected) {
  try {
    train::checked_gradient_groups(groups, params, "mine");
    FAIL() << "expected an Error containing " << expected;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
}

TEST(GradientBuckets, BadGroupsAreOneErrorNamingTheParameter) {
  std::unique_ptr<train::BuiltinTask> task = train::make_builtin_task(tiny(2), nullptr);
  const std::vector<Parameter<float>> params = task->parameters();
  std::vector<GradientGroup> groups = task->gradient_groups();
  std::vector<GradientGroup> missing(groups.begin(), groups.end() - 1);
  expect_refused(missing, params, "task 'mine': parameter 'rnn.weight_ih_l0' is in no gradient group");
  std::vector<GradientGroup> twice = groups;
  twice[0].parameters.push_back("rnn.bias_hh_l2");
  expect_refused(twice, params, "'rnn.bias_hh_l2' is already in group 'head'");
  std::vector<GradientGroup> unknown = groups;
  unknown[1].parameters.push_back("rnn.weight_xx");
  expect_refused(unknown, params, "gradient group 1 'layer 2': 'rnn.weight_xx' is not a parameter of the task");
  std::vector<GradientGroup> empty = groups;
  empty.push_back({"nothing", {}});
  expect_refused(empty, params, "gradient group 4 'nothing' has no parameter");
}

}  // namespace
}  // namespace rnnwave::testing
