#include "rnnwave/run/run_dir.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>

#include "rnnwave/error.h"
#include "rnnwave/npy.h"
#include "rnnwave/plot.h"

namespace rnnwave {
namespace {

namespace fs = std::filesystem;

/// null for NaN (JSON has no NaN), the value otherwise.
nlohmann::json number(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

bool is_builtin(std::string_view task) {
  for (const TrainTask builtin : kAllTrainTasks) {
    if (task == to_string(builtin)) return true;
  }
  return false;
}

std::string loss_label(std::string_view task) {
  if (task == to_string(TrainTask::synthetic)) return "mean squared error";
  return is_builtin(task) ? "cross-entropy" : "loss";
}

bool has_perplexity(const std::vector<EpochMetrics>& history) {
  for (const EpochMetrics& m : history) {
    if (std::isfinite(m.valid_perplexity)) return true;
  }
  return false;
}

}  // namespace

const std::vector<const char*>& run_files() {
  static const std::vector<const char*> files = {kCheckpointFile, kConfigFile, kMetricsFile,
                                                 kCurvesFile,     kInitialFile, kModelFile};
  return files;
}

std::string metrics_json_line(const EpochMetrics& m, std::string_view task) {
  const nlohmann::json json = {{"task", std::string(task)},
                               {"epoch", m.epoch},
                               {"train_loss", number(m.train_loss)},
                               {"valid_loss", number(m.valid_loss)},
                               {"valid_accuracy", number(m.valid_accuracy)},
                               {"valid_perplexity", number(m.valid_perplexity)},
                               {"learning_rate", number(m.learning_rate)},
                               {"train_seconds", number(m.train_seconds)},
                               {"items_per_second", number(m.items_per_second)}};
  return json.dump();
}

void write_metrics(const std::string& path, const std::vector<EpochMetrics>& history,
                   std::string_view task) {
  // Rewritten whole, never appended: a resumed run cannot repeat a line, and a failed
  // write leaves the previous file.
  std::string text;
  for (const EpochMetrics& m : history) text += metrics_json_line(m, task) + "\n";
  write_file_atomic(path, std::as_bytes(std::span<const char>(text.data(), text.size())));
}

void write_curves(const std::string& path, const std::vector<EpochMetrics>& history,
                  std::string_view task) {
  PlotSeries train{"train loss", {}, 0x1f77b4}, valid{"valid loss", {}, 0xff7f0e};
  const bool perplexity = has_perplexity(history);
  PlotSeries score{perplexity ? "valid perplexity" : "valid accuracy (%)", {}, 0x2ca02c};
  for (const EpochMetrics& m : history) {
    train.y.push_back(m.train_loss);
    valid.y.push_back(m.valid_loss);
    score.y.push_back(perplexity ? m.valid_perplexity : 100.0 * m.valid_accuracy);
  }
  const std::string name(task);
  const std::vector<PlotPanel> panels = {
      {name + ": loss", loss_label(task), {train, valid}},
      {name + (perplexity ? ": validation perplexity" : ": validation accuracy"),
       perplexity ? "perplexity" : "accuracy (%)",
       {score}}};
  write_png(path, panels, "epoch", 960, 400);
}

RunDirectory::RunDirectory(std::string path) : path_(std::move(path)) {
  if (path_.empty()) throw Error("run directory: the path is empty");
  std::error_code ec;
  fs::create_directories(path_, ec);
  if (ec || !fs::is_directory(path_)) {
    throw Error("cannot create the run directory " + path_ + ": " +
                (ec ? ec.message() : std::string("not a directory")));
  }
  // Now rather than at the end of the first epoch.
  if (::access(path_.c_str(), W_OK | X_OK) != 0) {
    throw Error("the run directory " + path_ + " is not writable: " + std::strerror(errno));
  }
}

std::string RunDirectory::file(const char* name) const { return (fs::path(path_) / name).string(); }

void RunDirectory::save_epoch(const Trainer& trainer) const {
  // The checkpoint first: it is the run's state; the other files are derived from it and
  // rewritten from it when the run is resumed.
  trainer.save_checkpoint(file(kCheckpointFile));
  write_outputs(trainer);
}

void RunDirectory::write_outputs(const Trainer& trainer) const {
  trainer.export_parameters(file(kModelFile));
  write_metrics(file(kMetricsFile), trainer.history(), trainer.task_name());
  if (!trainer.history().empty()) write_curves(file(kCurvesFile), trainer.history(), trainer.task_name());
}

}  // namespace rnnwave
