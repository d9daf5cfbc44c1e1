// Helpers shared by the data tests: where the real data sets are, WAV files made on the
// spot, the data sets loaded once per test binary, and running the numpy reference.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rnnwave/data_fsdd.h"
#include "rnnwave/data_wikitext.h"
#include "support/run_command.h"

namespace rnnwave::testing {

/// Where a data set was looked for. The data directory is $RNNWAVE_DATA_DIR, else
/// $RNNWAVE_SOURCE_DIR/../shared/data (CTest sets RNNWAVE_SOURCE_DIR).
struct DataLocation {
  std::string path;          ///< the data set's directory, empty if not found
  std::string skip_message;  ///< why it was not found: where we looked
  bool found() const { return !path.empty(); }
};

/// `subdir` of the data directory (e.g. "fsdd"), found if `probe` exists inside it
/// (e.g. "recordings").
DataLocation locate_data(const std::string& subdir, const std::string& probe);

/// FSDD and WikiText-2 loaded with the default options, once per process.
const FsddSplits& shared_fsdd(const std::string& dir);
const TextCorpus& shared_wikitext2(const std::string& dir);

/// The bytes of a 16-bit PCM WAV file (RIFF, 44-byte header); samples interleaved.
std::vector<std::byte> wav_bytes(int channels, int sample_rate, std::span<const int16_t> samples);
void write_wav(const std::string& path, int channels, int sample_rate, std::span<const int16_t> samples);

/// amplitude * sin(2 pi hz t) (+ uniform noise of `noise` amplitude from a fixed seed) as
/// 16-bit samples.
std::vector<int16_t> sine_samples(double hz, int sample_rate, int count, double amplitude,
                                  double noise = 0.0);

/// Runs `/usr/bin/python3 tests/data/SCRIPT ARGS...` (found next to this file).
CommandResult run_python_script(const std::string& script, const std::vector<std::string>& args);

}  // namespace rnnwave::testing
