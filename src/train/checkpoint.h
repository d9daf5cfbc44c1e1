// The checkpoint file of a training run: one .npz, written atomically, holding the whole
// state of a run at an epoch boundary.
//
// Members (all little-endian .npy, stored uncompressed, in key order):
//   rnnwave_checkpoint       int64 []       the format version, kCheckpointVersion
//   config                   uint8 [n]      the TrainConfig as JSON text (train_config_json.h)
//   epochs_done              int64 []       epochs completed
//   history                  float64 [E, 8] one row per epoch: epoch, train_loss, valid_loss,
//                                           valid_accuracy, valid_perplexity, learning_rate,
//                                           train_seconds, items_per_second (E = epochs_done)
//   param/<name>             float32        every parameter, by its torch state_dict name
//   optimizer/<param>/<buf>  float32 [size] the optimizer's buffers (OptimizerState tensors)
//   optimizer_scalar/<key>   float64 []     its scalars ("step", "learning_rate")
//   lr_schedule/<key>        float64 []     the learning-rate schedule's state
//   task/<key>               float64        what the task keeps (feature statistics,
//                                           vocabulary size)
// A reader refuses any other member, a missing one, or a wrong dtype or shape.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rnnwave/npy.h"
#include "rnnwave/tensor.h"
#include "rnnwave/train/optimizer.h"
#include "rnnwave/train/trainer.h"

namespace rnnwave::train {

inline constexpr int64_t kCheckpointVersion = 1;
inline constexpr int64_t kHistoryColumns = 8;

struct Checkpoint {
  std::string config_json;
  int64_t epochs_done = 0;
  std::vector<EpochMetrics> history;
  std::map<std::string, Tensor> parameters;
  OptimizerState<float> optimizer;
  std::map<std::string, double> lr_schedule;
  std::map<std::string, BasicTensor<double>> task_state;
};

/// Writes `checkpoint` to `path` atomically (a crash mid-write leaves any previous file).
void write_checkpoint(const std::string& path, const Checkpoint& checkpoint);

/// A checkpoint opened for restoring. The constructor reads and checks the container (a
/// readable zip; every member known by name, unknown ones refused without being inflated)
/// and the small members: the format version, config (at most 1 MiB), epochs_done, the
/// history (rows equal to epochs_done), the optimizer's and the schedule's scalars and
/// the task state (at most 1 MiB each). The model's arrays (param/..., optimizer/...) are
/// read only when asked for, with the shape the model expects: a member declaring more
/// bytes than that shape takes is refused before it is inflated. Errors read
/// "checkpoint '<path>': <problem>", member names escaped and shortened. The contents
/// (config, which parameters, optimizer and schedule values) are the caller's to check.
class CheckpointReader {
 public:
  explicit CheckpointReader(const std::string& path);
  /// Over bytes the caller keeps alive; `what` names them in messages.
  CheckpointReader(std::span<const std::byte> bytes, std::string what);
  ~CheckpointReader();

  const std::string& what() const { return what_; }
  const std::string& config_json() const { return config_json_; }
  int64_t epochs_done() const { return epochs_done_; }
  const std::vector<EpochMetrics>& history() const { return history_; }
  const std::map<std::string, double>& lr_schedule() const { return lr_schedule_; }
  const std::map<std::string, double>& optimizer_scalars() const { return optimizer_scalars_; }
  const std::map<std::string, BasicTensor<double>>& task_state() const { return task_state_; }
  /// The parameter names (after "param/") and optimizer tensors (after "optimizer/") held.
  const std::vector<std::string>& parameter_names() const { return parameter_names_; }
  const std::vector<std::string>& optimizer_keys() const { return optimizer_keys_; }

  /// "param/<name>" / "optimizer/<key>" as its header declares it, inflating no data.
  std::vector<int64_t> parameter_shape(const std::string& name) const;
  std::vector<int64_t> optimizer_shape(const std::string& key) const;
  /// "param/<name>", which must have `shape` (float32).
  Tensor parameter(const std::string& name, const std::vector<int64_t>& shape) const;
  /// "optimizer/<key>", which must have `shape` (float32).
  Tensor optimizer_tensor(const std::string& key, const std::vector<int64_t>& shape) const;

 private:
  void read_small_members();

  std::string what_;
  std::vector<std::byte> bytes_;  // the file, when opened from a path
  std::unique_ptr<NpzFile> npz_;
  std::string config_json_;
  int64_t epochs_done_ = 0;
  std::vector<EpochMetrics> history_;
  std::map<std::string, double> lr_schedule_;
  std::map<std::string, double> optimizer_scalars_;
  std::map<std::string, BasicTensor<double>> task_state_;
  std::vector<std::string> parameter_names_;
  std::vector<std::string> optimizer_keys_;
};

/// Every member of a checkpoint, read through CheckpointReader (for tests and tools that
/// rewrite one; a restore reads only what the model needs).
Checkpoint read_checkpoint(const std::string& path);

}  // namespace rnnwave::train
