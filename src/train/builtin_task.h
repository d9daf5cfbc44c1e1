// The built-in tasks (synthetic, digits, wikitext2): TrainingTasks (rnnwave/train/task.h)
// that also export their data for the PyTorch twin, and the helpers they share.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rnnwave/tensor.h"
#include "rnnwave/weights.h"
#include "rnnwave/train/task.h"
#include "rnnwave/train/trainer.h"
#include "train/data_export.h"

namespace rnnwave::train {

/// A built-in task. Created without data (from a checkpoint, for prediction) and loading
/// it on first need, or with data (a fresh run); begin_epoch and evaluate load it too.
class BuiltinTask : public TrainingTask {
 public:
  /// Loads the data if needed and adds the splits and the batches of epochs
  /// [0, epochs) to `out`, as Trainer::export_data describes them; the batches come
  /// from the same code as begin_epoch's.
  virtual void export_data(int64_t epochs, DataExport& out) = 0;

  /// Collective: the model's recurrent stack runs from now on as a layer pipeline over
  /// the ranks of `world` (Trainer::pipeline), with the same results on every rank.
  virtual void use_pipeline(dist::World& world) = 0;
};

/// The gradient groups of a recurrent stack whose parameters are named prefix + the
/// PyTorch name: one group "layer l" per layer (both directions: the layer below needs
/// both before it can start, so they end together), from the top layer down — the order
/// in which BackwardArgs::on_layer_grads_final announces them.
std::vector<GradientGroup> stack_gradient_groups(const Weights& weights, const std::string& prefix);

/// The task of a built-in run from a config (already validated). With `saved` null the data is loaded
/// now and the model is created from the seed; otherwise the model's sizes come from the
/// saved task state (no data is read) and the data is loaded on first need.
std::unique_ptr<BuiltinTask> make_builtin_task(const TrainConfig& config,
                                           const TaskState* saved);

/// The factories behind make_builtin_task, one per task (synthetic_task.cpp, ...).
std::unique_ptr<BuiltinTask> make_synthetic_task(const TrainConfig& config,
                                               const TaskState* saved);
std::unique_ptr<BuiltinTask> make_digits_task(const TrainConfig& config,
                                            const TaskState* saved);
std::unique_ptr<BuiltinTask> make_wikitext2_task(const TrainConfig& config,
                                               const TaskState* saved);

/// The saved task-state entry `key`, which must exist with `elements` elements (Error
/// naming the key otherwise).
const BasicTensor<double>& saved_entry(const TaskState& saved,
                                       const std::string& key, int64_t elements);

/// The directory of a data set: config.data_dir (or default_data_dir()) / subdir.
std::string data_set_dir(const TrainConfig& config, const std::string& subdir);

/// The indices [0, count) or `limit` of them evenly spread (limit 0 = all): index
/// floor(i * count / limit) for i < limit. Subsets independent of the seed.
std::vector<int64_t> spread_subset(int64_t count, int64_t limit);

}  // namespace rnnwave::train
