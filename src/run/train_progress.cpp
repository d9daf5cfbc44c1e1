#include "rnnwave/run/train_progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace rnnwave {
namespace {

/// What items_per_second counts: tokens (wikitext2), sequences (the other built-in
/// tasks), or a program's own task's BatchLoss::items.
std::string item_unit(const std::string& task) {
  if (task == to_string(TrainTask::wikitext2)) return "tok/s";
  for (const TrainTask builtin : kAllTrainTasks) {
    if (task == to_string(builtin)) return "seq/s";
  }
  return "items/s";
}

bool is_terminal(ProgressStyle style) {
  if (style == ProgressStyle::automatic) return ::isatty(STDERR_FILENO) == 1;
  return style == ProgressStyle::terminal;
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<long long>(std::llround(seconds));
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", total / 3600, total / 60 % 60,
                  total % 60);
  } else {
    std::snprintf(text, sizeof text, "%lld:%02lld", total / 60, total % 60);
  }
  return text;
}

TrainProgressView::TrainProgressView(const Trainer& trainer, int64_t epochs, ProgressStyle style,
                                     double log_every_s)
    : terminal_(is_terminal(style)),
      unit_(item_unit(trainer.task_name())),
      epochs_(epochs),
      log_every_s_(log_every_s) {}

std::function<void(const TrainProgress&)> TrainProgressView::callback() {
  return [this](const TrainProgress& p) { batch(p); };
}

void TrainProgressView::clear_line() {
  if (terminal_ && line_shown_) std::fputs("\r\033[K", stderr);
  line_shown_ = false;
}

void TrainProgressView::batch(const TrainProgress& p) {
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  const bool last = p.batch == p.batches;
  // A terminal is redrawn at most 10 times a second; a log gets a line now and then.
  if (terminal_ ? (since < 0.1 && !last) : (since < log_every_s_ || last)) return;
  if (!terminal_ && last_draw_ == std::chrono::steady_clock::time_point{}) {
    last_draw_ = now;  // the first interval starts with the first batch
    return;
  }
  last_draw_ = now;
  const double left = p.batch > 0 ? p.seconds / static_cast<double>(p.batch) *
                                        static_cast<double>(p.batches - p.batch)
                                  : NAN;
  // After the last batch the epoch's validation runs: say so rather than "ETA 0:00".
  const std::string status = last ? "validating" : "epoch ETA " + format_duration(left);
  char text[256];
  std::snprintf(text, sizeof text, "epoch %lld/%lld  batch %lld/%lld  loss %.4f  %.0f %s  %s",
                static_cast<long long>(p.epoch), static_cast<long long>(epochs_),
                static_cast<long long>(p.batch), static_cast<long long>(p.batches), p.loss,
                p.items_per_second, unit_.c_str(), status.c_str());
  if (terminal_) {
    std::fprintf(stderr, "\r%s\033[K", text);
    line_shown_ = true;
  } else {
    std::fprintf(stderr, "%s\n", text);
  }
  std::fflush(stderr);
}

void TrainProgressView::epoch(const EpochMetrics& m) {
  clear_line();
  last_draw_ = {};
  std::string score;
  char text[512];
  // The task's score: perplexity (wikitext2), accuracy (the others), or none.
  if (std::isfinite(m.valid_perplexity)) {
    std::snprintf(text, sizeof text, "  valid perplexity %.2f", m.valid_perplexity);
    score = text;
  } else if (std::isfinite(m.valid_accuracy)) {
    std::snprintf(text, sizeof text, "  valid accuracy %.2f%%", 100.0 * m.valid_accuracy);
    score = text;
  }
  std::snprintf(text, sizeof text,
                "epoch %lld/%lld: train loss %.4f  valid loss %.4f%s  lr %.4g  %.1f s  %.0f %s",
                static_cast<long long>(m.epoch), static_cast<long long>(epochs_), m.train_loss,
                m.valid_loss, score.c_str(), m.learning_rate, m.train_seconds,
                m.items_per_second, unit_.c_str());
  std::fprintf(stderr, "%s\n", text);
  std::fflush(stderr);
}

void TrainProgressView::note(const std::string& text) {
  clear_line();
  std::fprintf(stderr, "%s\n", text.c_str());
  std::fflush(stderr);
}

}  // namespace rnnwave
