#include "tools/train_progress.h"

#include <cmath>
#include <cstdio>

namespace rnnwave::tools {
namespace {

/// "seq/s" or "tok/s": what items_per_second counts.
const char* item_unit(TrainTask task) { return task == TrainTask::wikitext2 ? "tok/s" : "seq/s"; }

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

TrainProgressView::TrainProgressView(bool terminal, TrainTask task, int64_t epochs,
                                     double log_every_s)
    : terminal_(terminal), task_(task), epochs_(epochs), log_every_s_(log_every_s) {}

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
                p.items_per_second, item_unit(task_), status.c_str());
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
  if (task_ == TrainTask::wikitext2) {
    std::snprintf(text, sizeof text, "valid perplexity %.2f", m.valid_perplexity);
  } else {
    std::snprintf(text, sizeof text, "valid accuracy %.2f%%", 100.0 * m.valid_accuracy);
  }
  score = text;
  std::snprintf(text, sizeof text,
                "epoch %lld/%lld: train loss %.4f  valid loss %.4f  %s  lr %.4g  %.1f s  %.0f %s",
                static_cast<long long>(m.epoch), static_cast<long long>(epochs_), m.train_loss,
                m.valid_loss, score.c_str(), m.learning_rate, m.train_seconds,
                m.items_per_second, item_unit(task_));
  std::fprintf(stderr, "%s\n", text);
  std::fflush(stderr);
}

void TrainProgressView::note(const std::string& text) {
  clear_line();
  std::fprintf(stderr, "%s\n", text.c_str());
  std::fflush(stderr);
}

}  // namespace rnnwave::tools
