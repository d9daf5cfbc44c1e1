#include "tools/run_dir.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <span>
#include <string_view>

#include "rnnwave/error.h"
#include "rnnwave/npy.h"
#include "tools/plot_png.h"

namespace rnnwave::tools {
namespace {

namespace fs = std::filesystem;

/// null for NaN (JSON has no NaN), the value otherwise.
nlohmann::json number(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

void write_text_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, std::as_bytes(std::span<const char>(text.data(), text.size())));
}

/// dir/config.json as an object; an empty object when it is missing or unreadable.
nlohmann::json read_run_config(const std::string& dir) {
  std::ifstream in((fs::path(dir) / kConfigFile).string());
  if (!in) return nlohmann::json::object();
  nlohmann::json config = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  return config.is_object() ? config : nlohmann::json::object();
}

}  // namespace

std::string run_file(const std::string& dir, const char* name) {
  return (fs::path(dir) / name).string();
}

void refuse_existing_run(const std::string& dir) {
  for (const char* name : {kCheckpointFile, kConfigFile, kMetricsFile, kModelFile}) {
    std::error_code ec;
    if (fs::exists(run_file(dir, name), ec)) {
      throw Error("--out " + dir + " already holds a run (" + name +
                  "); continue it with --resume " + dir + ", or choose another --out");
    }
  }
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    throw Error("--out " + dir + " exists and is not a directory");
  }
}

void create_run_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw Error("cannot create the run directory " + dir + ": " +
                (ec ? ec.message() : std::string("not a directory")));
  }
}

Trainer load_run(const std::string& dir, const std::string& flag, const ExecOptions& exec) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw Error(flag + " " + dir + ": no such run directory");
  }
  const std::string checkpoint = run_file(dir, kCheckpointFile);
  if (!fs::exists(checkpoint, ec)) {
    throw Error(flag + " " + dir + ": no " + kCheckpointFile +
                " (not a run directory, or its first epoch never finished: start it again "
                "with a new --out)");
  }
  return Trainer::from_checkpoint(checkpoint, exec);
}

std::string run_task_hint(const std::string& dir) {
  const nlohmann::json config = read_run_config(dir);
  if (!config.contains("task") || !config["task"].is_string()) return "";
  return config["task"].get<std::string>();
}

int64_t run_epochs_hint(const std::string& dir) {
  const nlohmann::json config = read_run_config(dir);
  if (!config.contains("epochs") || !config["epochs"].is_number_integer()) return 0;
  return config["epochs"].get<int64_t>();
}

/// The run-defining fields as the checkpoint stores them, with the data folder resolved
/// and the execution settings, for people reading the run directory.
nlohmann::json config_json(const TrainConfig& c) {
  nlohmann::json json = nlohmann::json::parse(to_json(c));
  if (c.data_dir.empty()) json["data_dir"] = default_data_dir();
  json["exec"] = {{"schedule", std::string(to_string(c.exec.schedule))},
                  {"threads", c.exec.threads}};
  return json;
}

nlohmann::json metrics_json(const EpochMetrics& m, TrainTask task) {
  return {{"task", std::string(to_string(task))},
          {"epoch", m.epoch},
          {"train_loss", number(m.train_loss)},
          {"valid_loss", number(m.valid_loss)},
          {"valid_accuracy", number(m.valid_accuracy)},
          {"valid_perplexity", number(m.valid_perplexity)},
          {"learning_rate", number(m.learning_rate)},
          {"train_seconds", number(m.train_seconds)},
          {"items_per_second", number(m.items_per_second)}};
}

void write_config(const std::string& dir, const TrainConfig& config, int64_t epochs) {
  nlohmann::json json = config_json(config);
  json["epochs"] = epochs;
  write_text_atomic(run_file(dir, kConfigFile), json.dump(2) + "\n");
}

void write_metrics(const std::string& dir, const std::vector<EpochMetrics>& history,
                   TrainTask task) {
  std::string text;
  for (const EpochMetrics& m : history) text += metrics_json(m, task).dump() + "\n";
  write_text_atomic(run_file(dir, kMetricsFile), text);
}

void write_curves(const std::string& dir, const std::vector<EpochMetrics>& history,
                  TrainTask task) {
  PlotSeries train{"train loss", {}, 0x1f77b4}, valid{"valid loss", {}, 0xff7f0e};
  const bool language = task == TrainTask::wikitext2;
  PlotSeries score{language ? "valid perplexity" : "valid accuracy (%)", {}, 0x2ca02c};
  for (const EpochMetrics& m : history) {
    train.y.push_back(m.train_loss);
    valid.y.push_back(m.valid_loss);
    score.y.push_back(language ? m.valid_perplexity : 100.0 * m.valid_accuracy);
  }
  const std::string name(to_string(task));
  std::vector<PlotPanel> panels = {
      {name + ": loss", task == TrainTask::synthetic ? "mean squared error" : "cross-entropy",
       {train, valid}},
      {name + (language ? ": validation perplexity" : ": validation accuracy"),
       language ? "perplexity" : "accuracy (%)",
       {score}}};
  write_png(run_file(dir, kCurvesFile), panels, "epoch", 960, 400);
}

}  // namespace rnnwave::tools
