// The files of a training run's directory (RUN_DIR), shared by train, eval and predict:
//   checkpoint.npz  the whole state after the last finished epoch (resume, eval, predict)
//   config.json     the run's settings, for people (the checkpoint holds the real ones)
//   metrics.jsonl   one JSON object per finished epoch
//   curves.png      training/validation loss and validation accuracy or perplexity
//   initial.npz     the parameters before training, PyTorch state_dict names
//   model.npz       the parameters after the last finished epoch, the same names
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rnnwave/train/trainer.h"

namespace rnnwave::tools {

inline constexpr const char* kCheckpointFile = "checkpoint.npz";
inline constexpr const char* kConfigFile = "config.json";
inline constexpr const char* kMetricsFile = "metrics.jsonl";
inline constexpr const char* kCurvesFile = "curves.png";
inline constexpr const char* kInitialFile = "initial.npz";
inline constexpr const char* kModelFile = "model.npz";

/// dir/name.
std::string run_file(const std::string& dir, const char* name);

/// Refuses (Error) a directory that already holds a run (any of the files above), so that
/// a fresh run never overwrites one; a missing or unrelated directory is fine.
void refuse_existing_run(const std::string& dir);

/// Creates the directory (and its parents); Error naming it if that fails.
void create_run_dir(const std::string& dir);

/// The checkpoint of the run in `dir`, loaded with `exec`. Errors say which flag and
/// directory were given and what is missing; a corrupt checkpoint is the Trainer's Error.
Trainer load_run(const std::string& dir, const std::string& flag, const ExecOptions& exec);

/// The task named by dir/config.json, or "" when it cannot be read (a quick check before
/// loading a checkpoint and its data set).
std::string run_task_hint(const std::string& dir);
/// The epochs dir/config.json says the run aims at (the last --epochs given), or 0 when
/// it cannot be read.
int64_t run_epochs_hint(const std::string& dir);

nlohmann::json config_json(const TrainConfig& config);
/// Every EpochMetrics field and the task; NaN becomes null.
nlohmann::json metrics_json(const EpochMetrics& metrics, TrainTask task);

/// config.json, written atomically; `epochs` is the number of epochs the run aims for.
void write_config(const std::string& dir, const TrainConfig& config, int64_t epochs);
/// metrics.jsonl from the whole history, rewritten atomically (never appended, so a
/// resumed run cannot repeat a line).
void write_metrics(const std::string& dir, const std::vector<EpochMetrics>& history,
                   TrainTask task);
/// curves.png: losses on the left, validation accuracy (%) or perplexity on the right.
void write_curves(const std::string& dir, const std::vector<EpochMetrics>& history,
                  TrainTask task);

}  // namespace rnnwave::tools
