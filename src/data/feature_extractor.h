// The log-mel / MFCC pipeline of FeatureOptions, set up once and reused across clips.
#pragma once

#include <span>
#include <vector>

#include "data/mel_filterbank.h"
#include "data/real_fft.h"
#include "rnnwave/data_audio.h"
#include "rnnwave/tensor.h"

namespace rnnwave {

/// Not thread-safe: one extractor per thread (they share FFT plans).
class FeatureExtractor {
 public:
  /// Validates the options (Error naming the bad field).
  explicit FeatureExtractor(const FeatureOptions& options);

  /// Features [T, F] of samples [S]; see FeatureOptions for the steps. `what` names the
  /// source in errors (a non-finite sample).
  Tensor compute(std::span<const float> samples, std::string_view what);

 private:
  FeatureOptions options_;
  std::vector<float> window_;     // [frame_length]
  MelFilterbank filterbank_;
  std::vector<double> dct_;       // [mfcc_count, mel_bands] or empty
  RealFft fft_;
  std::vector<float> emphasised_;  // [max(S, frame_length)]
  std::vector<double> power_;      // [fft_size/2 + 1]
  std::vector<double> log_mel_;    // [mel_bands]
};

}  // namespace rnnwave
