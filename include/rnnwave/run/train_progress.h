// rnnwave/run/train_progress.h — what a training run shows while it trains, on stderr
// (stdout stays free for results): on a terminal one line redrawn in place (epoch,
// batch/batches, running loss, throughput, time left in the epoch); otherwise plain log
// lines: one per epoch and a progress line every `log_every_s` seconds. `rnnwave train`
// shows exactly this; a program training its own task gets the same with
//
//   TrainProgressView view(trainer, target_epochs);
//   const EpochMetrics m = trainer.train_epoch(view.callback());
//   view.epoch(m);
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "rnnwave/train/trainer.h"

namespace rnnwave {

/// How progress is drawn: automatic = terminal if stderr is a terminal (isatty), else log.
enum class ProgressStyle { automatic, terminal, log };

class TrainProgressView {
 public:
  /// Progress of `trainer`'s run towards `epochs` epochs in all (the "E/epochs" shown).
  /// Throughput is in tok/s for wikitext2, seq/s for the other built-in tasks and items/s
  /// (BatchLoss::items per second) for a program's own task.
  TrainProgressView(const Trainer& trainer, int64_t epochs,
                    ProgressStyle style = ProgressStyle::automatic, double log_every_s = 30);

  /// After each batch (Trainer::train_epoch's callback).
  void batch(const TrainProgress& progress);
  /// batch() as the callback train_epoch takes; the view must outlive its use.
  std::function<void(const TrainProgress&)> callback();
  /// After an epoch: its summary on a line of its own (validation perplexity if the task
  /// has one, else validation accuracy if it has one).
  void epoch(const EpochMetrics& metrics);
  /// A message on a line of its own (clears the progress line first on a terminal).
  void note(const std::string& text);

 private:
  void clear_line();

  bool terminal_;
  std::string unit_;  ///< "seq/s", "tok/s", "items/s"
  int64_t epochs_;
  double log_every_s_;
  bool line_shown_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

/// "1:02:03" or "2:03"; "?" for a negative or non-finite number of seconds.
std::string format_duration(double seconds);

}  // namespace rnnwave
