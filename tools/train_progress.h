// What `rnnwave train` shows while it trains: on a terminal one line redrawn in place
// (epoch, batch/batches, running loss, throughput, time left in the epoch); otherwise
// plain log lines: one per epoch and a progress line every `log_every_s` seconds.
// Everything goes to stderr; stdout stays free for results.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "rnnwave/train/trainer.h"

namespace rnnwave::tools {

class TrainProgressView {
 public:
  /// terminal: redraw one line in place (isatty(stderr) decides this in the command).
  TrainProgressView(bool terminal, TrainTask task, int64_t epochs, double log_every_s = 30);

  /// After each batch (Trainer::train_epoch's callback).
  void batch(const TrainProgress& progress);
  /// After an epoch: its summary on a line of its own.
  void epoch(const EpochMetrics& metrics);
  /// A message on a line of its own (clears the progress line first on a terminal).
  void note(const std::string& text);

 private:
  void clear_line();

  bool terminal_;
  TrainTask task_;
  int64_t epochs_;
  double log_every_s_;
  bool line_shown_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

/// "1:02:03" or "2:03".
std::string format_duration(double seconds);

}  // namespace rnnwave::tools
