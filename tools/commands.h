// The subcommands of the rnnwave tool; each file registers one.
#pragma once

#include <string>
#include <vector>

#include "rnnwave/dist/config_check.h"

#include "rnnwave/planner.h"

namespace CLI {
class App;
}

namespace rnnwave::tools {

void add_forward_command(CLI::App& app);
void add_backward_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_calibrate_command(CLI::App& app);

/// The planner's calibration of this machine: the cached one, or measured (with a line on
/// stderr) and cached; a note on stderr when the cache was bad or cannot be written.
Calibration tool_calibration();

/// The identity of this build for the handshake of ranks under mpirun: a hash of the
/// executable's bytes (cmd_train.cpp).
std::string build_id();

/// The flags of `command` that decide its results, one item per flag given ("--lr":
/// "0.1"), in the command's order, for the handshake of ranks: --threads and --schedule
/// may differ between ranks (results do not depend on them) and are left out
/// (cmd_train.cpp).
std::vector<dist::ConfigItem> result_flags(const CLI::App& command);

}  // namespace rnnwave::tools
