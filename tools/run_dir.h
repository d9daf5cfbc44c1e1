// The files of a training run's directory (RUN_DIR), shared by train, eval and predict:
// the library's run directory (rnnwave/run/run_dir.h: checkpoint.npz, metrics.jsonl,
// curves.png, model.npz) and what the command adds:
//   checkpoint.npz  written first, before epoch 1, so a run stopped in its first epoch
//                   resumes from its initial state
//   config.json     the run's settings, for people (written, never read: the checkpoint
//                   holds the real ones)
//   initial.npz     the parameters before training, PyTorch state_dict names
//   .train.lock     held (flock) by the one `train` or `train --resume` writing the run,
//                   with its pid; removed when it ends
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rnnwave/run/run_dir.h"
#include "rnnwave/train/trainer.h"

namespace rnnwave::tools {

inline constexpr const char* kLockFile = ".train.lock";

/// dir/name.
std::string run_file(const std::string& dir, const char* name);

/// Refuses (Error) a directory that already holds a run (any of the files above), so that
/// a fresh run never overwrites one; a missing or unrelated directory is fine. Also
/// refuses a path that exists and is not a directory, and a symbolic link to nothing.
void refuse_existing_run(const std::string& dir);

/// The exclusive right to write a run directory, for the whole life of a `train` or
/// `train --resume`: an flock on dir/.train.lock, which holds the owner's pid. A second
/// one is refused naming that pid. Released (and the file removed) on destruction or
/// when the process ends, however it ends.
class RunLock {
 public:
  /// `flag` names the directory in errors ("--out", "--resume").
  RunLock(const std::string& dir, const std::string& flag);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
};

/// Removes the temporary files a writer of this run left when it was killed mid-write
/// (".model.npz.tmp.XXXXXX" and the like, for the run's own files only). Call it holding
/// the RunLock, so that no live writer's file is taken.
void remove_stale_temporaries(const std::string& dir);

/// Refuses, before anything is written, a run file that exists but is not a regular
/// file (a directory named config.json): the rename of its next version would fail.
void check_run_files_writable(const std::string& dir, const std::string& flag);

/// The checkpoint of the run in `dir`, loaded with `exec`. Errors say which flag and
/// directory were given and what is missing; a corrupt checkpoint is the Trainer's Error.
Trainer load_run(const std::string& dir, const std::string& flag, const ExecOptions& exec);

/// Tells the user on stderr when the run in `dir` has not finished an epoch (it was stopped
/// in its first): what `what` ("scores", "predicts with") then uses are the initial weights.
void note_if_untrained(const Trainer& trainer, const std::string& dir, const std::string& what);

nlohmann::json config_json(const TrainConfig& config);

/// config.json, written atomically; `epochs` is the number of epochs the run aims for.
void write_config(const std::string& dir, const TrainConfig& config, int64_t epochs);

}  // namespace rnnwave::tools
