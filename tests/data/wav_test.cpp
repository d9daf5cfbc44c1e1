// load_wav: exact samples of a good file, a clear refusal of every bad one.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>

#include "data/data_test_support.h"
#include "io/expect_error.h"
#include "io/io_test_support.h"
#include "rnnwave/data_audio.h"

namespace rnnwave {
namespace {

using testing::append;
using testing::append_le;
using testing::TempDir;
using testing::wav_bytes;
using testing::write_bytes;
using testing::write_wav;

TEST(DataWav, ReadsMonoPcm16AsValueOver32768) {
  TempDir dir;
  const std::vector<int16_t> pcm = {0, 1, -1, 16384, -32768, 32767};
  write_wav(dir.file("a.wav"), 1, 8000, pcm);
  const std::vector<float> samples = load_wav(dir.file("a.wav"), 8000);
  ASSERT_EQ(samples.size(), pcm.size());
  for (size_t i = 0; i < pcm.size(); ++i) EXPECT_EQ(samples[i], pcm[i] / 32768.0f) << i;
}

TEST(DataWav, ReadsAnEmptyRecording) {
  TempDir dir;
  write_wav(dir.file("empty.wav"), 1, 8000, {});
  EXPECT_TRUE(load_wav(dir.file("empty.wav"), 8000).empty());
}

TEST(DataWav, RefusesStereoAndOtherRates) {
  TempDir dir;
  const std::vector<int16_t> pcm(800, 100);
  write_wav(dir.file("stereo.wav"), 2, 8000, pcm);
  write_wav(dir.file("cd.wav"), 1, 44100, pcm);
  EXPECT_ERROR_CONTAINING(load_wav(dir.file("stereo.wav"), 8000), "stereo.wav' has 2 channels; expected mono");
  EXPECT_ERROR_CONTAINING(load_wav(dir.file("cd.wav"), 8000), "cd.wav' is sampled at 44100 Hz; expected 8000 Hz");
}

TEST(DataWav, RefusesTruncatedFiles) {
  TempDir dir;
  std::vector<std::byte> bytes = wav_bytes(1, 8000, std::vector<int16_t>(1000, 7));
  bytes.resize(44 + 600);  // the data chunk still declares 2000 bytes
  write_bytes(dir.file("cut.wav"), bytes);
  EXPECT_ERROR_CONTAINING(load_wav(dir.file("cut.wav"), 8000), "cut.wav' is truncated",
                          "declares 2000 bytes but the file holds 600");
  bytes.resize(30);  // inside the header
  write_bytes(dir.file("header.wav"), bytes);
  EXPECT_ERROR_CONTAINING(load_wav(dir.file("header.wav"), 8000), "header.wav' is corrupt or truncated");
}

TEST(DataWav, RefusesCorruptMissingAndEmptyFiles) {
  TempDir dir;
  write_bytes(dir.file("text.wav"), testing::to_bytes("this is not a sound file at all, just text\n"));
  std::vector<std::byte> bad_format = wav_bytes(1, 8000, std::vector<int16_t>(100, 1));
  bad_format[20] = std::byte{0x39};  // format tag 0x3039: no such codec
  bad_format[21] = std::byte{0x30};
  write_bytes(dir.file("codec.wav"), bad_format);
  write_bytes(dir.file("zero.wav"), {});
  EXPECT_ERROR_CONTAINING(load_wav(dir.file("text.wav"), 8000), "cannot decode '", "text.wav' as a WAV file");
  EXPECT_ERROR_CONTAINING(load_wav(dir.file("codec.wav"), 8000), "cannot decode '", "codec.wav' as a WAV file");
  EXPECT_ERROR_CONTAINING(load_wav(dir.file("zero.wav"), 8000), "zero.wav' as a WAV file (0 bytes)");
  EXPECT_ERROR_CONTAINING(load_wav(dir.file("missing.wav"), 8000), "cannot open '", "missing.wav'");
  EXPECT_ERROR_CONTAINING(load_wav(dir.path(), 8000), "not a regular file");
}

// libsndfile would say "SF_INFO struct incomplete".
TEST(DataWav, RefusesASampleRateOfZeroAndNoChannel) {
  TempDir dir;
  write_bytes(dir.file("rate0.wav"), wav_bytes(1, 0, std::vector<int16_t>(400, 3)));
  EXPECT_ERROR_CONTAINING(load_wav(dir.file("rate0.wav"), 8000), "rate0.wav' declares a sample rate of 0 Hz");
  std::vector<std::byte> no_channel = wav_bytes(1, 8000, std::vector<int16_t>(400, 3));
  no_channel[22] = std::byte{0};  // the format chunk's channel count
  write_bytes(dir.file("mute.wav"), no_channel);
  EXPECT_ERROR_CONTAINING(load_wav(dir.file("mute.wav"), 8000), "mute.wav' declares 0 channels");
}

// A recording shorter than one analysis frame (200 samples at 8 kHz) is refused with its
// length, instead of being padded into a "digit".
TEST(DataWav, FeaturesRefuseARecordingShorterThanOneFrame) {
  TempDir dir;
  for (const int samples : {0, 1, 10, 199}) {
    const std::string path = dir.file("short" + std::to_string(samples) + ".wav");
    write_wav(path, 1, 8000, std::vector<int16_t>(static_cast<size_t>(samples), 5));
    EXPECT_ERROR_CONTAINING(features_of_wav(path, FeatureOptions{}), path, "' is too short: ",
                            std::to_string(samples) + " samples (",
                            "less than one analysis frame (200 samples, 25 ms)");
  }
  write_wav(dir.file("frame.wav"), 1, 8000, std::vector<int16_t>(200, 5));
  EXPECT_EQ(features_of_wav(dir.file("frame.wav"), FeatureOptions{}).dim(0), 1);
  EXPECT_ERROR_CONTAINING(check_recording_length(std::vector<float>(10), FeatureOptions{}, "x\033.wav"),
                          "WAV file 'x\\x1b.wav' is too short: 10 samples (1.2 ms at 8000 Hz)");
}

// Found by fuzz_wav: a LIST chunk after the data whose size points far past the end made
// libsndfile walk it for minutes. libsndfile now sees the file only up to its data chunk,
// and a chunk before the data that overruns the file is refused, naming it.
TEST(DataWav, ChunkSizesPastTheEndNeitherHangNorPass) {
  TempDir dir;
  // fuzz_wav's input: fmt, 20 bytes of data, then "LIST" declaring 0xffffff10 bytes.
  const unsigned char found[] = {
      0x52, 0x49, 0x46, 0x46, 0x38, 0x00, 0x00, 0x00, 0x57, 0x41, 0x56, 0x45, 0x66, 0x6d, 0x74, 0x20,
      0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x40, 0x1f, 0x00, 0x00, 0x80, 0x3e, 0x00, 0x00,
      0x02, 0x00, 0x10, 0x00, 0x64, 0x61, 0x74, 0x61, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x76, 0x1a,
      0x74, 0x61, 0x14, 0x00, 0x00, 0x00, 0x00, 0x46, 0x38, 0x00, 0x00, 0x5b, 0x57, 0x41, 0x56, 0x45,
      0x4c, 0x49, 0x53, 0x54, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xe7, 0xff, 0xff, 0xff, 0xff, 0x1a, 0xcc, 0x35, 0x3e, 0x43, 0x74, 0x02,
  };
  std::vector<std::byte> tail(sizeof found);
  std::memcpy(tail.data(), found, sizeof found);
  write_bytes(dir.file("list.wav"), tail);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(load_wav(dir.file("list.wav"), 8000).size(), 10u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));

  std::vector<std::byte> before = wav_bytes(1, 8000, std::vector<int16_t>(10, 3));
  before.resize(36);  // the RIFF header and the format chunk
  append(before, "JUNK");
  append_le(before, 1000000, 4);
  before.insert(before.end(), 100, std::byte{0});
  write_bytes(dir.file("junk.wav"), before);
  EXPECT_ERROR_CONTAINING(load_wav(dir.file("junk.wav"), 8000),
                          "junk.wav' is corrupt or truncated: its 'JUNK' chunk at byte 36 declares 1000000 bytes but 100 follow");
}

// Found by fuzz_wav: a LIST chunk before the format chunk whose sub-chunk declares a
// negative size (0xfffffff8) made libsndfile's LIST parser loop. libsndfile now sees only
// the format and data chunks, so the file is judged on them (here a format of 0 bits).
TEST(DataWav, MetadataChunksNeverReachTheDecoder) {
  TempDir dir;
  const unsigned char found[] = {
      0x52, 0x49, 0x46, 0x46, 0x38, 0xff, 0xf6, 0x00, 0x57, 0x41, 0x56, 0x45, 0x4c, 0x49, 0x53, 0x54,
      0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x40, 0xf8, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x4c, 0x49, 0x53, 0x54, 0x00, 0x00, 0x00, 0x00, 0x66, 0x6d, 0x74, 0x20,
      0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x46, 0x46, 0x38, 0x00, 0x00, 0x80, 0x3e, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x64, 0x61, 0x74, 0x61, 0x00, 0x00, 0x00, 0x00,
  };
  std::vector<std::byte> bytes(sizeof found);
  std::memcpy(bytes.data(), found, sizeof found);
  write_bytes(dir.file("list.wav"), bytes);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_ERROR_CONTAINING(load_wav(dir.file("list.wav"), 8000), "list.wav' as a WAV file (76 bytes)");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));

  // The same samples with metadata chunks around them read as without.
  const std::vector<int16_t> pcm = {7, -7, 300, -300};
  std::vector<std::byte> plain = wav_bytes(1, 8000, pcm);
  std::vector<std::byte> wrapped(plain.begin(), plain.begin() + 12);
  append(wrapped, "LIST");
  append_le(wrapped, 5, 4);
  append(wrapped, "INFOx");
  wrapped.push_back(std::byte{0});  // the pad byte after an odd-sized chunk
  wrapped.insert(wrapped.end(), plain.begin() + 12, plain.end());
  append(wrapped, "cue ");
  append_le(wrapped, 0xfffffff0u, 4);
  write_bytes(dir.file("wrapped.wav"), wrapped);
  write_bytes(dir.file("plain.wav"), plain);
  const std::vector<float> expected = load_wav(dir.file("plain.wav"), 8000);
  ASSERT_EQ(expected.size(), pcm.size());
  EXPECT_EQ(load_wav(dir.file("wrapped.wav"), 8000), expected);
}

}  // namespace
}  // namespace rnnwave
