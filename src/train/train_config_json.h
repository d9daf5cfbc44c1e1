// A TrainConfig as JSON text, for checkpoints: every field that defines the run (not the
// ExecOptions, which do not change its results).
#pragma once

#include <string>
#include <string_view>

#include "rnnwave/train/trainer.h"

namespace rnnwave::train {

/// {"task": "digits", "cell": "lstm", ..., "optimizer": {...}, "lr_schedule": {...}}:
/// enums by name, integers exact, doubles in shortest round-trip form. `task_name`, when
/// not empty, is written as "task" instead of config.task (a program's own task).
std::string config_to_json(const TrainConfig& config, std::string_view task_name = {});

/// The inverse. Throws Error naming the key for invalid JSON, a missing or unknown key, a
/// value of the wrong type or an unknown name; the result is not validated (call
/// TrainConfig::validate). exec is left at its defaults. With `task_name` not empty the
/// config is of a program's own task: "task" must be that name (Error naming both
/// otherwise) and config.task is left at its default.
TrainConfig config_from_json(std::string_view text, std::string_view task_name = {});

}  // namespace rnnwave::train
