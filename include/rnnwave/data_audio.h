// rnnwave/data_audio.h — WAV files and log-mel filterbank features for speech models.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rnnwave/tensor.h"

namespace rnnwave {

/// How a waveform becomes a sequence of feature vectors. The defaults are the features of
/// the spoken-digit task: 8 kHz audio, 25 ms frames every 10 ms, 40 log-mel bands.
///
/// For samples x[0..S) (floats in [-1, 1)), the pipeline is
///   1. pre-emphasis  y[0] = x[0],  y[s] = x[s] - preemphasis * x[s-1];
///   2. framing       if S < frame_length, y is zero-padded to frame_length (so every clip
///                    has at least one frame); T = 1 + (S' - frame_length) / hop_length
///                    frames (S' the padded length, integer division: a tail that does
///                    not fill a frame is dropped); frame t is y[t*hop .. t*hop+frame_length);
///   3. window        each frame times a symmetric Hamming window
///                    w[k] = 0.54 - 0.46 cos(2 pi k / (frame_length - 1)), zero-padded to
///                    fft_size;
///   4. spectrum      P[k] = |FFT(frame)[k]|^2 for k in [0, fft_size/2] (no scaling);
///   5. mel bands     E[m] = sum_k W[m][k] P[k], m in [0, mel_bands): triangular filters of
///                    peak 1 whose corners are mel_bands + 2 points evenly spaced on the HTK
///                    mel scale mel(f) = 2595 log10(1 + f / 700) from low_hz to high_hz;
///                    filter m rises from corner m to corner m+1 and falls to corner m+2,
///                    evaluated at the bin frequencies k * sample_rate / fft_size;
///   6. log           L[m] = ln(E[m] + 1e-6);
///   7. (mfcc only)   C[j] = s_j sum_m L[m] cos(pi j (m + 1/2) / mel_bands), j in
///                    [0, mfcc_count), the orthonormal DCT-II (s_0 = sqrt(1/mel_bands),
///                    s_j = sqrt(2/mel_bands)).
/// The FFT runs in float (FFTW); the power spectrum and the band sums in double.
struct FeatureOptions {
  int sample_rate = 8000;      ///< Hz; a WAV with another rate is refused, never resampled
  int frame_length = 200;      ///< samples per frame (25 ms at 8 kHz)
  int hop_length = 80;         ///< samples between frame starts (10 ms at 8 kHz)
  int fft_size = 256;          ///< >= frame_length
  int mel_bands = 40;
  double low_hz = 20.0;        ///< lowest filter corner
  double high_hz = 4000.0;     ///< highest filter corner, <= sample_rate / 2
  double preemphasis = 0.97;   ///< in [0, 1)
  bool mfcc = false;           ///< true: mfcc_count cepstral coefficients instead of the bands
  int mfcc_count = 13;         ///< in [1, mel_bands]

  /// F: mfcc_count with mfcc, else mel_bands.
  int feature_size() const { return mfcc ? mfcc_count : mel_bands; }
  /// Throws Error naming the first bad field and its value (including a filter so narrow
  /// that no FFT bin falls inside it).
  void validate() const;
};

/// The samples of a mono WAV file (RIFF/WAVE; other containers are refused before
/// libsndfile sees them), as floats in [-1, 1) (16-bit PCM: value / 32768), read with
/// libsndfile. Throws Error naming the path if the file is missing, unreadable,
/// corrupt or truncated (a data chunk longer than the file), declares no channel or a
/// rate of 0 Hz, is not mono, or not at `sample_rate` Hz (stating the channels / rate
/// found).
std::vector<float> load_wav(const std::string& path, int sample_rate);

/// load_wav on the bytes of a file already read; `name` names it in errors (quoted
/// escaped and shortened).
std::vector<float> decode_wav(std::span<const std::byte> bytes, std::string_view name, int sample_rate);

/// Throws Error naming the file and its length unless `samples` fill at least one analysis
/// frame (options.frame_length samples, 25 ms at 8 kHz): a shorter recording is mostly
/// the zero padding features_of_samples would add, and says nothing about a digit.
void check_recording_length(std::span<const float> samples, const FeatureOptions& options,
                            std::string_view name);

/// Features [T, F] (row-major, T >= 1) of mono samples at options.sample_rate.
/// Throws Error for invalid options or a non-finite sample (naming its index).
Tensor features_of_samples(std::span<const float> samples, const FeatureOptions& options);

/// Per-feature statistics for normalisation: features are mapped to (x - mean) / stddev.
/// A model stores them with its weights and applies them to every new input.
struct FeatureStats {
  std::vector<float> mean;    ///< [F]
  std::vector<float> stddev;  ///< [F], > 0

  int64_t size() const { return static_cast<int64_t>(mean.size()); }  ///< F
  /// Throws Error unless mean and stddev have the same size, are finite, stddev > 0.
  void validate() const;
};

/// Sums feature matrices frame by frame, in the order given, in double precision, so the
/// statistics are the same whatever the order the matrices were computed in.
class FeatureStatsAccumulator {
 public:
  /// features: [T, F]; F must be the same for every call (Error otherwise).
  void add(const Tensor& features);
  /// Mean and population standard deviation over all frames added; a feature whose
  /// standard deviation is below 1e-6 (constant) gets stddev 1. Throws Error if no frame
  /// was added.
  FeatureStats finish() const;

 private:
  int64_t frames_ = 0;
  std::vector<double> sum_;
  std::vector<double> sum_squares_;
};

/// features [T, F] <- (features - mean) / stddev, per column. Throws Error if F differs
/// from stats.size() or the statistics are invalid.
void normalize_features(Tensor& features, const FeatureStats& stats);

/// load_wav + check_recording_length + features_of_samples: the features [T, F] of one WAV
/// file, un-normalised.
Tensor features_of_wav(const std::string& path, const FeatureOptions& options);

/// The same, normalised with `stats` (those returned with the training set), which is what
/// a model trained on normalised features needs at prediction time.
Tensor features_of_wav(const std::string& path, const FeatureOptions& options,
                       const FeatureStats& stats);

}  // namespace rnnwave
