// rnnwave predict: the digit spoken in WAV files, by a run trained on the digits task.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "tools/commands.h"
#include "tools/problem_files.h"
#include "tools/run_dir.h"

namespace rnnwave::tools {
namespace {

struct PredictFlags {
  std::string model;
  std::vector<std::string> wavs;
  ExecFlags exec;
  bool json = false;
};

void refuse_task(const std::string& dir, const std::string& task) {
  throw Error("--model " + dir + " is a " + task +
              " model; predict needs a model trained with --task digits");
}

void run(const PredictFlags& flags) {
  const ExecOptions exec = exec_options(flags.exec);
  // config.json names the task: a quick refusal before the checkpoint and its data load.
  const std::string hint = run_task_hint(flags.model);
  if (!hint.empty() && hint != to_string(TrainTask::digits)) refuse_task(flags.model, hint);
  const Trainer trainer = load_run(flags.model, "--model", exec);
  if (trainer.config().task != TrainTask::digits) {
    refuse_task(flags.model, std::string(to_string(trainer.config().task)));
  }
  for (const std::string& wav : flags.wavs) {
    const Trainer::Prediction prediction = trainer.predict_wav(wav);
    const double p = prediction.probabilities[static_cast<size_t>(prediction.label)];
    if (flags.json) {
      const nlohmann::json line = {{"file", wav},
                                   {"digit", prediction.label},
                                   {"probability", p},
                                   {"probabilities", prediction.probabilities}};
      std::printf("%s\n", line.dump().c_str());
    } else if (flags.wavs.size() == 1) {
      std::printf("%d (probability %.3f)\n", prediction.label, p);
    } else {
      std::printf("%s: %d (probability %.3f)\n", wav.c_str(), prediction.label, p);
    }
  }
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto flags = std::make_shared<PredictFlags>();
  CLI::App* command = app.add_subcommand(
      "predict", "Say which digit is spoken in WAV files (a run trained with --task digits)");
  command->add_option("--model", flags->model, "Run directory written by rnnwave train --task digits")
      ->required();
  command->add_option("wav", flags->wavs,
                      "Mono WAV files at the training data's sample rate (8 kHz for FSDD)")
      ->required();
  command->add_option("--threads", flags->exec.threads, "Worker threads; 0 (default) = all cores");
  command->add_option("--schedule", flags->exec.schedule,
                      "wavefront (default), layerwise or sequential");
  command->add_flag("--json", flags->json,
                    "One JSON object per file: file, digit, probability, probabilities (of 0-9)");
  command->footer(
      "Prints the digit and its probability: 'DIGIT (probability P)' for one file, "
      "'FILE: DIGIT (probability P)' per file for several.");
  command->callback([flags] { run(*flags); });
}

}  // namespace rnnwave::tools
