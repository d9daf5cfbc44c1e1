// The training tasks: names, configuration checks and per-task defaults.
#include <array>
#include <cmath>

#include "common/strings.h"
#include "rnnwave/train/trainer.h"

namespace rnnwave {
namespace {

struct TaskName {
  TrainTask task;
  std::string_view name;
};
constexpr std::array<TaskName, kTrainTaskCount> kTaskNames = {{
    {TrainTask::synthetic, "synthetic"},
    {TrainTask::digits, "digits"},
    {TrainTask::wikitext2, "wikitext2"},
}};
static_assert(kTaskNames.size() == kAllTrainTasks.size());

void expect_at_least(std::string_view field, int64_t value, int64_t minimum) {
  if (value < minimum) fail("train config: ", field, " must be >= ", minimum, ", got ", value);
}

}  // namespace

std::string_view to_string(TrainTask task) {
  for (const TaskName& entry : kTaskNames) {
    if (entry.task == task) return entry.name;
  }
  return "?";
}

TrainTask parse_train_task(std::string_view name) {
  std::string valid;
  for (const TaskName& entry : kTaskNames) {
    if (entry.name == name) return entry.task;
    valid += cat(valid.empty() ? "" : ", ", entry.name);
  }
  fail("unknown training task '", name, "' (valid: ", valid, ")");
}

void TrainConfig::validate() const {
  if (to_string(task) == "?") fail("train config: unknown task ", static_cast<int>(task));
  if (to_string(cell) == "?") fail("train config: unknown cell kind ", static_cast<int>(cell));
  if (to_string(pooling) == "?") fail("train config: unknown pooling ", static_cast<int>(pooling));
  expect_at_least("hidden_size", hidden_size, 1);
  expect_at_least("layers", layers, 1);
  expect_at_least("embedding_size", embedding_size, 0);
  if (task == TrainTask::wikitext2 && bidirectional) {
    fail("train config: a language model (task wikitext2) cannot be bidirectional: it would "
         "see the words it predicts");
  }
  if (!(dropout >= 0 && dropout < 1)) fail("train config: dropout must be in [0, 1), got ", dropout);
  optimizer.validate();
  LrScheduleOptions schedule = lr_schedule;
  schedule.initial = optimizer.learning_rate;
  schedule.validate();
  if (!(std::isfinite(clip_norm) && clip_norm >= 0)) {
    fail("train config: clip_norm must be finite and >= 0 (0 = no clipping), got ", clip_norm);
  }
  expect_at_least("batch_size", batch_size, 1);
  expect_at_least("bptt", bptt, 1);
  expect_at_least("shards", shards, 1);
  if (shards > batch_size) {
    fail("train config: shards (", shards, ") must be at most batch_size (", batch_size,
         "): a batch is cut into shards of whole ", task == TrainTask::wikitext2 ? "columns" : "sequences");
  }
  expect_at_least("epochs", epochs, 0);
  expect_at_least("max_train", max_train, 0);
  expect_at_least("max_eval", max_eval, 0);
  expect_at_least("synthetic_steps", synthetic_steps, 2);
  expect_at_least("synthetic_train", synthetic_train, 1);
  expect_at_least("synthetic_eval", synthetic_eval, 1);
  // Sizes a machine could never hold are refused here rather than by an allocator.
  constexpr int64_t kMaxSize = int64_t{1} << 24;
  if (hidden_size > kMaxSize || embedding_size > kMaxSize || layers > 4096) {
    fail("train config: hidden_size ", hidden_size, ", embedding_size ", embedding_size,
         " and layers ", layers, " are beyond any model this trainer can hold");
  }
  constexpr int64_t kMaxCount = int64_t{1} << 31;
  if (batch_size > kMaxCount || bptt > kMaxCount) {
    fail("train config: batch_size ", batch_size, " and bptt ", bptt, " must be at most ", kMaxCount);
  }
  if (skip_bad_recordings && task != TrainTask::digits) {
    fail("train config: skip_bad_recordings is for task digits, not ", to_string(task));
  }
  if (to_string(exec.schedule) == "?") {
    fail("train config: unknown schedule ", static_cast<int>(exec.schedule));
  }
  if (exec.threads < 0) fail("train config: threads must be >= 0 (0 = one per core), got ", exec.threads);
}

TrainConfig defaults_for(TrainTask task) {
  TrainConfig config;
  config.task = task;
  switch (task) {
    case TrainTask::synthetic:
      // The adding problem over 50 steps: a small LSTM learns it in a few epochs with Adam.
      config.cell = CellKind::lstm;
      config.hidden_size = 64;
      config.layers = 1;
      config.optimizer.kind = OptimizerKind::adam;
      config.optimizer.learning_rate = 1e-2;
      config.clip_norm = 1.0;
      config.batch_size = 32;
      config.epochs = 10;
      break;
    case TrainTask::digits:
      config.cell = CellKind::lstm;
      config.hidden_size = 128;
      config.layers = 2;
      config.bidirectional = true;
      config.pooling = Pooling::mean;
      config.dropout = 0.2;
      config.optimizer.kind = OptimizerKind::adam;
      config.optimizer.learning_rate = 1e-3;
      config.clip_norm = 5.0;
      config.batch_size = 32;
      config.epochs = 15;
      break;
    case TrainTask::wikitext2:
      // pytorch/examples word_language_model, "medium" (Zaremba et al. 2014): 2 x 650 LSTM,
      // dropout 0.5, SGD at 20 divided by 4 whenever the validation loss does not improve.
      config.cell = CellKind::lstm;
      config.hidden_size = 650;
      config.embedding_size = 650;
      config.layers = 2;
      config.dropout = 0.5;
      config.optimizer.kind = OptimizerKind::sgd;
      config.optimizer.learning_rate = 20;
      config.lr_schedule.kind = LrScheduleKind::plateau;
      config.lr_schedule.factor = 0.25;
      config.lr_schedule.patience = 0;
      config.lr_schedule.threshold = 0;
      config.clip_norm = 0.25;
      config.batch_size = 20;
      config.bptt = 35;
      config.epochs = 40;
      break;
  }
  config.lr_schedule.initial = config.optimizer.learning_rate;
  return config;
}

}  // namespace rnnwave
