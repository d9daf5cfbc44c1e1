#include "support/run_command.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>

namespace rnnwave::testing {

CommandResult run_command(const std::string& command) {
  const std::string joined = command + " 2>&1";
  CommandResult result;
  FILE* pipe = ::popen(joined.c_str(), "r");
  if (pipe == nullptr) {
    result.output = "popen failed for: " + joined;
    return result;
  }
  std::array<char, 4096> buffer;
  size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace rnnwave::testing
