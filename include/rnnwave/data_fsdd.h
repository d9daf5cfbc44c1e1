// rnnwave/data_fsdd.h — the Free Spoken Digit Dataset (FSDD): spoken digits 0-9.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "rnnwave/data_audio.h"
#include "rnnwave/tensor.h"

namespace rnnwave {

/// One recording and its features.
struct Utterance {
  Tensor features;      ///< [T_i, F] float32, row-major; normalised if asked
  int label = 0;        ///< the spoken digit, 0-9
  std::string speaker;  ///< e.g. "jackson"
  int take = 0;         ///< the recording index of this speaker and digit, 0-49
  std::string path;     ///< the WAV file it came from
};

/// What a file name {digit}_{speaker}_{take}.wav says.
struct FsddName {
  int label = 0;
  std::string speaker;
  int take = 0;
};

/// Parses "7_jackson_32.wav": a digit 0-9, a non-empty speaker without '_', a take of 1 to
/// 6 decimal digits, the suffix ".wav". Throws Error quoting the name otherwise.
FsddName parse_fsdd_name(std::string_view file_name);

struct FsddOptions {
  FeatureOptions features;  ///< the defaults: 40 log-mel bands, 25 ms / 10 ms frames
  bool normalize = true;    ///< apply the training-set statistics to both splits
  int threads = 0;          ///< files decoded in parallel; 0 = OpenMP's default
  /// Leave out the recordings that cannot be used (misnamed, unreadable, corrupt, of
  /// another format, shorter than one analysis frame) instead of refusing the folder.
  bool skip_bad = false;
};

struct FsddSplits {
  std::vector<Utterance> train;  ///< takes 5-49 (2,700 of the 3,000 recordings)
  std::vector<Utterance> test;   ///< takes 0-4 (300 recordings)
  /// Per-feature mean and stddev over every frame of the training split (un-normalised
  /// features), whether or not `normalize` applied them.
  FeatureStats stats;
  /// With skip_bad: what was left out ("FSDD: 3 of 3000 recordings in ... cannot be used:
  /// ..."), empty if nothing was.
  std::string skipped;
};

/// Loads FSDD from `dir`, the data set's directory (the one holding `recordings/`).
/// Every *.wav of dir/recordings must be named {digit}_{speaker}_{take}.wav and be a mono
/// WAV at options.features.sample_rate; other files are ignored. The standard split: takes
/// 0-4 of every speaker and digit form the test set, the rest the training set. Each split
/// is in byte-wise order of file name ("0_george_10.wav" before "0_george_2.wav"), so the
/// result does not depend on the directory listing or the thread count (features are
/// bit-identical for any `threads`). Every recording is checked: unreadable, corrupt,
/// misnamed, wrong-format and too short (check_recording_length) ones are all counted in
/// one Error, which names the first few, unless options.skip_bad leaves them out. Throws
/// Error naming the directory if it is missing, holds no WAV, or one split is empty.
FsddSplits load_fsdd(const std::string& dir, const FsddOptions& options = {});

}  // namespace rnnwave
