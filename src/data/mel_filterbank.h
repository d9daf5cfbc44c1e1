// The fixed pieces of the log-mel pipeline: window, mel filters, DCT (see FeatureOptions).
#pragma once

#include <vector>

#include "rnnwave/data_audio.h"

namespace rnnwave {

/// HTK's mel scale: 2595 log10(1 + hz / 700), and its inverse.
double hz_to_mel(double hz);
double mel_to_hz(double mel);

/// Triangular filters over the bins [0, fft_size/2] of a power spectrum; each band keeps
/// only its non-zero weights, starting at bin `first_bin`.
struct MelFilterbank {
  struct Band {
    int first_bin = 0;
    std::vector<double> weights;
  };
  std::vector<Band> bands;  ///< [mel_bands]
};

/// The filters of `options` (whose fields other than the filters' must be valid). Throws
/// Error naming the first band no FFT bin falls in, with its corner frequencies.
MelFilterbank make_mel_filterbank(const FeatureOptions& options);

/// The symmetric Hamming window of `length` samples (numpy.hamming), [length].
std::vector<float> hamming_window(int length);

/// The orthonormal DCT-II rows 0..count-1 over `size` inputs, [count, size] row-major.
std::vector<double> dct_matrix(int count, int size);

}  // namespace rnnwave
