#include "data/mel_filterbank.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "common/strings.h"

namespace rnnwave {

double hz_to_mel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }

double mel_to_hz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

MelFilterbank make_mel_filterbank(const FeatureOptions& options) {
  const int bands = options.mel_bands;
  const int bins = options.fft_size / 2 + 1;
  const double low = hz_to_mel(options.low_hz);
  const double high = hz_to_mel(options.high_hz);
  std::vector<double> corners(static_cast<size_t>(bands) + 2);
  for (size_t i = 0; i < corners.size(); ++i) {
    corners[i] = mel_to_hz(low + (high - low) * static_cast<double>(i) / (bands + 1));
  }
  MelFilterbank bank;
  bank.bands.resize(static_cast<size_t>(bands));
  for (int m = 0; m < bands; ++m) {
    const double left = corners[static_cast<size_t>(m)];
    const double center = corners[static_cast<size_t>(m) + 1];
    const double right = corners[static_cast<size_t>(m) + 2];
    MelFilterbank::Band& band = bank.bands[static_cast<size_t>(m)];
    for (int k = 0; k < bins; ++k) {
      const double hz = static_cast<double>(k) * options.sample_rate / options.fft_size;
      const double weight = std::max(0.0, std::min((hz - left) / (center - left),
                                                   (right - hz) / (right - center)));
      if (weight <= 0.0) continue;
      if (band.weights.empty()) band.first_bin = k;
      // Bins inside one triangle are contiguous; fill any gap (none occurs) with zeros.
      band.weights.resize(static_cast<size_t>(k - band.first_bin), 0.0);
      band.weights.push_back(weight);
    }
    if (band.weights.empty()) {
      fail("mel band ", m, " of ", bands, " (", left, " to ", right, " Hz) contains no FFT bin",
           " (bins every ", static_cast<double>(options.sample_rate) / options.fft_size,
           " Hz): use fewer mel bands, a larger fft_size or a wider frequency range");
    }
  }
  return bank;
}

std::vector<float> hamming_window(int length) {
  std::vector<float> window(static_cast<size_t>(length), 1.0f);
  if (length == 1) return window;
  for (int k = 0; k < length; ++k) {
    window[static_cast<size_t>(k)] = static_cast<float>(
        0.54 - 0.46 * std::cos(2.0 * std::numbers::pi * k / (length - 1)));
  }
  return window;
}

std::vector<double> dct_matrix(int count, int size) {
  std::vector<double> matrix(static_cast<size_t>(count) * static_cast<size_t>(size));
  for (int j = 0; j < count; ++j) {
    const double scale = std::sqrt((j == 0 ? 1.0 : 2.0) / size);
    for (int m = 0; m < size; ++m) {
      matrix[static_cast<size_t>(j) * static_cast<size_t>(size) + static_cast<size_t>(m)] =
          scale * std::cos(std::numbers::pi * j * (m + 0.5) / size);
    }
  }
  return matrix;
}

}  // namespace rnnwave
