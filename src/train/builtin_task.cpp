// What the built-in tasks share, and the table of them.
#include "train/builtin_task.h"

#include <algorithm>
#include <array>
#include <filesystem>

#include "common/strings.h"

namespace rnnwave::train {
namespace {

using Factory = std::unique_ptr<BuiltinTask> (*)(const TrainConfig&, const TaskState*);

struct TaskEntry {
  TrainTask task;
  Factory make;
};
constexpr std::array<TaskEntry, kTrainTaskCount> kTasks = {{
    {TrainTask::synthetic, &make_synthetic_task},
    {TrainTask::digits, &make_digits_task},
    {TrainTask::wikitext2, &make_wikitext2_task},
}};
static_assert(kTasks.size() == kAllTrainTasks.size());

}  // namespace

std::unique_ptr<BuiltinTask> make_builtin_task(const TrainConfig& config, const TaskState* saved) {
  for (const TaskEntry& entry : kTasks) {
    if (entry.task == config.task) return entry.make(config, saved);
  }
  fail("train config: unknown task ", static_cast<int>(config.task));
}

const BasicTensor<double>& saved_entry(const TaskState& saved,
                                       const std::string& key, int64_t elements) {
  const auto it = saved.find(key);
  if (it == saved.end()) fail("missing task state 'task/", key, "'");
  if (it->second.size() != elements) {
    fail("task state 'task/", key, "': expected ", elements, " elements, got shape ",
         shape_to_string(it->second.shape()));
  }
  return it->second;
}

std::string data_set_dir(const TrainConfig& config, const std::string& subdir) {
  const std::string root = config.data_dir.empty() ? default_data_dir() : config.data_dir;
  return (std::filesystem::path(root) / subdir).string();
}

std::vector<int64_t> spread_subset(int64_t count, int64_t limit) {
  const int64_t n = limit > 0 && limit < count ? limit : count;
  std::vector<int64_t> indices(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    indices[i] = i * count / n;  // counts of examples: far from overflowing
  }
  return indices;
}

std::vector<GradientGroup> stack_gradient_groups(const Weights& weights, const std::string& prefix) {
  const int64_t layers = weights.spec().layers;
  std::vector<GradientGroup> groups(static_cast<size_t>(layers));
  for (int64_t l = 0; l < layers; ++l) groups[static_cast<size_t>(layers - 1 - l)].name = cat("layer ", l);
  for (const ParamInfo& info : weights.params()) {
    groups[static_cast<size_t>(layers - 1 - info.layer)].parameters.push_back(prefix + info.name);
  }
  return groups;
}

}  // namespace rnnwave::train
