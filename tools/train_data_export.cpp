#include "tools/train_data_export.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "rnnwave/data_adding.h"
#include "rnnwave/data_bptt.h"
#include "rnnwave/data_fsdd.h"
#include "rnnwave/data_shuffle.h"
#include "rnnwave/data_wikitext.h"
#include "rnnwave/npy.h"
#include "src/io/zip_archive.h"
#include "src/train/run_seeds.h"
#include "src/train/task_model.h"

namespace rnnwave::tools {
namespace {

/// Members of the .npz in the making: float32 and int64 arrays side by side.
class NpzWriter {
 public:
  template <class T>
  void add(const std::string& key, std::vector<int64_t> shape, std::vector<T> values) {
    members_.emplace_back(key + ".npy",
                          serialize_npy(BasicTensor<T>(std::move(shape), std::move(values))));
  }
  template <class T>
  void add(const std::string& key, std::vector<T> values) {
    const auto count = static_cast<int64_t>(values.size());
    add<T>(key, {count}, std::move(values));
  }
  void write(const std::string& path) const {
    write_file_atomic(path, make_stored_zip(members_, path));
  }

 private:
  std::vector<std::pair<std::string, std::vector<std::byte>>> members_;
};

using train::shuffle_seed;

int64_t limited(int64_t count, int64_t limit) { return limit > 0 ? std::min(limit, count) : count; }

/// The batches of every epoch as one order and the batch sizes.
void add_epoch(NpzWriter& out, int64_t epoch, const std::vector<std::vector<int64_t>>& batches) {
  std::vector<int64_t> order, sizes;
  for (const std::vector<int64_t>& batch : batches) {
    order.insert(order.end(), batch.begin(), batch.end());
    sizes.push_back(static_cast<int64_t>(batch.size()));
  }
  const std::string prefix = "epoch" + std::to_string(epoch + 1);
  out.add<int64_t>(prefix + "_order", std::move(order));
  out.add<int64_t>(prefix + "_batch_sizes", std::move(sizes));
}

/// Sequences of an adding-problem set, [T, N, 2] with all lengths T, one after another.
void add_adding_split(NpzWriter& out, const std::string& split, const AddingBatch& set) {
  const int64_t T = set.input.dim(0), N = set.input.dim(1);
  std::vector<float> features(static_cast<size_t>(T * N * 2));
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t t = 0; t < T; ++t) {
      const float* from = set.input.data() + (t * N + n) * 2;
      std::copy(from, from + 2, features.data() + (n * T + t) * 2);
    }
  }
  out.add<float>(split + "_features", {N * T, 2}, std::move(features));
  out.add<int64_t>(split + "_lengths", std::vector<int64_t>(static_cast<size_t>(N), T));
  out.add<float>(split + "_targets", set.target.vector());
}

/// src/train/synthetic_task.cpp: samples 0.. of SyntheticAdding(T, fixed lengths, data seed
/// 0); each epoch a permutation of the training samples cut into consecutive batches.
void export_synthetic(const TrainConfig& c, NpzWriter& out) {
  const SyntheticAdding data(AddingOptions{c.synthetic_steps, false, 0});
  const int64_t train_count = limited(c.synthetic_train, c.max_train);
  const int64_t eval = limited(c.synthetic_eval, c.max_eval);
  add_adding_split(out, "train", data.samples(AddingSplit::train, 0, train_count));
  add_adding_split(out, "valid", data.validation_set(eval));
  add_adding_split(out, "test", data.test_set(eval));
  for (int64_t epoch = 0; epoch < c.epochs; ++epoch) {
    const std::vector<int64_t> order = epoch_permutation(train_count, shuffle_seed(c.seed), epoch);
    std::vector<std::vector<int64_t>> batches;
    for (int64_t first = 0; first < train_count; first += c.batch_size) {
      batches.emplace_back(order.begin() + first, order.begin() + std::min(train_count, first + c.batch_size));
    }
    add_epoch(out, epoch, batches);
  }
}

/// Recordings one after another: features [sum T_i, F], lengths, labels.
void add_fsdd_split(NpzWriter& out, const std::string& split, const std::vector<Utterance>& set) {
  std::vector<float> features;
  std::vector<int64_t> lengths, labels;
  const int64_t F = set.empty() ? 0 : set.front().features.dim(1);
  int64_t rows = 0;
  for (const Utterance& u : set) {
    features.insert(features.end(), u.features.vector().begin(), u.features.vector().end());
    lengths.push_back(u.features.dim(0));
    labels.push_back(u.label);
    rows += u.features.dim(0);
  }
  out.add<float>(split + "_features", {rows, F}, std::move(features));
  out.add<int64_t>(split + "_lengths", std::move(lengths));
  out.add<int64_t>(split + "_targets", std::move(labels));
}

std::vector<Utterance> subset(const std::vector<Utterance>& all, int64_t limit) {
  std::vector<Utterance> chosen;
  for (int64_t i : train::spread_subset(static_cast<int64_t>(all.size()), limit)) {
    chosen.push_back(all[static_cast<size_t>(i)]);
  }
  return chosen;
}

/// src/train/digits_task.cpp: FSDD's training split (normalised, byte order of file
/// names) cut into validation = every 10th recording and training = the rest, each
/// spread_subset to --max-train / --max-eval; batches of similar lengths.
void export_digits(const TrainConfig& c, NpzWriter& out) {
  FsddOptions options;
  options.threads = c.exec.threads;
  const FsddSplits splits = load_fsdd(train::data_set_dir(c, "fsdd"), options);
  std::vector<Utterance> train_set, valid_set;
  for (size_t i = 0; i < splits.train.size(); ++i) {
    (i % 10 == 0 ? valid_set : train_set).push_back(splits.train[i]);
  }
  train_set = subset(train_set, c.max_train);
  add_fsdd_split(out, "train", train_set);
  add_fsdd_split(out, "valid", subset(valid_set, c.max_eval));
  add_fsdd_split(out, "test", subset(splits.test, c.max_eval));
  std::vector<int64_t> lengths;
  for (const Utterance& u : train_set) lengths.push_back(u.features.dim(0));
  for (int64_t epoch = 0; epoch < c.epochs; ++epoch) {
    add_epoch(out, epoch, length_bucketed_batches(lengths, c.batch_size, shuffle_seed(c.seed), epoch));
  }
}

/// src/train/wikitext_task.cpp: the first --max-train / --max-eval tokens of each stream.
void export_wikitext2(const TrainConfig& c, NpzWriter& out) {
  const TextCorpus corpus = load_wikitext2(train::data_set_dir(c, "wikitext-2"));
  const auto first = [](const std::vector<int64_t>& ids, int64_t limit) {
    return std::vector<int64_t>(ids.begin(), ids.begin() + limited(static_cast<int64_t>(ids.size()), limit));
  };
  out.add<int64_t>("train_ids", first(corpus.train, c.max_train));
  out.add<int64_t>("valid_ids", first(corpus.valid, c.max_eval));
  out.add<int64_t>("test_ids", first(corpus.test, c.max_eval));
  out.add<int64_t>("vocab_size", {corpus.vocab.size()});
}

}  // namespace

void export_training_data(const TrainConfig& config, const std::string& path) {
  NpzWriter out;
  out.add<int64_t>("task", {static_cast<int64_t>(config.task)});
  switch (config.task) {
    case TrainTask::synthetic:
      export_synthetic(config, out);
      break;
    case TrainTask::digits:
      export_digits(config, out);
      break;
    case TrainTask::wikitext2:
      export_wikitext2(config, out);
      break;
  }
  out.write(path);
}

}  // namespace rnnwave::tools
