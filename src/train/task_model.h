// What the Trainer needs from a task: its data, its model, one training batch at a time,
// evaluation, and the state a checkpoint keeps besides the parameters.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rnnwave/schedule.h"
#include "rnnwave/tensor.h"
#include "rnnwave/train/params.h"
#include "rnnwave/train/trainer.h"
#include "train/data_export.h"

namespace rnnwave::train {

/// What a training batch did; the gradients are left in the models' gradient buffers.
struct BatchLoss {
  double mean = 0;    ///< the loss minimised (mean over the batch's rows)
  int64_t items = 0;  ///< sequences (or tokens) in the batch
};

/// What one shard of a training batch did (TrainConfig::shards); the gradient of
/// total / (the batch's item count) is left in the models' gradient buffers, so that the
/// shards' gradients add up to the gradient of the batch's mean loss.
struct ShardLoss {
  double total = 0;   ///< the shard's summed loss
  int64_t items = 0;  ///< sequences (or tokens) in the shard; 0 for an empty shard
};

/// Rows [begin, end) of shard `shard` of `shards` of a batch of `rows` rows:
/// [shard rows / shards, (shard + 1) rows / shards), a function of the three alone.
struct RowRange {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};
RowRange shard_rows(int64_t rows, int64_t shard, int64_t shards);

/// Sets every gradient buffer of `params` to zero (the gradient of an empty shard).
void zero_gradients(const std::vector<Parameter<float>>& params);

/// A task: data and model. Created without data (from a checkpoint, for prediction) and
/// loading it on first need, or with data (a fresh run).
class TaskModel {
 public:
  virtual ~TaskModel() = default;

  /// Every parameter in a fixed order (the state_dict order of the torch module).
  virtual std::vector<Parameter<float>> parameters() = 0;
  /// Must be called after the parameter values changed (the stack keeps a packed copy).
  virtual void parameters_changed() = 0;
  virtual void set_exec(const ExecOptions& exec) = 0;

  /// Loads the data set if not yet loaded (throws Error for missing or corrupt data, or data
  /// that does not match the model's saved state).
  virtual void load_data() = 0;
  /// Prepares epoch `epoch` (0-based) of training; returns its number of batches.
  virtual int64_t begin_epoch(int64_t epoch) = 0;
  /// Forward and backward of batch `batch` (0-based) of the epoch begun last.
  virtual BatchLoss train_batch(int64_t batch) = 0;
  /// Forward and backward of shard `shard` of `shards` (> 1) of batch `batch`: the rows
  /// shard_rows(batch's rows, shard, shards) (wikitext2: columns, each shard carrying its
  /// own hidden state from segment to segment), dropout from shard_key. Shards of one
  /// batch may be computed in any order, each once.
  virtual ShardLoss train_shard(int64_t batch, int64_t shard, int64_t shards) = 0;
  virtual EvalResult evaluate(EvalSplit split) = 0;
  /// Loads the data if needed and adds the splits and the batches of epochs
  /// [0, epochs) to `out`, as Trainer::export_data describes them; the batches come
  /// from the same code as begin_epoch's.
  virtual void export_data(int64_t epochs, DataExport& out) = 0;

  /// What a checkpoint keeps besides the parameters (e.g. the vocabulary size, the
  /// feature statistics), and its restoration before the parameters are loaded.
  virtual std::map<std::string, BasicTensor<double>> task_state() const = 0;

  /// digits only (others throw Error).
  virtual Trainer::Prediction predict_wav(const std::string& path) const;

  /// What loading the data left out (Trainer::data_notes), "" if nothing.
  virtual std::string data_notes() const { return ""; }
};

/// A task model from a config (already validated). With `saved` null the data is loaded
/// now and the model is created from the seed; otherwise the model's sizes come from the
/// saved task state (no data is read) and the data is loaded on first need.
std::unique_ptr<TaskModel> make_task_model(const TrainConfig& config,
                                           const std::map<std::string, BasicTensor<double>>* saved);

/// The factories behind make_task_model, one per task (synthetic_task.cpp, ...).
std::unique_ptr<TaskModel> make_synthetic_task(const TrainConfig& config,
                                               const std::map<std::string, BasicTensor<double>>* saved);
std::unique_ptr<TaskModel> make_digits_task(const TrainConfig& config,
                                            const std::map<std::string, BasicTensor<double>>* saved);
std::unique_ptr<TaskModel> make_wikitext2_task(const TrainConfig& config,
                                               const std::map<std::string, BasicTensor<double>>* saved);

/// The saved task-state entry `key`, which must exist with `elements` elements (Error
/// naming the key otherwise).
const BasicTensor<double>& saved_entry(const std::map<std::string, BasicTensor<double>>& saved,
                                       const std::string& key, int64_t elements);

/// The directory of a data set: config.data_dir (or default_data_dir()) / subdir.
std::string data_set_dir(const TrainConfig& config, const std::string& subdir);

/// The indices [0, count) or `limit` of them evenly spread (limit 0 = all): index
/// floor(i * count / limit) for i < limit. Subsets independent of the seed.
std::vector<int64_t> spread_subset(int64_t count, int64_t limit);

}  // namespace rnnwave::train
