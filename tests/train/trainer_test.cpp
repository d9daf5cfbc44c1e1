// Training runs end to end: configs, the adding problem (loss falls, thread-count
// independence, bit-exact resume from a checkpoint), the language model's output layer
// inside the forward graph (bit-identical at any thread count and step block, gradients by
// finite differences), checkpoints refused when damaged, and smoke runs on the real data
// sets when they are present.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "io/io_test_support.h"
#include "io/zip_builder.h"
#include "io/zip_archive.h"
#include "rnnwave/error.h"
#include "rnnwave/data_wikitext.h"
#include "rnnwave/npy.h"
#include "rnnwave/train/digits.h"
#include "rnnwave/train/train.h"
#include "rnnwave/train/trainer.h"
#include "train/checkpoint.h"
#include "train/language_model.h"
#include "train/train_config_json.h"
#include "train/train_test_support.h"
#include "support/errors.h"

namespace rnnwave::testing {
namespace {

/// A few seconds' worth of the adding problem.
TrainConfig small_synthetic(int threads) {
  TrainConfig c = defaults_for(TrainTask::synthetic);
  c.hidden_size = 16;
  c.layers = 2;
  c.dropout = 0.1;
  c.synthetic_steps = 20;
  c.synthetic_train = 256;
  c.synthetic_eval = 128;
  c.batch_size = 32;
  c.epochs = 3;
  c.seed = 7;
  c.exec.threads = threads;
  return c;
}

std::map<std::string, Tensor> exported(const Trainer& trainer, const TempDir& dir) {
  const std::string path = dir.file("export.npz");
  trainer.export_parameters(path);
  return load_npz<float>(path);
}

void expect_same_parameters(const std::map<std::string, Tensor>& a, const std::map<std::string, Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) {
    ASSERT_EQ(b.count(name), 1u) << name;
    EXPECT_EQ(tensor.shape(), b.at(name).shape()) << name;
    EXPECT_EQ(tensor.vector(), b.at(name).vector()) << name << " differs";
  }
}

void expect_same_losses(const std::vector<EpochMetrics>& a, const std::vector<EpochMetrics>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t e = 0; e < a.size(); ++e) {
    EXPECT_EQ(a[e].epoch, b[e].epoch);
    EXPECT_EQ(a[e].train_loss, b[e].train_loss) << "epoch " << e + 1;
    EXPECT_EQ(a[e].valid_loss, b[e].valid_loss) << "epoch " << e + 1;
    EXPECT_EQ(a[e].valid_accuracy, b[e].valid_accuracy) << "epoch " << e + 1;
    EXPECT_EQ(a[e].learning_rate, b[e].learning_rate) << "epoch " << e + 1;
  }
}

// ---- configs -------------------------------------------------------------------------

TEST(TrainerConfig, TaskNamesRoundTrip) {
  for (TrainTask task : kAllTrainTasks) EXPECT_EQ(parse_train_task(to_string(task)), task);
  EXPECT_NE(error_of([] { parse_train_task("mnist"); }).find("synthetic, digits, wikitext2"), std::string::npos);
}

TEST(TrainerConfig, DefaultsAreValid) {
  for (TrainTask task : kAllTrainTasks) {
    const TrainConfig c = defaults_for(task);
    EXPECT_EQ(c.task, task);
    EXPECT_NO_THROW(c.validate()) << to_string(task);
  }
  const TrainConfig lm = defaults_for(TrainTask::wikitext2);
  EXPECT_EQ(lm.hidden_size, 650);
  EXPECT_EQ(lm.optimizer.kind, OptimizerKind::sgd);
  EXPECT_EQ(lm.clip_norm, 0.25);
}

TEST(TrainerConfig, BadValuesNameTheField) {
  const auto expect_error = [](auto change, const std::string& needle) {
    TrainConfig c = defaults_for(TrainTask::synthetic);
    change(c);
    const std::string message = error_of([&] { c.validate(); });
    EXPECT_NE(message.find(needle), std::string::npos) << message;
  };
  expect_error([](TrainConfig& c) { c.hidden_size = 0; }, "hidden_size must be >= 1, got 0");
  expect_error([](TrainConfig& c) { c.layers = -2; }, "layers");
  expect_error([](TrainConfig& c) { c.dropout = 1.0; }, "dropout must be in [0, 1), got 1");
  expect_error([](TrainConfig& c) { c.batch_size = 0; }, "batch_size");
  expect_error([](TrainConfig& c) { c.clip_norm = -1; }, "clip_norm");
  expect_error([](TrainConfig& c) { c.optimizer.learning_rate = 0; }, "0");
  expect_error([](TrainConfig& c) { c.synthetic_steps = 1; }, "synthetic_steps");
  expect_error([](TrainConfig& c) { c.hidden_size = int64_t{1} << 40; }, "beyond");
  expect_error([](TrainConfig& c) { c.exec.threads = -1; }, "threads");
  expect_error([](TrainConfig& c) {
    c.task = TrainTask::wikitext2;
    c.bidirectional = true;
  }, "bidirectional");
  // The constructor validates before touching any data.
  TrainConfig bad = defaults_for(TrainTask::digits);
  bad.bptt = 0;
  bad.data_dir = "/nonexistent";
  EXPECT_NE(error_of([&] { Trainer trainer(bad); }).find("bptt"), std::string::npos);
}

TEST(TrainerConfig, JsonRoundTrip) {
  TrainConfig c = defaults_for(TrainTask::wikitext2);
  c.seed = 18446744073709551615ull;
  c.dropout = 0.1;  // not exact in binary: must come back bit-exact
  c.optimizer.learning_rate = 1.0 / 3.0;
  c.data_dir = "some dir/with \"quotes\"";
  const std::string text = train::config_to_json(c);
  const TrainConfig back = train::config_from_json(text);
  EXPECT_EQ(train::config_to_json(back), text);
  EXPECT_EQ(back.seed, c.seed);
  EXPECT_EQ(back.dropout, c.dropout);
  EXPECT_EQ(back.optimizer.learning_rate, c.optimizer.learning_rate);
  EXPECT_EQ(back.data_dir, c.data_dir);
  EXPECT_NE(error_of([] { train::config_from_json("{"); }).find("invalid JSON"), std::string::npos);
  std::string extra = text;
  extra.insert(1, "\"colour\": 3,");
  EXPECT_NE(error_of([&] { train::config_from_json(extra); }).find("unknown key 'colour'"), std::string::npos);
  std::string missing = text;
  missing.replace(missing.find("\"bptt\""), 6, "\"bptx\"");
  EXPECT_NE(error_of([&] { train::config_from_json(missing); }).find("missing key 'bptt'"), std::string::npos);
}

TEST(TrainerConfig, DefaultDataDirFollowsTheEnvironment) {
  const char* saved = std::getenv("RNNWAVE_DATA_DIR");
  const std::string before = saved != nullptr ? saved : "";
  setenv("RNNWAVE_DATA_DIR", "/somewhere/data", 1);
  EXPECT_EQ(default_data_dir(), "/somewhere/data");
  unsetenv("RNNWAVE_DATA_DIR");
  EXPECT_TRUE(default_data_dir().ends_with("data")) << default_data_dir();
  if (saved != nullptr) setenv("RNNWAVE_DATA_DIR", before.c_str(), 1);
}

// ---- the adding problem ----------------------------------------------------------------

TEST(TrainerSynthetic, LossFalls) {
  TrainConfig c = small_synthetic(2);
  c.layers = 1;
  c.dropout = 0;
  Trainer trainer(c);
  std::vector<TrainProgress> progress;
  for (int e = 0; e < 3; ++e) trainer.train_epoch([&](const TrainProgress& p) { progress.push_back(p); });
  const std::vector<EpochMetrics>& h = trainer.history();
  ASSERT_EQ(h.size(), 3u);
  for (const EpochMetrics& m : h) {
    EXPECT_TRUE(std::isfinite(m.train_loss) && std::isfinite(m.valid_loss));
    EXPECT_TRUE(std::isnan(m.valid_perplexity));
    EXPECT_GE(m.valid_accuracy, 0.0);
    EXPECT_LE(m.valid_accuracy, 1.0);
    EXPECT_GT(m.items_per_second, 0.0);
  }
  std::printf("[ synthetic] train loss %.4f %.4f %.4f, valid %.4f %.4f %.4f\n", h[0].train_loss,
              h[1].train_loss, h[2].train_loss, h[0].valid_loss, h[1].valid_loss, h[2].valid_loss);
  EXPECT_LT(h[2].train_loss, 0.6 * h[0].train_loss);
  EXPECT_LT(h[2].valid_loss, 0.25);  // predicting the mean scores 1/6
  ASSERT_EQ(progress.size(), 3u * 8u);  // 256 sequences in batches of 32
  EXPECT_EQ(progress.back().epoch, 3);
  EXPECT_EQ(progress.back().batch, 8);
  EXPECT_EQ(progress.back().batches, 8);
  EXPECT_EQ(trainer.epochs_done(), 3);
  const EvalResult test = trainer.evaluate(EvalSplit::test);
  EXPECT_EQ(test.items, 128);
  EXPECT_TRUE(std::isfinite(test.loss));
}

TEST(TrainerSynthetic, BitIdenticalAt1And2And3Threads) {
  TempDir dir;
  std::vector<std::vector<EpochMetrics>> histories;
  std::vector<std::map<std::string, Tensor>> params;
  for (int threads : {1, 2, 3}) {
    Trainer trainer(small_synthetic(threads));
    trainer.train_epoch();
    histories.push_back(trainer.history());
    params.push_back(exported(trainer, dir));
  }
  for (size_t i = 1; i < histories.size(); ++i) {
    expect_same_losses(histories[0], histories[i]);
    expect_same_parameters(params[0], params[i]);
  }
}

TEST(TrainerSynthetic, ResumedRunIsBitIdentical) {
  TempDir dir;
  Trainer straight(small_synthetic(2));
  for (int e = 0; e < 3; ++e) straight.train_epoch();

  const std::string checkpoint = dir.file("run.ckpt.npz");
  {
    Trainer first(small_synthetic(2));
    first.train_epoch();
    first.save_checkpoint(checkpoint);
  }
  // Resumed on another thread count: neither may change a bit.
  Trainer resumed = Trainer::from_checkpoint(checkpoint, ExecOptions{Schedule::wavefront, 1});
  EXPECT_EQ(resumed.epochs_done(), 1);
  EXPECT_EQ(resumed.config().exec.threads, 1);
  EXPECT_EQ(train::config_to_json(resumed.config()), train::config_to_json(small_synthetic(2)));
  resumed.train_epoch();
  resumed.train_epoch();
  expect_same_losses(straight.history(), resumed.history());
  expect_same_parameters(exported(straight, dir), exported(resumed, dir));
}

TEST(TrainerSynthetic, SgdWithMomentumAndStepScheduleResumes) {
  TempDir dir;
  TrainConfig c = small_synthetic(2);
  c.optimizer = OptimizerOptions{};
  c.optimizer.kind = OptimizerKind::sgd;
  c.optimizer.learning_rate = 0.05;
  c.optimizer.momentum = 0.9;
  c.lr_schedule.kind = LrScheduleKind::step;
  c.lr_schedule.factor = 0.5;
  c.cell = CellKind::gru;
  c.bidirectional = true;
  c.pooling = Pooling::mean;
  Trainer straight(c);
  straight.train_epoch();
  straight.train_epoch();
  Trainer first(c);
  first.train_epoch();
  first.save_checkpoint(dir.file("a.npz"));
  Trainer resumed = Trainer::from_checkpoint(dir.file("a.npz"), c.exec);
  resumed.train_epoch();
  expect_same_losses(straight.history(), resumed.history());
  expect_same_parameters(exported(straight, dir), exported(resumed, dir));
  EXPECT_EQ(straight.history()[1].learning_rate, 0.025);
}

TEST(TrainerSynthetic, ExportUsesTorchNames) {
  TempDir dir;
  TrainConfig c = small_synthetic(1);
  c.bidirectional = true;
  Trainer trainer(c);
  const std::map<std::string, Tensor> named = exported(trainer, dir);
  EXPECT_EQ(named.size(), 2u * 2u * 4u + 2u);
  EXPECT_EQ(named.at("rnn.weight_ih_l0").shape(), (std::vector<int64_t>{64, 2}));
  EXPECT_EQ(named.at("rnn.weight_hh_l1_reverse").shape(), (std::vector<int64_t>{64, 16}));
  EXPECT_EQ(named.at("head.weight").shape(), (std::vector<int64_t>{1, 32}));
  EXPECT_EQ(named.at("head.bias").shape(), (std::vector<int64_t>{1}));
  const std::string message = error_of([&] { predict_digit(trainer, dir.file("x.wav")); });
  EXPECT_NE(message.find("only a digits model"), std::string::npos) << message;
}

TEST(TrainerSynthetic, ExportDataHoldsEverySplitAndTheBatchesOfEveryEpoch) {
  TempDir dir;
  TrainConfig c = small_synthetic(1);
  c.epochs = 2;
  c.synthetic_train = 100;  // batches of 32: 32, 32, 32, 4
  Trainer trainer(c);
  const std::string path = dir.file("data.npz");
  trainer.export_data(path);
  std::map<std::string, std::vector<std::byte>> members;
  for_each_zip_member(read_file(path), path, [&](const std::string& name, std::span<const std::byte> bytes) {
    members[name].assign(bytes.begin(), bytes.end());
  });
  std::vector<std::string> names;
  for (const auto& [name, bytes] : members) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "epoch1_batch_sizes.npy", "epoch1_order.npy", "epoch2_batch_sizes.npy", "epoch2_order.npy",
                       "task.npy", "test_features.npy", "test_lengths.npy", "test_targets.npy", "train_features.npy",
                       "train_lengths.npy", "train_targets.npy", "valid_features.npy", "valid_lengths.npy",
                       "valid_targets.npy"}));
  const auto ints = [&](const std::string& name) { return parse_npy<int64_t>(members.at(name), name).vector(); };
  EXPECT_EQ(ints("task.npy"), (std::vector<int64_t>{0}));
  EXPECT_EQ(parse_npy<float>(members.at("train_features.npy"), "f").shape(), (std::vector<int64_t>{100 * 20, 2}));
  EXPECT_EQ(ints("train_lengths.npy"), std::vector<int64_t>(100, 20));
  std::vector<int64_t> first = ints("epoch1_order.npy"), second = ints("epoch2_order.npy");
  EXPECT_NE(first, second) << "each epoch shuffles anew";
  for (std::vector<int64_t>* order : {&first, &second}) {
    std::sort(order->begin(), order->end());
    for (int64_t i = 0; i < 100; ++i) ASSERT_EQ((*order)[i], i) << "an epoch's order is a permutation";
  }
  EXPECT_EQ(ints("epoch2_batch_sizes.npy"), (std::vector<int64_t>{32, 32, 32, 4}));
  const std::string message = error_of([&] { trainer.export_data(dir.file("missing/data.npz")); });
  EXPECT_NE(message.find("missing/data.npz"), std::string::npos) << message;
}

// ---- damaged checkpoints -------------------------------------------------------------------

class TrainerCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    TrainConfig c = small_synthetic(2);
    c.synthetic_train = 64;
    c.synthetic_eval = 32;
    Trainer trainer(c);
    trainer.train_epoch();
    path_ = dir_.file("good.npz");
    trainer.save_checkpoint(path_);
    std::ifstream in(path_, std::ios::binary);
    bytes_.assign(std::istreambuf_iterator<char>(in), {});
  }

  std::string write(const std::string& name, const std::string& bytes) const {
    const std::string path = dir_.file(name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  /// The Error of restoring `path`, which must name the file.
  std::string restore_error(const std::string& path) const {
    const std::string message = error_of([&] { Trainer::from_checkpoint(path, ExecOptions{}); });
    EXPECT_NE(message.find(path), std::string::npos) << message;
    return message;
  }

  /// Rewrites the good checkpoint with a change.
  template <class Change>
  std::string rewritten(const std::string& name, Change change) const {
    train::Checkpoint c = train::read_checkpoint(path_);
    change(c);
    const std::string path = dir_.file(name);
    train::write_checkpoint(path, c);
    return path;
  }

  TempDir dir_;
  std::string path_;
  std::string bytes_;
};

TEST_F(TrainerCheckpoint, GoodOneLoads) {
  EXPECT_EQ(Trainer::from_checkpoint(path_, ExecOptions{}).epochs_done(), 1);
}

TEST_F(TrainerCheckpoint, MissingOrTruncatedFile) {
  restore_error(dir_.file("absent.npz"));
  for (size_t keep : {size_t{0}, size_t{10}, bytes_.size() / 2, bytes_.size() - 1}) {
    const std::string path = write("cut" + std::to_string(keep) + ".npz", bytes_.substr(0, keep));
    restore_error(path);
  }
}

TEST_F(TrainerCheckpoint, FlippedByteInParameterData) {
  // A byte inside head.weight's values: the zip CRC catches it.
  const train::Checkpoint c = train::read_checkpoint(path_);
  const Tensor& w = c.parameters.at("head.weight");
  const std::string needle(reinterpret_cast<const char*>(w.data()), w.size() * sizeof(float));
  const size_t at = bytes_.find(needle);
  ASSERT_NE(at, std::string::npos);
  std::string damaged = bytes_;
  damaged[at + needle.size() / 2] ^= 0x10;
  const std::string message = restore_error(write("flipped.npz", damaged));
  EXPECT_NE(message.find("head.weight"), std::string::npos) << message;
}

TEST_F(TrainerCheckpoint, FlippedBytesAnywhereNeverCrash) {
  for (size_t i = 0; i < 64; ++i) {
    std::string damaged = bytes_;
    damaged[i * bytes_.size() / 64] ^= 0x5a;
    const std::string path = write("any.npz", damaged);
    try {
      Trainer::from_checkpoint(path, ExecOptions{});  // a harmless byte (a timestamp) may pass
    } catch (const Error&) {
    }
  }
}

TEST_F(TrainerCheckpoint, MissingParameter) {
  const std::string path = rewritten("missing.npz", [](train::Checkpoint& c) { c.parameters.erase("head.bias"); });
  EXPECT_NE(restore_error(path).find("missing parameter 'param/head.bias'"), std::string::npos);
}

TEST_F(TrainerCheckpoint, WrongShape) {
  const std::string path = rewritten("shape.npz", [](train::Checkpoint& c) {
    c.parameters["rnn.weight_hh_l1"] = Tensor({64, 15});
  });
  const std::string message = restore_error(path);
  EXPECT_NE(message.find("rnn.weight_hh_l1': expected shape [64, 16], got [64, 15]"), std::string::npos) << message;
}

TEST_F(TrainerCheckpoint, ExtraParameterAndNonFiniteValue) {
  std::string path = rewritten("extra.npz", [](train::Checkpoint& c) { c.parameters["decoder.weight"] = Tensor({2}); });
  EXPECT_NE(restore_error(path).find("unexpected parameter 'decoder.weight'"), std::string::npos);
  path = rewritten("nan.npz", [](train::Checkpoint& c) { c.parameters["head.bias"].vector()[0] = NAN; });
  EXPECT_NE(restore_error(path).find("NaN"), std::string::npos);
}

TEST_F(TrainerCheckpoint, BadConfigOptimizerOrSchedule) {
  std::string path = rewritten("config.npz", [](train::Checkpoint& c) {
    c.config_json.replace(c.config_json.find("\"hidden_size\": 16"), 17, "\"hidden_size\": -1");
  });
  EXPECT_NE(restore_error(path).find("hidden_size"), std::string::npos);
  path = rewritten("json.npz", [](train::Checkpoint& c) { c.config_json.resize(c.config_json.size() / 2); });
  EXPECT_NE(restore_error(path).find("invalid JSON"), std::string::npos);
  path = rewritten("adam.npz", [](train::Checkpoint& c) { c.optimizer.tensors.erase("head.bias/exp_avg"); });
  EXPECT_NE(restore_error(path).find("head.bias"), std::string::npos);
  path = rewritten("sched.npz", [](train::Checkpoint& c) { c.lr_schedule.erase("best"); });
  restore_error(path);
  path = rewritten("history.npz", [](train::Checkpoint& c) {
    c.history.push_back(c.history.back());
    c.history.back().epoch = 2;
    c.epochs_done = 2;
  });
  EXPECT_NE(restore_error(path).find("epochs"), std::string::npos);
}

TEST_F(TrainerCheckpoint, NotACheckpointOrOtherVersion) {
  const std::string path = dir_.file("weights.npz");
  save_npz<float>(path, {{"head.weight", Tensor({1, 2})}});
  EXPECT_NE(restore_error(path).find("not an rnnwave checkpoint"), std::string::npos);
  // The same members, but format version 2.
  std::vector<std::pair<std::string, std::vector<std::byte>>> members;
  const std::vector<std::byte> bytes = read_file(path_);
  for_each_zip_member(bytes, "good", [&](const std::string& name, std::span<const std::byte> data) {
    if (name == "rnnwave_checkpoint.npy") {
      members.emplace_back(name, serialize_npy(BasicTensor<int64_t>({}, {2})));
    } else {
      members.emplace_back(name, std::vector<std::byte>(data.begin(), data.end()));
    }
  });
  const std::string other = dir_.file("other.npz");
  write_file_atomic(other, make_stored_zip(members, other));
  EXPECT_NE(restore_error(other).find("format version 2, this build reads version 1"), std::string::npos);
}

// A config nested 100,000 deep used to overflow the stack (nlohmann's dump(), building the
// message); and every value quoted from it is escaped and shortened.
TEST_F(TrainerCheckpoint, DeeplyNestedConfigIsRefusedNotACrash) {
  for (const int depth : {30000, 100000}) {
    std::string nested;
    for (int i = 0; i < depth; ++i) nested += "{\"task\": ";
    nested += "1" + std::string(static_cast<size_t>(depth), '}');
    const std::string path = rewritten("nested.npz", [&](train::Checkpoint& c) { c.config_json = nested; });
    const std::string message = restore_error(path);
    EXPECT_NE(message.find("config: JSON nested deeper than 16 levels"), std::string::npos) << message.substr(0, 300);
    EXPECT_LT(message.size(), 300u) << message.substr(0, 300);
  }
  const std::string path = rewritten("escape.npz", [](train::Checkpoint& c) {
    const size_t at = c.config_json.find("\"synthetic\"");
    c.config_json.replace(at, 11, "\"\\u001b]0;PWNED\\u0007" + std::string(100000, 'x') + "\"");
  });
  const std::string message = restore_error(path);
  EXPECT_NE(message.find("config.task: expected a name such as 'lstm', got '\\x1b]0;PWNED\\x07xxx"), std::string::npos)
      << message.substr(0, 300);
  EXPECT_EQ(message.find('\033'), std::string::npos);
  EXPECT_LT(message.size(), 400u);
}

// A negative second moment passed the load check and made the resumed run fail mid-epoch
// with "mse_loss: predictions contains NaN".
TEST_F(TrainerCheckpoint, NegativeAdamSecondMomentIsRefused) {
  const std::string path = rewritten("negative.npz", [](train::Checkpoint& c) {
    c.optimizer.tensors.at("head.bias/exp_avg_sq").vector()[0] = -1.0f;
  });
  const std::string message = restore_error(path);
  EXPECT_NE(message.find("optimizer state 'head.bias/exp_avg_sq': value -1 at [0] is negative"), std::string::npos)
      << message;
}

// A member whose declared size is far more than its parameter's shape takes is refused
// before it is inflated (it used to be allocated at its declared size first), and a
// member that is not part of a checkpoint is refused by name without being inflated.
TEST_F(TrainerCheckpoint, MemberDeclaringMoreThanItsShapeIsRefusedBeforeInflating) {
  std::vector<ZipEntry> entries;
  for_each_zip_member(read_file(path_), "good", [&](const std::string& name, std::span<const std::byte> data) {
    std::vector<std::byte> content(data.begin(), data.end());
    if (name != "param/head.weight.npy") {
      entries.emplace_back(name, std::move(content));
      return;
    }
    // The real array, then 1 MiB of noise; declared as 1000 MiB (deflate allows 1032:1).
    for (uint32_t i = 0; i < (1u << 20); ++i) content.push_back(std::byte{static_cast<unsigned char>(i * 7919u >> 3)});
    ZipEntry entry(name, deflate_stored(content));
    entry.method = 8;
    entry.crc = crc32(content);
    entry.declared_size = uint64_t{1000} << 20;
    entries.push_back(std::move(entry));
  });
  const std::string path = dir_.file("lying.npz");
  write_bytes(path, make_zip(entries));
  const std::string message = restore_error(path);
  EXPECT_NE(message.find("member 'param/head.weight.npy': declares 1048576000 bytes (1000.0 MiB), more than an "
                         "array of shape [1, 16] takes"),
            std::string::npos)
      << message;
}

// ---- the language model's output layer inside the forward graph ------------------------------

TrainConfig tiny_lm(double dropout) {
  TrainConfig c = defaults_for(TrainTask::wikitext2);
  c.hidden_size = 16;
  c.embedding_size = 12;
  c.layers = 2;
  c.dropout = dropout;
  c.seed = 3;
  return c;
}

struct LmRun {
  std::vector<double> losses;
  std::vector<std::vector<float>> params;
};

/// Three SGD steps on random tokens with the state carried, under `exec`.
LmRun run_lm(const ExecOptions& exec, int threads) {
  const ScopedThreads scope(threads);
  TrainConfig c = tiny_lm(0.3);
  c.exec = exec;
  const int64_t V = 50, T = 12, N = 4;
  train::LanguageModel model(c, V);
  OptimizerOptions o;
  o.learning_rate = 1.0;
  Optimizer sgd(o);
  train::LanguageModel::State state;
  LmRun run;
  for (int step = 0; step < 3; ++step) {
    const std::vector<int64_t> tokens = random_ids((T + 1) * N, V, 100 + step);
    const std::vector<int64_t> inputs(tokens.begin(), tokens.begin() + T * N);
    const std::vector<int64_t> targets(tokens.begin() + N, tokens.end());
    run.losses.push_back(model.train_batch(T, N, inputs, targets, state, 1000 + step).mean);
    const std::vector<Parameter<float>> params = model.parameters();
    sgd.step(params);
    model.parameters_changed();
  }
  for (const Parameter<float>& p : model.parameters()) run.params.emplace_back(p.value.begin(), p.value.end());
  train::LanguageModel::State eval_state;
  const std::vector<int64_t> tokens = random_ids((T + 1) * N, V, 99);
  run.losses.push_back(model.eval_batch(T, N, std::vector<int64_t>(tokens.begin(), tokens.begin() + T * N),
                                        std::vector<int64_t>(tokens.begin() + N, tokens.end()), eval_state));
  return run;
}

TEST(TrainerLanguageModel, OutputLayerBitIdenticalAt1And2And3ThreadsAndAnyStepBlock) {
  const LmRun reference = run_lm(ExecOptions{Schedule::sequential, 1}, 1);
  for (int threads : {1, 2, 3}) {
    for (int64_t step_block : {int64_t{0}, int64_t{1}, int64_t{5}}) {
      ExecOptions exec{Schedule::wavefront, threads};
      exec.step_block = step_block;
      const LmRun run = run_lm(exec, threads);
      EXPECT_EQ(run.losses, reference.losses) << threads << " threads, step block " << step_block;
      EXPECT_EQ(run.params, reference.params) << threads << " threads, step block " << step_block;
    }
  }
  const LmRun layerwise = run_lm(ExecOptions{Schedule::layerwise, 2}, 2);
  EXPECT_EQ(layerwise.losses, reference.losses);
  EXPECT_EQ(layerwise.params, reference.params);
}

TEST(TrainerLanguageModel, GradientsMatchFiniteDifferences) {
  // Without dropout the loss is a function of the parameters; float central differences
  // with a large step are good to a few percent, a wrong gradient is off by far more.
  TrainConfig c = tiny_lm(0);
  c.exec = ExecOptions{Schedule::wavefront, 2};
  c.exec.step_block = 2;
  const int64_t V = 20, T = 6, N = 3;
  train::LanguageModel model(c, V);
  const std::vector<int64_t> tokens = random_ids((T + 1) * N, V, 5);
  const std::vector<int64_t> inputs(tokens.begin(), tokens.begin() + T * N);
  const std::vector<int64_t> targets(tokens.begin() + N, tokens.end());
  const std::vector<float> h0 = random_values<float>(2 * N * 16, 6, -0.5, 0.5);
  const std::vector<float> c0 = random_values<float>(2 * N * 16, 7, -0.5, 0.5);
  const auto loss = [&] {
    train::LanguageModel::State state{h0, c0};
    return model.train_batch(T, N, inputs, targets, state, 0).mean;
  };
  loss();
  std::vector<Parameter<float>> params = model.parameters();
  std::map<std::string, std::vector<float>> analytic;
  for (const Parameter<float>& p : params) analytic[p.name].assign(p.grad.begin(), p.grad.end());
  int checked = 0;
  for (const Parameter<float>& p : params) {
    for (size_t k = 0; k < 3; ++k) {
      size_t i = (k * 7919 + 13) % p.value.size();
      if (p.name == "embedding.weight") i = static_cast<size_t>(inputs[k]) * 12 + k;  // a used row
      const float saved = p.value[i];
      const float eps = 1e-2f;
      p.value[i] = saved + eps;
      model.parameters_changed();
      const double up = loss();
      p.value[i] = saved - eps;
      model.parameters_changed();
      const double down = loss();
      p.value[i] = saved;
      model.parameters_changed();
      const double numeric = (up - down) / (2.0 * eps);
      const double g = analytic[p.name][i];
      EXPECT_NEAR(g, numeric, 1e-4 + 0.03 * std::abs(numeric)) << p.name << "[" << i << "]";
      ++checked;
    }
  }
  EXPECT_EQ(checked, 3 * 11);  // embedding, 2 layers x 4 stack parameters, head weight and bias
}

TEST(TrainerLanguageModel, AbsurdSizesAreErrorsNotCrashes) {
  const std::string message = error_of([] { train::LanguageModel model(tiny_lm(0), int64_t{1} << 40); });
  EXPECT_NE(message.find("a language model of 1099511627776 words"), std::string::npos) << message;
}

// ---- the real data sets, when present ---------------------------------------------------------

bool has_data(const std::string& subdir, const std::string& probe) {
  return std::filesystem::exists(std::filesystem::path(default_data_dir()) / subdir / probe);
}

TEST(TrainerDigits, SmokeTrainCheckpointPredict) {
  if (!has_data("fsdd", "recordings")) GTEST_SKIP() << "FSDD not found in " << default_data_dir();
  TempDir dir;
  TrainConfig c = defaults_for(TrainTask::digits);
  c.hidden_size = 24;
  c.layers = 1;
  c.max_train = 240;
  c.max_eval = 60;
  c.optimizer.learning_rate = 1e-2;
  c.batch_size = 16;
  c.exec.threads = 2;
  Trainer trainer(c);
  trainer.train_epoch();
  trainer.train_epoch();
  const std::vector<EpochMetrics>& h = trainer.history();
  std::printf("[    digits] train loss %.4f %.4f, valid loss %.4f %.4f, accuracy %.3f %.3f\n", h[0].train_loss,
              h[1].train_loss, h[0].valid_loss, h[1].valid_loss, h[0].valid_accuracy, h[1].valid_accuracy);
  EXPECT_TRUE(std::isfinite(h[1].valid_loss));
  EXPECT_LT(h[1].train_loss, h[0].train_loss);
  const EvalResult test = trainer.evaluate(EvalSplit::test);
  EXPECT_EQ(test.items, 60);

  // A saved model classifies a recording without the data set.
  const std::string checkpoint = dir.file("digits.npz");
  trainer.save_checkpoint(checkpoint);
  const std::string wav = (std::filesystem::path(default_data_dir()) / "fsdd" / "recordings" / "3_jackson_0.wav").string();
  const DigitPrediction direct = predict_digit(trainer, wav);
  const char* saved_env = std::getenv("RNNWAVE_DATA_DIR");
  const std::string saved_dir = saved_env != nullptr ? saved_env : "";
  setenv("RNNWAVE_DATA_DIR", dir.file("nowhere").c_str(), 1);
  const Trainer restored = Trainer::from_checkpoint(checkpoint, ExecOptions{});
  const DigitPrediction again = predict_digit(restored, wav);
  if (saved_env != nullptr) setenv("RNNWAVE_DATA_DIR", saved_dir.c_str(), 1); else unsetenv("RNNWAVE_DATA_DIR");
  EXPECT_EQ(direct.label, again.label);
  EXPECT_EQ(direct.probabilities, again.probabilities);
  double sum = 0;
  for (double p : again.probabilities) sum += p;
  EXPECT_NEAR(sum, 1.0, 1e-9);
}

TEST(TrainerWikitext2, ExportDataIsTheStreamsTheRunBatchifies) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("wikitext-2"));
  std::string train_text, eval_text;
  for (int line = 0; line < 40; ++line) train_text += "the cat sat on mat " + std::to_string(line % 7) + "\n";
  for (int line = 0; line < 12; ++line) eval_text += "the cat on " + std::to_string(line % 5) + "\n";
  std::ofstream(dir.file("wikitext-2/wiki.train.tokens"), std::ios::binary) << train_text;
  std::ofstream(dir.file("wikitext-2/wiki.valid.tokens"), std::ios::binary) << eval_text;
  std::ofstream(dir.file("wikitext-2/wiki.test.tokens"), std::ios::binary) << eval_text << "sat\n";
  TrainConfig c = defaults_for(TrainTask::wikitext2);
  c.data_dir = dir.path();
  c.hidden_size = c.embedding_size = 8;
  c.layers = 1;
  c.batch_size = 7;  // 280 training tokens (40 lines of 7) in 7 columns of 40
  c.bptt = 6;
  Trainer trainer(c);
  const std::string path = dir.file("data.npz");
  trainer.export_data(path);
  const std::map<std::string, BasicTensor<int64_t>> arrays = load_npz<int64_t>(path);
  const TextCorpus corpus = load_wikitext2(dir.file("wikitext-2"));
  const auto first = [](const std::vector<int64_t>& ids, size_t count) {
    return std::vector<int64_t>(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(count));
  };
  ASSERT_EQ(corpus.train.size(), 280u);
  EXPECT_EQ(arrays.at("train_ids").vector(), corpus.train);
  EXPECT_EQ(arrays.at("valid_ids").vector(), corpus.valid);            // 60 tokens: 10 columns of 6
  EXPECT_EQ(arrays.at("test_ids").vector(), first(corpus.test, 60));    // 62 tokens: the last 2 dropped
  EXPECT_EQ(arrays.at("vocab_size").vector(), (std::vector<int64_t>{static_cast<int64_t>(corpus.vocab.size())}));
  EXPECT_EQ(arrays.at("task").vector(), (std::vector<int64_t>{2}));
}

TEST(TrainerWikitext2, SmokePerplexityFalls) {
  if (!has_data("wikitext-2", "wiki.train.tokens")) GTEST_SKIP() << "WikiText-2 not found in " << default_data_dir();
  TrainConfig c = defaults_for(TrainTask::wikitext2);
  c.hidden_size = 16;
  c.embedding_size = 16;
  c.layers = 1;
  c.dropout = 0;
  c.max_train = 2000;
  c.max_eval = 1000;
  c.batch_size = 10;
  c.bptt = 20;
  c.exec.threads = 2;
  Trainer trainer(c);
  trainer.train_epoch();
  trainer.train_epoch();
  const std::vector<EpochMetrics>& h = trainer.history();
  std::printf("[wikitext2] train loss %.4f %.4f, valid perplexity %.1f %.1f\n", h[0].train_loss, h[1].train_loss,
              h[0].valid_perplexity, h[1].valid_perplexity);
  for (const EpochMetrics& m : h) {
    EXPECT_TRUE(std::isfinite(m.valid_perplexity));
    EXPECT_TRUE(std::isnan(m.valid_accuracy));
    EXPECT_EQ(m.valid_perplexity, std::exp(m.valid_loss));
  }
  EXPECT_LT(h[1].valid_perplexity, h[0].valid_perplexity);
  EXPECT_LT(h[1].train_loss, h[0].train_loss);
  EXPECT_EQ(trainer.evaluate(EvalSplit::test).items, 990);  // 1000 tokens in 10 columns: 99 targets each
}

}  // namespace
}  // namespace rnnwave::testing
