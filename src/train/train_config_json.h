// A TrainConfig as JSON text, for checkpoints: every field that defines the run (not the
// ExecOptions, which do not change its results).
#pragma once

#include <string>
#include <string_view>

#include "rnnwave/train/trainer.h"

namespace rnnwave::train {

/// {"task": "digits", "cell": "lstm", ..., "optimizer": {...}, "lr_schedule": {...}}:
/// enums by name, integers exact, doubles in shortest round-trip form.
std::string config_to_json(const TrainConfig& config);

/// The inverse. Throws Error naming the key for invalid JSON, a missing or unknown key, a
/// value of the wrong type or an unknown name; the result is not validated (call
/// TrainConfig::validate). exec is left at its defaults.
TrainConfig config_from_json(std::string_view text);

}  // namespace rnnwave::train
