// FeatureOptions::validate: every field in range, every mel filter non-empty.
#include <cmath>

#include "common/strings.h"
#include "data/mel_filterbank.h"
#include "rnnwave/data_audio.h"

namespace rnnwave {

void FeatureOptions::validate() const {
  if (sample_rate < 1) fail("feature options: sample_rate must be positive, got ", sample_rate);
  if (frame_length < 1) fail("feature options: frame_length must be positive, got ", frame_length);
  if (hop_length < 1) fail("feature options: hop_length must be positive, got ", hop_length);
  if (fft_size < frame_length || fft_size > (1 << 20)) {
    fail("feature options: fft_size must be in [frame_length = ", frame_length,
         ", 1048576], got ", fft_size);
  }
  if (mel_bands < 1 || mel_bands > fft_size / 2 + 1) {
    fail("feature options: mel_bands must be in [1, fft_size/2 + 1 = ", fft_size / 2 + 1,
         "], got ", mel_bands);
  }
  const double nyquist = sample_rate / 2.0;
  if (!(low_hz >= 0.0 && low_hz < high_hz && high_hz <= nyquist)) {
    fail("feature options: need 0 <= low_hz < high_hz <= sample_rate / 2 = ", nyquist,
         ", got low_hz ", low_hz, ", high_hz ", high_hz);
  }
  if (!(preemphasis >= 0.0 && preemphasis < 1.0)) {
    fail("feature options: preemphasis must be in [0, 1), got ", preemphasis);
  }
  if (mfcc && (mfcc_count < 1 || mfcc_count > mel_bands)) {
    fail("feature options: mfcc_count must be in [1, mel_bands = ", mel_bands, "], got ",
         mfcc_count);
  }
  make_mel_filterbank(*this);  // throws for an empty filter
}

}  // namespace rnnwave
