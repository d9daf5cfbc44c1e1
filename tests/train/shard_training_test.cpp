// Training with the batch cut into S shards (TrainConfig::shards) in one process: the
// shards tile the batch, their gradients add up to the whole batch's (to float rounding:
// the same math, summed in another order), runs are finite and learn, and the same S gives
// the same bits at any thread count and after a resume. S = 1 is the whole batch as before.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "io/io_test_support.h"
#include "rnnwave/dist/shard_tree.h"
#include "rnnwave/dist/world.h"
#include "rnnwave/npy.h"
#include "rnnwave/train/trainer.h"
#include "support/errors.h"
#include "train/builtin_task.h"
#include "train/train_config_json.h"

namespace rnnwave::testing {
namespace {

/// The adding problem, small; 50 sequences in batches of 16: the last batch has 2 rows,
/// so with 3 or 4 shards some of its shards are empty.
TrainConfig tiny_synthetic(int64_t shards, int threads = 2) {
  TrainConfig c = defaults_for(TrainTask::synthetic);
  c.hidden_size = 12;
  c.layers = 2;
  c.synthetic_steps = 10;
  c.synthetic_train = 50;
  c.synthetic_eval = 32;
  c.batch_size = 16;
  c.epochs = 3;
  c.seed = 11;
  c.shards = shards;
  c.exec.threads = threads;
  return c;
}

bool has_data(const std::string& subdir, const std::string& probe) {
  return std::filesystem::exists(std::filesystem::path(default_data_dir()) / subdir / probe);
}

std::vector<std::vector<float>> gradients_of(const std::vector<Parameter<float>>& params) {
  std::vector<std::vector<float>> grads;
  for (const Parameter<float>& p : params) grads.emplace_back(p.grad.begin(), p.grad.end());
  return grads;
}

/// Every batch of epoch 0: the whole batch's gradient (train_batch) against the tree sum
/// of the S shard gradients (train_shard), element by element to float tolerance, and
/// the batch's mean loss against the summed shard losses over the summed item counts.
void expect_shards_add_up(const TrainConfig& config, int64_t batches_to_check) {
  const int64_t S = config.shards;
  std::unique_ptr<train::BuiltinTask> whole = train::make_builtin_task(config, nullptr);
  std::unique_ptr<train::BuiltinTask> sharded = train::make_builtin_task(config, nullptr);
  const int64_t batches = whole->begin_epoch(0);
  ASSERT_EQ(sharded->begin_epoch(0), batches);
  for (int64_t b = 0; b < std::min(batches, batches_to_check); ++b) {
    const BatchLoss loss = whole->train_batch(b);
    const std::vector<std::vector<float>> expected = gradients_of(whole->parameters());
    // Each shard's gradient, parameter by parameter, then the tree over the shards.
    std::vector<std::vector<std::vector<float>>> shard_grads;
    double total = 0;
    int64_t items = 0;
    for (int64_t s = 0; s < S; ++s) {
      const ShardLoss part = sharded->train_shard(b, s, S);
      total += part.total;
      items += part.items;
      shard_grads.push_back(gradients_of(sharded->parameters()));
    }
    EXPECT_EQ(items, loss.items) << "batch " << b;
    EXPECT_NEAR(total / static_cast<double>(items), loss.mean, 1e-5 * std::abs(loss.mean)) << "batch " << b;
    for (size_t p = 0; p < expected.size(); ++p) {
      std::vector<std::span<float>> parts;
      for (auto& grads : shard_grads) parts.emplace_back(grads[p]);
      std::vector<float> sum(expected[p].size());
      dist::tree_sum<float>(parts, sum);
      double scale = 0;
      for (float g : expected[p]) scale = std::max(scale, static_cast<double>(std::abs(g)));
      ASSERT_GT(scale, 0.0) << "parameter " << p << ": a zero gradient checks nothing";
      for (size_t i = 0; i < sum.size(); ++i) {
        ASSERT_NEAR(sum[i], expected[p][i], 2e-5 * scale + 1e-7)
            << "batch " << b << ", parameter " << whole->parameters()[p].name << "[" << i << "], S = " << S;
      }
    }
  }
}

/// Evaluation in parts (TrainingTask::evaluate_part) against the whole split, for both
/// splits and P = 2, 3, 4: the parts' items add up to the split's, their correct counts
/// exactly, their losses to `tolerance` (relative: the same per-item losses summed in
/// another order, or for wikitext2 computed on fewer columns at a time); one part is the
/// whole split's score bit for bit; and the Trainer with shards = P scores the tree sum
/// of the P parts.
void expect_eval_parts_add_up(TrainConfig config, double tolerance) {
  std::unique_ptr<train::BuiltinTask> task = train::make_builtin_task(config, nullptr);
  for (EvalSplit split : {EvalSplit::validation, EvalSplit::test}) {
    const EvalSums whole = *task->evaluate_part(split, 0, 1);
    const EvalResult result = task->evaluate(split);
    EXPECT_EQ(eval_result(whole).loss, result.loss);
    EXPECT_EQ(eval_result(whole).items, result.items);
    ASSERT_GT(whole.items, 0);
    for (int64_t P : {2, 3, 4}) {
      SCOPED_TRACE("P = " + std::to_string(P));
      std::vector<std::vector<double>> parts;
      EvalSums sum;
      int64_t scored = 0;
      for (int64_t p = 0; p < P; ++p) {
        const EvalSums part = *task->evaluate_part(split, p, P);
        EXPECT_LT(part.items, whole.items);
        scored += part.items > 0 ? 1 : 0;
        sum.loss += part.loss;
        sum.correct += part.correct;
        sum.items += part.items;
        parts.push_back({part.loss, part.correct, static_cast<double>(part.items)});
      }
      EXPECT_GE(scored, 2) << "the parts did not divide the split";
      EXPECT_EQ(sum.items, whole.items);
      if (!std::isnan(whole.correct)) {
        EXPECT_EQ(sum.correct, whole.correct);
      }
      EXPECT_NEAR(sum.loss, whole.loss, tolerance * std::abs(whole.loss));
      config.shards = P;
      std::vector<std::span<double>> spans(parts.begin(), parts.end());
      dist::tree_sum<double>(spans, spans[0]);
      if (split == EvalSplit::test) {
        const EvalResult trained = Trainer(config).evaluate(split);
        EXPECT_EQ(trained.loss, spans[0][0] / spans[0][2]);
        EXPECT_EQ(trained.items, whole.items);
      }
    }
  }
}

std::map<std::string, Tensor> exported(const Trainer& trainer, const TempDir& dir) {
  const std::string path = dir.file("export.npz");
  trainer.export_parameters(path);
  return load_npz<float>(path);
}

void expect_same_run(const Trainer& a, const Trainer& b, const TempDir& dir) {
  ASSERT_EQ(a.history().size(), b.history().size());
  for (size_t e = 0; e < a.history().size(); ++e) {
    EXPECT_EQ(a.history()[e].train_loss, b.history()[e].train_loss) << "epoch " << e + 1;
    EXPECT_EQ(a.history()[e].valid_loss, b.history()[e].valid_loss) << "epoch " << e + 1;
    EXPECT_EQ(a.history()[e].valid_accuracy, b.history()[e].valid_accuracy) << "epoch " << e + 1;
  }
  const std::map<std::string, Tensor> x = exported(a, dir), y = exported(b, dir);
  ASSERT_EQ(x.size(), y.size());
  for (const auto& [name, tensor] : x) EXPECT_EQ(tensor.vector(), y.at(name).vector()) << name;
}

TEST(ShardTraining, ShardRowsTileEveryBatch) {
  for (int64_t rows : {1, 2, 5, 16, 17, 100}) {
    for (int64_t shards = 1; shards <= 8; ++shards) {
      int64_t next = 0;
      for (int64_t s = 0; s < shards; ++s) {
        const RowRange range = shard_rows(rows, s, shards);
        EXPECT_EQ(range.begin, next) << rows << " rows, shard " << s << " of " << shards;
        EXPECT_GE(range.size(), rows / shards);
        EXPECT_LE(range.size(), rows / shards + 1);
        next = range.end;
      }
      EXPECT_EQ(next, rows) << rows << " rows, " << shards << " shards";
    }
  }
  // Fixed by the row count and S alone: 16 rows in 3 shards are 5, 5, 6.
  EXPECT_EQ(shard_rows(16, 0, 3).size(), 5);
  EXPECT_EQ(shard_rows(16, 2, 3).size(), 6);
}

TEST(ShardTraining, SyntheticShardGradientsAddUpToTheBatchGradient) {
  for (int64_t S : {2, 3, 4}) {
    TrainConfig c = tiny_synthetic(S);
    c.dropout = 0;  // with dropout, each shard draws its own masks
    SCOPED_TRACE("S = " + std::to_string(S));
    expect_shards_add_up(c, 4);  // batch 3 is the short one (2 rows)
  }
  TrainConfig mean_pooled = tiny_synthetic(3);
  mean_pooled.pooling = Pooling::mean;
  mean_pooled.bidirectional = true;
  mean_pooled.cell = CellKind::gru;
  expect_shards_add_up(mean_pooled, 1);
}

/// digits, small: 40 training recordings in batches of 8, no dropout.
TrainConfig tiny_digits(int64_t max_eval) {
  TrainConfig c = defaults_for(TrainTask::digits);
  c.hidden_size = 12;
  c.layers = 1;
  c.dropout = 0;
  c.max_train = 40;
  c.max_eval = max_eval;
  c.batch_size = 8;
  c.exec.threads = 2;
  return c;
}

/// wikitext2, small: 400 training tokens in 6 columns, segments of 5 steps, no dropout.
TrainConfig tiny_wikitext2(int64_t max_eval) {
  TrainConfig c = defaults_for(TrainTask::wikitext2);
  c.hidden_size = 8;
  c.embedding_size = 8;
  c.layers = 1;
  c.dropout = 0;
  c.max_train = 400;
  c.max_eval = max_eval;
  c.batch_size = 6;
  c.bptt = 5;
  c.exec.threads = 2;
  return c;
}

TEST(ShardTraining, DigitsShardGradientsAddUpToTheBatchGradient) {
  if (!has_data("fsdd", "recordings")) GTEST_SKIP() << "FSDD not found in " << default_data_dir();
  TrainConfig c = tiny_digits(10);
  c.shards = 3;
  expect_shards_add_up(c, 2);
}

TEST(ShardTraining, Wikitext2ShardGradientsAddUpToTheBatchGradient) {
  if (!has_data("wikitext-2", "wiki.train.tokens")) GTEST_SKIP() << "WikiText-2 not found in " << default_data_dir();
  TrainConfig c = tiny_wikitext2(100);
  c.shards = 4;
  // Three segments: the second and third start from the state each shard carried.
  expect_shards_add_up(c, 3);
}

TEST(ShardTraining, BadEvaluationPartsAreRefused) {
  for (const auto& [part, parts] : {std::pair<int64_t, int64_t>{0, 0}, {3, 3}, {-1, 2}}) {
    try {
      eval_batches(10, part, parts);
      FAIL() << "part " << part << " of " << parts << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("evaluation part " + std::to_string(part) + " of " + std::to_string(parts)),
                std::string::npos) << e.what();
    }
  }
  std::unique_ptr<train::BuiltinTask> task = train::make_builtin_task(tiny_synthetic(1), nullptr);
  EXPECT_THROW(task->evaluate_part(EvalSplit::test, 0, 0), Error);
}

TEST(ShardTraining, SyntheticEvaluationPartsAddUpToTheSplit) {
  expect_eval_parts_add_up(tiny_synthetic(1), 1e-12);  // 32 sequences: batches of 16, 16
  TrainConfig more = tiny_synthetic(1);
  more.synthetic_eval = 70;  // 5 batches, the last of 6
  expect_eval_parts_add_up(more, 1e-12);
}

TEST(ShardTraining, DigitsEvaluationPartsAddUpToTheSplit) {
  if (!has_data("fsdd", "recordings")) GTEST_SKIP() << "FSDD not found in " << default_data_dir();
  expect_eval_parts_add_up(tiny_digits(30), 1e-12);
}

TEST(ShardTraining, Wikitext2EvaluationPartsAddUpToTheSplit) {
  if (!has_data("wikitext-2", "wiki.train.tokens")) GTEST_SKIP() << "WikiText-2 not found in " << default_data_dir();
  expect_eval_parts_add_up(tiny_wikitext2(300), 1e-5);  // float logits on fewer columns at a time
}

TEST(ShardTraining, RunsAreFiniteLearnAndStayCloseToTheWholeBatch) {
  TempDir dir;
  TrainConfig whole_config = tiny_synthetic(1);
  whole_config.dropout = 0;
  Trainer whole(whole_config);
  for (int e = 0; e < 3; ++e) whole.train_epoch();
  for (int64_t S : {2, 3, 4}) {
    TrainConfig c = tiny_synthetic(S);
    c.dropout = 0;
    Trainer sharded(c);
    for (int e = 0; e < 3; ++e) sharded.train_epoch();
    const std::vector<EpochMetrics>& h = sharded.history();
    for (size_t e = 0; e < h.size(); ++e) {
      EXPECT_TRUE(std::isfinite(h[e].train_loss) && std::isfinite(h[e].valid_loss)) << "S = " << S;
      // The same math in another order: the losses agree to a few float roundings.
      EXPECT_NEAR(h[e].train_loss, whole.history()[e].train_loss, 1e-4 * whole.history()[e].train_loss)
          << "S = " << S << ", epoch " << e + 1;
    }
    EXPECT_LT(h[2].train_loss, h[0].train_loss) << "S = " << S;
  }
}

TEST(ShardTraining, SameShardsGiveTheSameBitsAtAnyThreadCount) {
  TempDir dir;
  for (int64_t S : {3, 4}) {
    Trainer a(tiny_synthetic(S, 1));  // no dropout (the synthetic default)
    TrainConfig with_dropout = tiny_synthetic(S, 2);
    with_dropout.dropout = 0.2;
    TrainConfig with_dropout_1 = with_dropout;
    with_dropout_1.exec.threads = 1;
    Trainer b(with_dropout), c(with_dropout_1), d(tiny_synthetic(S, 2));
    for (Trainer* t : {&a, &b, &c, &d}) {
      t->train_epoch();
      t->train_epoch();
    }
    expect_same_run(a, d, dir);
    expect_same_run(b, c, dir);
    EXPECT_NE(a.history()[1].train_loss, b.history()[1].train_loss) << "dropout changed nothing";
  }
}

TEST(ShardTraining, ResumedShardedRunIsBitIdentical) {
  TempDir dir;
  TrainConfig c = tiny_synthetic(3);
  c.dropout = 0.2;
  Trainer straight(c);
  for (int e = 0; e < 3; ++e) straight.train_epoch();
  {
    Trainer first(c);
    first.train_epoch();
    first.save_checkpoint(dir.file("run.npz"));
  }
  Trainer resumed = Trainer::from_checkpoint(dir.file("run.npz"), ExecOptions{Schedule::sequential, 1});
  EXPECT_EQ(resumed.config().shards, 3);
  resumed.train_epoch();
  resumed.train_epoch();
  expect_same_run(straight, resumed, dir);
}

TEST(ShardTraining, ConfigKeepsShardsAndRefusesBadCounts) {
  TrainConfig c = tiny_synthetic(4);
  EXPECT_EQ(train::config_from_json(train::config_to_json(c)).shards, 4);
  // One shard writes the config of a run before shards existed (its checkpoint keeps its
  // bytes), and such a config reads as one shard.
  const std::string one = train::config_to_json(tiny_synthetic(1));
  EXPECT_EQ(one.find("shards"), std::string::npos);
  EXPECT_EQ(train::config_from_json(one).shards, 1);
  TrainConfig bad = tiny_synthetic(0);
  EXPECT_THROW(bad.validate(), Error);
  bad.shards = 17;  // batch_size 16
  try {
    bad.validate();
    FAIL() << "17 shards of a batch of 16 accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("shards (17)"), std::string::npos) << message;
    EXPECT_NE(message.find("batch_size (16)"), std::string::npos) << message;
  }
}

TEST(ShardTraining, DataOrderDigestFollowsTheDataAndItsOrder) {
  Trainer a(tiny_synthetic(2)), b(tiny_synthetic(4, 1));
  const std::string digest = a.data_order_digest();
  EXPECT_EQ(digest.size(), 16u);
  EXPECT_EQ(digest, b.data_order_digest());  // shards and threads do not change the data
  TrainConfig reshuffled = tiny_synthetic(2);
  reshuffled.seed = 12;  // another order of the same sequences
  EXPECT_NE(Trainer(reshuffled).data_order_digest(), digest);
  TrainConfig fewer = tiny_synthetic(2);
  fewer.max_train = 49;
  EXPECT_NE(Trainer(fewer).data_order_digest(), digest);
}

/// Trainer::pipeline in a world of one process (no launcher): a pipeline of one stage,
/// the stack's results delivered through the same code as on K ranks; the bits of the
/// plain run, with dropout and shards. The runs on 2 and 3 ranks are
/// tests/tools/train_pipeline_mpi_test.py's.
TEST(PipelineTraining, OneStagePipelineGivesThePlainRunsBits) {
  TempDir dir;
  TrainConfig c = tiny_synthetic(2, 1);
  c.dropout = 0.2;
  Trainer plain(c), pipelined(c);
  dist::World world;
  pipelined.pipeline(world);
  for (Trainer* t : {&plain, &pipelined}) {
    t->train_epoch();
    t->train_epoch();
  }
  expect_same_run(plain, pipelined, dir);
}

TEST(PipelineTraining, PipelineAndDataParallelAreOneOrTheOther) {
  dist::World world;
  Trainer pipelined(tiny_synthetic(2, 1));
  pipelined.pipeline(world);
  EXPECT_NE(error_of([&] { pipelined.distribute(world); }).find("layer pipeline over the ranks already"), std::string::npos);
  EXPECT_NE(error_of([&] { pipelined.pipeline(world); }).find("pipelined already"), std::string::npos);
  Trainer distributed(tiny_synthetic(2, 1));
  distributed.distribute(world);
  EXPECT_NE(error_of([&] { distributed.pipeline(world); }).find("data-parallel over the ranks already"), std::string::npos);
}

}  // namespace
}  // namespace rnnwave::testing
