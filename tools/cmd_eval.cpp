// rnnwave eval: the score of a trained run on its test or validation split.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>
#include <nlohmann/json.hpp>

#include "rnnwave/dist/config_check.h"
#include "rnnwave/dist/launcher.h"
#include "rnnwave/dist/run.h"
#include "rnnwave/dist/world.h"
#include "tools/commands.h"
#include "tools/problem_files.h"
#include "tools/run_dir.h"

namespace rnnwave::tools {
namespace {

struct EvalFlags {
  std::string model, split = "test";
  ExecFlags exec;
  bool json = false;
};

nlohmann::json number(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

EvalSplit parse_split(const std::string& split) {
  if (split == "test") return EvalSplit::test;
  if (split == "validation") return EvalSplit::validation;
  throw Error("--split must be test or validation, got '" + split + "'");
}

/// Scores the run, divided over the ranks of `world` when it has some and their number
/// divides the run's shards (else each rank scores the whole split: the same score);
/// prints the score on rank 0.
void evaluate(const EvalFlags& flags, EvalSplit split, dist::World* world) {
  const ExecOptions exec = exec_options(flags.exec);
  Trainer trainer = load_run(flags.model, "--model", exec);
  note_if_untrained(trainer, flags.model, "scores");
  if (world != nullptr && trainer.config().shards % world->size() == 0) trainer.distribute_evaluation(*world);
  const EvalResult result = trainer.evaluate(split);
  if (world != nullptr && world->rank() != 0) return;
  const TrainTask task = trainer.config().task;
  if (flags.json) {
    const nlohmann::json line = {{"task", std::string(to_string(task))},
                                 {"split", flags.split},
                                 {"epochs", trainer.epochs_done()},
                                 {"loss", number(result.loss)},
                                 {"accuracy", number(result.accuracy)},
                                 {"perplexity", number(result.perplexity)},
                                 {"items", result.items}};
    std::printf("%s\n", line.dump().c_str());
    return;
  }
  const long long items = static_cast<long long>(result.items);
  if (task == TrainTask::wikitext2) {
    std::printf("%s %s: perplexity %.2f (loss %.4f, %lld tokens)\n", std::string(to_string(task)).c_str(),
                flags.split.c_str(), result.perplexity, result.loss, items);
  } else {
    std::printf("%s %s: accuracy %.2f%% (loss %.4f, %lld sequences)\n",
                std::string(to_string(task)).c_str(), flags.split.c_str(),
                100.0 * result.accuracy, result.loss, items);
  }
}

void run(const EvalFlags& flags) {
  const EvalSplit split = parse_split(flags.split);
  if (!dist::detect_launcher().launched) {
    evaluate(flags, split, nullptr);
    return;
  }
  // Under mpirun the ranks share the split's parts (the run's shards) and rank 0 prints
  // the score once.
  dist::WorldOptions options;
  options.program = "rnnwave";
  const int status = dist::run_distributed(options, [&](dist::World& world) {
    const std::vector<dist::ConfigItem> items = {
        {"build", build_id()},     {"--model", flags.model},
        {"--split", flags.split},  {"--precision", flags.exec.precision},
        {"--json", flags.json ? "1" : "0"}};
    dist::check_same_config(world, items);
    evaluate(flags, split, &world);
    return 0;
  });
  if (status != 0) std::exit(status);
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto flags = std::make_shared<EvalFlags>();
  CLI::App* command = app.add_subcommand(
      "eval", "Score a trained run (its last checkpoint) on the test or validation split");
  command->add_option("--model", flags->model, "Run directory written by rnnwave train")
      ->required();
  command->add_option("--split", flags->split, "test (default) or validation");
  command->add_option("--threads", flags->exec.threads, "Worker threads; 0 (default) = all cores");
  command->add_option("--schedule", flags->exec.schedule,
                      "wavefront (default), layerwise or sequential; the score does not depend on it");
  add_precision_flag(*command, flags->exec);
  command->add_flag("--json", flags->json,
                    "Print one JSON object: task, split, epochs, loss, accuracy, perplexity "
                    "(null where not defined), items");
  command->footer(
      "Prints the accuracy (digits, synthetic: within 0.04 of the target) or the perplexity "
      "(wikitext2) and the mean loss.");
  command->callback([flags] { run(*flags); });
}

}  // namespace rnnwave::tools
