// The Free Spoken Digit Dataset: file names, the standard split, parallel feature
// extraction and training-set normalisation.
#include <omp.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "common/strings.h"
#include "data/feature_extractor.h"
#include "rnnwave/data_fsdd.h"

namespace rnnwave {
namespace {

/// Takes 0-4 of every speaker and digit are the test set (the data set's README).
constexpr int kFirstTrainingTake = 5;

bool is_decimal(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// The .wav files of `recordings`, sorted by name (byte-wise).
std::vector<std::string> wav_names(const std::filesystem::path& recordings) {
  std::error_code error;
  if (!std::filesystem::is_directory(recordings, error)) {
    fail("FSDD: ", quote_for_message(recordings.string(), 200), " is not a directory (expected the data set's ",
         "recordings/ folder of {digit}_{speaker}_{take}.wav files)");
  }
  std::vector<std::string> names;
  std::filesystem::directory_iterator it(recordings, error);
  if (error) fail("FSDD: cannot list ", quote_for_message(recordings.string(), 200), ": ", error.message());
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 4 && name.ends_with(".wav")) names.push_back(name);
  }
  if (names.empty()) fail("FSDD: no .wav file in ", quote_for_message(recordings.string(), 200));
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

FsddName parse_fsdd_name(std::string_view file_name) {
  const auto bad = [&](std::string_view why) -> FsddName {
    fail("FSDD: file name ", quote_for_message(file_name), " is not {digit}_{speaker}_{take}.wav: ", why);
  };
  if (!file_name.ends_with(".wav")) return bad("no .wav suffix");
  const std::string_view stem = file_name.substr(0, file_name.size() - 4);
  const size_t first = stem.find('_');
  const size_t last = stem.rfind('_');
  if (first == std::string_view::npos || first == last) return bad("expected two '_'");
  const std::string_view digit = stem.substr(0, first);
  const std::string_view speaker = stem.substr(first + 1, last - first - 1);
  const std::string_view take = stem.substr(last + 1);
  if (digit.size() != 1 || !is_decimal(digit)) return bad("the label is not one digit 0-9");
  if (speaker.empty()) return bad("the speaker is empty");
  if (speaker.find('_') != std::string_view::npos) return bad("expected two '_'");
  if (!is_decimal(take) || take.size() > 6) return bad("the take is not a number of 1 to 6 digits");
  return FsddName{digit[0] - '0', std::string(speaker), std::stoi(std::string(take))};
}

namespace {

/// "3 of 3000 recordings in 'dir' cannot be used: 'a.wav' is too short: ...; 'b.wav' ...":
/// every bad file counted, the first few named, on one line.
std::string bad_recordings_message(const std::vector<std::string>& problems, size_t count,
                                   const std::filesystem::path& recordings) {
  constexpr size_t kListed = 5;
  std::string list;
  for (size_t i = 0; i < std::min(problems.size(), kListed); ++i) {
    list += cat(i > 0 ? "; " : "", problems[i]);
  }
  if (problems.size() > kListed) list += cat("; and ", problems.size() - kListed, " more");
  return cat("FSDD: ", problems.size(), " of ", count, " recordings in ",
             quote_for_message(recordings.string(), 200), " cannot be used: ", list);
}

}  // namespace

FsddSplits load_fsdd(const std::string& dir, const FsddOptions& options) {
  options.features.validate();
  if (options.threads < 0) fail("FSDD: threads must be 0 (OpenMP's default) or more, got ", options.threads);
  const std::filesystem::path recordings = std::filesystem::path(dir) / "recordings";
  const std::vector<std::string> names = wav_names(recordings);

  // Names first, so a misnamed file is reported before any decoding. Every problem is
  // kept (not only the first), so that one run reports all the bad files.
  const auto count = static_cast<int64_t>(names.size());
  std::vector<Utterance> all(names.size());
  std::vector<std::optional<std::string>> errors(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    all[i].path = (recordings / names[i]).string();
    try {
      FsddName parsed = parse_fsdd_name(names[i]);
      all[i].label = parsed.label;
      all[i].speaker = std::move(parsed.speaker);
      all[i].take = parsed.take;
    } catch (const Error& error) {
      errors[i] = error.what();
    }
  }

  // Files are independent; each thread has its own extractor. Errors are collected per
  // file and reported after the loop (no exception leaves the parallel region).
  std::optional<std::string> setup_error;
  const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
#pragma omp parallel num_threads(threads)
  {
    std::optional<FeatureExtractor> extractor;
    try {
      extractor.emplace(options.features);
    } catch (const std::exception& error) {  // out of memory
#pragma omp critical(rnnwave_fsdd_setup)
      if (!setup_error) setup_error = error.what();
    }
#pragma omp for schedule(dynamic, 8)
    for (int64_t i = 0; i < count; ++i) {
      if (!extractor || errors[static_cast<size_t>(i)]) continue;
      Utterance& utterance = all[static_cast<size_t>(i)];
      try {
        const std::vector<float> samples = load_wav(utterance.path, options.features.sample_rate);
        check_recording_length(samples, options.features, utterance.path);
        utterance.features = extractor->compute(samples, quote_for_message(utterance.path, 200));
      } catch (const std::exception& error) {
        errors[static_cast<size_t>(i)] = error.what();
      }
    }
  }
  if (setup_error) throw Error(*setup_error);

  FsddSplits splits;
  std::vector<std::string> problems;
  for (size_t i = 0; i < all.size(); ++i) {
    if (errors[i]) {
      problems.push_back(*errors[i]);
      continue;
    }
    Utterance& utterance = all[i];
    (utterance.take < kFirstTrainingTake ? splits.test : splits.train).push_back(std::move(utterance));
  }
  if (!problems.empty()) {
    const std::string message = bad_recordings_message(problems, names.size(), recordings);
    if (!options.skip_bad) {
      fail(message, " (leave them out with skip_bad: --skip-bad-recordings on the command line)");
    }
    splits.skipped = message;
  }
  if (splits.train.empty() || splits.test.empty()) {
    fail("FSDD: ", quote_for_message(recordings.string(), 200), " gives ", splits.train.size(), " training and ",
         splits.test.size(), " test recordings; both splits need at least one (takes 0-4 are the test set)");
  }
  FeatureStatsAccumulator accumulator;
  for (const Utterance& utterance : splits.train) accumulator.add(utterance.features);
  splits.stats = accumulator.finish();
  if (options.normalize) {
    for (auto* split : {&splits.train, &splits.test}) {
      for (Utterance& utterance : *split) normalize_features(utterance.features, splits.stats);
    }
  }
  return splits;
}

}  // namespace rnnwave
