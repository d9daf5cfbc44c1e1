// rnnwave/run/run_dir.h — the files of a training run's directory, for any Trainer: a
// built-in task's (what `rnnwave train` writes) or a program's own (task.h).
//
//   checkpoint.npz  the whole state after the last finished epoch (Trainer::save_checkpoint;
//                   what a resume, `rnnwave eval` and `rnnwave predict` read)
//   metrics.jsonl   one JSON object per finished epoch (below)
//   curves.png      training/validation loss, and validation perplexity or accuracy (%)
//   model.npz       the parameters after the last finished epoch (Trainer::export_parameters)
//   config.json     `rnnwave train` only: the run's settings, for people
//   initial.npz     `rnnwave train` only: the parameters before training
//
// Every file is written atomically (a temporary file beside it renamed over it): a failure
// or a crash leaves the previous version or none, never half a file. metrics.jsonl is
// rewritten from Trainer::history() after each epoch, which the checkpoint keeps, so a
// resumed run continues it and never repeats or loses an epoch.
//
// A program trains its own task into a run directory with (examples/train_custom_task.cpp):
//
//   RunDirectory run("runs/sign");                // created if missing
//   TrainProgressView view(trainer, epochs);      // progress on stderr (train_progress.h)
//   while (trainer.epochs_done() < epochs) {
//     const EpochMetrics m = trainer.train_epoch(view.callback());
//     run.save_epoch(trainer);                    // checkpoint first, then the rest
//     view.epoch(m);
//   }
//
// This is the library rnnwave_run (rnnwave::rnnwave_run), above the Trainer; it links the
// plot library (rnnwave/plot.h, libgd), which the Trainer itself does not need.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "rnnwave/train/trainer.h"

namespace rnnwave {

inline constexpr const char* kCheckpointFile = "checkpoint.npz";
inline constexpr const char* kConfigFile = "config.json";
inline constexpr const char* kMetricsFile = "metrics.jsonl";
inline constexpr const char* kCurvesFile = "curves.png";
inline constexpr const char* kInitialFile = "initial.npz";
inline constexpr const char* kModelFile = "model.npz";

/// The files a run may hold, in the order above.
const std::vector<const char*>& run_files();

/// One line of metrics.jsonl (without the newline): every EpochMetrics field and the task's
/// name (Trainer::task_name), NaN written as null:
///   {"epoch":1,"items_per_second":...,"learning_rate":0.01,"task":"sign_of_sum",
///    "train_loss":0.69,"train_seconds":1.2,"valid_accuracy":0.55,"valid_loss":0.68,
///    "valid_perplexity":null}
std::string metrics_json_line(const EpochMetrics& metrics, std::string_view task);

/// Writes `history` to `path` atomically, one metrics_json_line per epoch.
void write_metrics(const std::string& path, const std::vector<EpochMetrics>& history,
                   std::string_view task);

/// The curves of `history` as a 960 x 400 PNG at `path`, written atomically: losses on the
/// left (y label "mean squared error" for synthetic, "cross-entropy" for digits and
/// wikitext2, "loss" for a program's own task); on the right validation perplexity if the
/// history has one, else validation accuracy (%) ("no data" if it has neither).
void write_curves(const std::string& path, const std::vector<EpochMetrics>& history,
                  std::string_view task);

/// A run directory. Does not lock it: one writer at a time is the caller's business
/// (`rnnwave train` holds a lock file for that).
class RunDirectory {
 public:
  /// Creates `path` (and its parents) if missing. Throws Error naming the path if it
  /// cannot be created, is not a directory, or is not writable.
  explicit RunDirectory(std::string path);

  const std::string& path() const { return path_; }
  /// path/name.
  std::string file(const char* name) const;

  /// After an epoch: checkpoint.npz first (the run's state), then write_outputs. Throws the
  /// writer's Error (naming the file) if one cannot be written; what was written before
  /// stays whole, what was not keeps its previous version.
  void save_epoch(const Trainer& trainer) const;

  /// The files derived from the trainer's state: model.npz, metrics.jsonl, and curves.png
  /// once an epoch is done. After Trainer::from_checkpoint they make the directory agree
  /// with its checkpoint again (a crash may have come between the checkpoint and them).
  void write_outputs(const Trainer& trainer) const;

 private:
  std::string path_;
};

}  // namespace rnnwave
