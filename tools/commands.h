// The subcommands of the rnnwave tool; each file registers one.
#pragma once

#include <string>

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

/// The identity of this build for the handshake of ranks under mpirun: a hash of the
/// executable's bytes (cmd_train.cpp).
std::string build_id();

}  // namespace rnnwave::tools
