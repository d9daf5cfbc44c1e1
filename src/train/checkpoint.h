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
#include <string>
#include <vector>

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

/// Reads a checkpoint, checking the container: a readable zip of valid .npy members (with
/// their CRCs), the format version, every member's dtype and shape, history rows equal to
/// epochs_done. Throws Error "checkpoint '<path>': <problem>". The contents (config,
/// parameter names and shapes, optimizer and schedule state) are the caller's to check.
Checkpoint read_checkpoint(const std::string& path);

}  // namespace rnnwave::train
