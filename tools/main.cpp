// rnnwave: the command-line tool. Errors become one line on stderr and exit status 1
// (2 for a malformed command line, such as an option given twice).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "rnnwave/dist/launcher.h"
#include "rnnwave/error.h"
#include "tools/commands.h"

namespace {

/// "forward or backward"
std::string command_names(const CLI::App& app) {
  std::string names;
  const auto commands = app.get_subcommands([](const CLI::App*) { return true; });
  for (size_t i = 0; i < commands.size(); ++i) {
    if (i > 0) names += i + 1 == commands.size() ? " or " : ", ";
    names += commands[i]->get_name();
  }
  return names;
}

/// CLI11 says "A subcommand is required" whatever came instead; say what that was.
std::string missing_command(const CLI::App& app, int argc, char** argv) {
  if (argc < 2) return "no command given; expected " + command_names(app);
  const std::string first = argv[1];
  return (first.rfind('-', 0) == 0 ? "unknown option '" : "unknown command '") + first +
         "'; expected a command: " + command_names(app);
}

/// Every option that takes one value (or is a flag) refuses a second occurrence: the
/// same rule for every command (CLI11 would let a flag repeat, and say "At Most 1
/// required but received 2" for an option).
void refuse_repeats(CLI::App& app) {
  for (CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; })) {
    for (CLI::Option* option : command->get_options()) {
      if (option != command->get_help_ptr() && option->get_expected_max() <= 1) {
        option->multi_option_policy(CLI::MultiOptionPolicy::Throw);
      }
    }
  }
}

/// "--repeats given twice" for the option of the command line given more than once, or
/// "" if none was (the mismatch is then of another kind).
std::string repeated_option(const CLI::App& app) {
  for (const CLI::App* command : app.get_subcommands()) {
    for (const CLI::Option* option : command->get_options()) {
      if (option->get_expected_max() > 1 || option->count() < 2) continue;
      std::string names;  // "--bidirectional/--no-bidirectional"
      for (const std::string& name : option->get_lnames()) names += (names.empty() ? "--" : "/--") + name;
      if (names.empty()) names = option->get_name();
      const std::string times = option->count() == 2 ? "twice" : std::to_string(option->count()) + " times";
      return names + " given " + times;
    }
  }
  return "";
}

/// Whether this process prints the errors that reach main: always, but under mpirun only
/// rank 0, since every rank parses the same command line and reaches the same error
/// (errors inside a distributed run are printed by run_distributed).
bool speaks() { return rnnwave::dist::detect_launcher().rank <= 0; }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rnnwave: task-parallel recurrent neural networks (RNN, LSTM, GRU) on CPUs"};
  app.require_subcommand(1);
  rnnwave::tools::add_forward_command(app);
  rnnwave::tools::add_backward_command(app);
  rnnwave::tools::add_bench_command(app);
  rnnwave::tools::add_train_command(app);
  rnnwave::tools::add_eval_command(app);
  rnnwave::tools::add_predict_command(app);
  rnnwave::tools::add_calibrate_command(app);
  refuse_repeats(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    if (!app.get_subcommands().empty()) return app.exit(e);
    std::cout << app.help("", CLI::AppFormatMode::All);  // every command and its flags
    return 0;
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string message = app.get_subcommands().empty() ? missing_command(app, argc, argv) : e.what();
    if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr && !repeated_option(app).empty()) {
      message = repeated_option(app);
    }
    if (speaks()) std::fprintf(stderr, "rnnwave: error: %s (see rnnwave --help)\n", message.c_str());
    return 2;
  } catch (const rnnwave::Error& e) {
    if (speaks()) std::fprintf(stderr, "rnnwave: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    if (speaks()) std::fprintf(stderr, "rnnwave: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    if (speaks()) std::fprintf(stderr, "rnnwave: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
