// rnnwave: the command-line tool. Errors become one line on stderr and exit status 1
// (2 for a malformed command line).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "rnnwave/error.h"
#include "tools/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"rnnwave: task-parallel recurrent neural networks (RNN, LSTM, GRU) on CPUs"};
  app.require_subcommand(1);
  rnnwave::tools::add_forward_command(app);
  rnnwave::tools::add_backward_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "rnnwave: error: %s (see rnnwave --help)\n", e.what());
    return 2;
  } catch (const rnnwave::Error& e) {
    std::fprintf(stderr, "rnnwave: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "rnnwave: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rnnwave: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
