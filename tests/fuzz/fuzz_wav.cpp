// libFuzzer harness: the WAV reader (decode_wav: the RIFF layout checks, then libsndfile
// from memory) and the recording-length check. rnnwave::Error is the only acceptable
// outcome besides success; any other exception, crash, sanitizer report, leak, hang or
// out-of-memory (a sample count trusted) is a finding.
#include <cmath>
#include <cstdint>

#include "rnnwave/data_audio.h"
#include "rnnwave/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  try {
    const std::vector<float> samples = rnnwave::decode_wav(bytes, "fuzz.wav", 8000);
    rnnwave::check_recording_length(samples, rnnwave::FeatureOptions{}, "fuzz.wav");
  } catch (const rnnwave::Error&) {
  }
  return 0;
}
