// rnnwave predict: the digit spoken in WAV files, by a run trained on the digits task.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "rnnwave/train/digits.h"
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

/// "2 of 5 files cannot be used: 'a.wav' is too short: ...; 'b.wav' ...": every bad file
/// counted, the first few named, on one line.
std::string bad_files_message(const std::vector<std::string>& problems, size_t files) {
  constexpr size_t kListed = 5;
  std::string list;
  for (size_t i = 0; i < std::min(problems.size(), kListed); ++i) list += (i > 0 ? "; " : "") + problems[i];
  if (problems.size() > kListed) list += "; and " + std::to_string(problems.size() - kListed) + " more";
  if (files == 1) return list;
  return std::to_string(problems.size()) + " of " + std::to_string(files) + " files cannot be used: " + list;
}

void run(const PredictFlags& flags) {
  const ExecOptions exec = exec_options(flags.exec);
  const Trainer trainer = load_run(flags.model, "--model", exec);
  if (trainer.config().task != TrainTask::digits) {
    throw Error("--model " + flags.model + " is a " + std::string(to_string(trainer.config().task)) +
                " model; predict needs a model trained with --task digits");
  }
  note_if_untrained(trainer, flags.model, "predicts with");
  // Every file first: a list with bad files prints no prediction, and the error names
  // every bad file, not only the first.
  std::vector<DigitPrediction> predictions;
  std::vector<std::string> problems;
  for (const std::string& wav : flags.wavs) {
    try {
      predictions.push_back(predict_digit(trainer, wav));
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
  }
  if (!problems.empty()) throw Error(bad_files_message(problems, flags.wavs.size()));
  for (size_t i = 0; i < flags.wavs.size(); ++i) {
    const std::string& wav = flags.wavs[i];
    const DigitPrediction& prediction = predictions[i];
    const double p = prediction.probabilities[static_cast<size_t>(prediction.label)];
    if (flags.json) {
      const nlohmann::json line = {{"file", wav},
                                   {"digit", prediction.label},
                                   {"probability", p},
                                   {"probabilities", prediction.probabilities}};
      std::printf("%s\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
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
