// Running a shell command from a test and collecting what it printed.
#pragma once

#include <string>

namespace rnnwave::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  ///< stdout and stderr
};

/// Runs `command` through the shell with stderr joined to stdout.
CommandResult run_command(const std::string& command);

}  // namespace rnnwave::testing
