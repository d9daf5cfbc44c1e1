#include "data/feature_extractor.h"

#include <algorithm>
#include <cmath>

#include "common/memory_limits.h"
#include "common/strings.h"

namespace rnnwave {
namespace {

/// The floor added to every band energy before the logarithm.
constexpr double kEnergyFloor = 1e-6;

const FeatureOptions& validated(const FeatureOptions& options) {
  options.validate();
  return options;
}

}  // namespace

FeatureExtractor::FeatureExtractor(const FeatureOptions& options)
    : options_(validated(options)),
      window_(hamming_window(options.frame_length)),
      filterbank_(make_mel_filterbank(options)),
      dct_(options.mfcc ? dct_matrix(options.mfcc_count, options.mel_bands) : std::vector<double>{}),
      fft_(options.fft_size),
      power_(static_cast<size_t>(options.fft_size / 2 + 1)),
      log_mel_(static_cast<size_t>(options.mel_bands)) {}

Tensor FeatureExtractor::compute(std::span<const float> samples, std::string_view what) {
  for (size_t s = 0; s < samples.size(); ++s) {
    if (!std::isfinite(samples[s])) fail(what, ": sample ", s, " is ", samples[s]);
  }
  const auto frame_length = static_cast<size_t>(options_.frame_length);
  const auto hop = static_cast<size_t>(options_.hop_length);
  const size_t padded = std::max(samples.size(), frame_length);
  const size_t frames = 1 + (padded - frame_length) / hop;
  const int features = options_.feature_size();
  check_fits_in_memory(4.0 * static_cast<double>(frames) * features, cat(what, ": features"));

  // Pre-emphasis, then zero padding up to one frame.
  emphasised_.assign(padded, 0.0f);
  const auto alpha = static_cast<float>(options_.preemphasis);
  for (size_t s = 0; s < samples.size(); ++s) {
    emphasised_[s] = s == 0 ? samples[0] : samples[s] - alpha * samples[s - 1];
  }

  Tensor out({static_cast<int64_t>(frames), features});
  std::span<float> input = fft_.input();
  for (size_t t = 0; t < frames; ++t) {
    const float* frame = emphasised_.data() + t * hop;
    for (size_t k = 0; k < frame_length; ++k) input[k] = frame[k] * window_[k];
    std::fill(input.begin() + static_cast<std::ptrdiff_t>(frame_length), input.end(), 0.0f);
    fft_.power_spectrum(power_);
    for (size_t m = 0; m < filterbank_.bands.size(); ++m) {
      const MelFilterbank::Band& band = filterbank_.bands[m];
      double energy = 0.0;
      for (size_t j = 0; j < band.weights.size(); ++j) {
        energy += band.weights[j] * power_[static_cast<size_t>(band.first_bin) + j];
      }
      log_mel_[m] = std::log(energy + kEnergyFloor);
    }
    float* row = out.data() + t * static_cast<size_t>(features);
    if (!options_.mfcc) {
      for (int m = 0; m < features; ++m) row[m] = static_cast<float>(log_mel_[static_cast<size_t>(m)]);
      continue;
    }
    const auto bands = static_cast<size_t>(options_.mel_bands);
    for (int j = 0; j < features; ++j) {
      const double* basis = dct_.data() + static_cast<size_t>(j) * bands;
      double sum = 0.0;
      for (size_t m = 0; m < bands; ++m) sum += basis[m] * log_mel_[m];
      row[j] = static_cast<float>(sum);
    }
  }
  return out;
}

}  // namespace rnnwave
