#include "support/exec_options.h"

namespace rnnwave::testing {

std::vector<ExecOptions> tested_exec_options() {
  return {ExecOptions{Schedule::sequential, 1}};
}

std::string exec_name(const ExecOptions& options) {
  return std::string(to_string(options.schedule)) + "_" + std::to_string(options.threads) +
         (options.threads == 1 ? "thread" : "threads");
}

}  // namespace rnnwave::testing
