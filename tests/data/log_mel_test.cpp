// The log-mel / MFCC pipeline: frame counts, a sine lands in its band, agreement with an
// independent numpy implementation (synthetic clips always, FSDD recordings when present).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "data/data_test_support.h"
#include "data/mel_filterbank.h"
#include "io/expect_error.h"
#include "io/io_test_support.h"
#include "rnnwave/data_audio.h"
#include "rnnwave/npy.h"

namespace rnnwave {
namespace {

using testing::TempDir;

TEST(DataLogMel, FrameCountPadsShortClipsAndDropsTheTail) {
  const FeatureOptions options;
  for (const auto& [samples, frames] : std::vector<std::pair<int, int64_t>>{
           {0, 1}, {1, 1}, {199, 1}, {200, 1}, {279, 1}, {280, 2}, {8000, 98}, {1148, 12}}) {
    SCOPED_TRACE(samples);
    const std::vector<float> x(static_cast<size_t>(samples), 0.25f);
    const Tensor features = features_of_samples(x, options);
    EXPECT_EQ(features.shape(), (std::vector<int64_t>{frames, 40}));
  }
  FeatureOptions mfcc;
  mfcc.mfcc = true;
  EXPECT_EQ(features_of_samples(std::vector<float>(1000), mfcc).shape(), (std::vector<int64_t>{11, 13}));
}

TEST(DataLogMel, SilenceIsTheEnergyFloor) {
  const Tensor features = features_of_samples(std::vector<float>(400), FeatureOptions{});
  for (float value : features.vector()) EXPECT_FLOAT_EQ(value, std::log(1e-6f));
}

TEST(DataLogMel, ASineHasItsLargestEnergyInTheBandAroundItsFrequency) {
  TempDir dir;
  const FeatureOptions options;
  for (double hz : {150.0, 440.0, 1000.0, 2500.0, 3700.0}) {
    SCOPED_TRACE(hz);
    const std::string path = dir.file("sine.wav");
    testing::write_wav(path, 1, 8000, testing::sine_samples(hz, 8000, 4000, 0.5));
    const Tensor features = features_of_wav(path, options);
    std::vector<double> mean(40, 0.0);  // of each band over the frames
    for (int64_t t = 0; t < features.dim(0); ++t) {
      for (int m = 0; m < 40; ++m) mean[static_cast<size_t>(m)] += features.data()[t * 40 + m] / features.dim(0);
    }
    const auto loudest = static_cast<int>(std::max_element(mean.begin(), mean.end()) - mean.begin());
    // Corners of band m: m, m+1, m+2 of 42 points evenly spaced in HTK mel.
    const double low = 2595 * std::log10(1 + 20.0 / 700);
    const double high = 2595 * std::log10(1 + 4000.0 / 700);
    const auto corner = [&](int i) { return 700 * (std::pow(10.0, (low + (high - low) * i / 41) / 2595) - 1); };
    EXPECT_LT(corner(loudest), hz);
    EXPECT_GT(corner(loudest + 2), hz);
    std::vector<double> sorted = mean;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_GT(mean[static_cast<size_t>(loudest)] - sorted[20], 4.0)
        << "the loudest band should stand far above the median band";
  }
}

/// Writes the clips, computes their features here and with tests/data/log_mel_reference.py,
/// and compares log-mel and 13 MFCCs.
void expect_agreement_with_numpy(const std::vector<std::string>& wavs, double tolerance) {
  TempDir out;
  const auto result = testing::run_python_script("log_mel_reference.py",
                                                 [&] {
                                                   std::vector<std::string> args = {out.path(), "13"};
                                                   args.insert(args.end(), wavs.begin(), wavs.end());
                                                   return args;
                                                 }());
  ASSERT_EQ(result.exit_code, 0) << "python output:\n" << result.output;
  FeatureOptions mfcc_options;
  mfcc_options.mfcc = true;
  for (size_t i = 0; i < wavs.size(); ++i) {
    SCOPED_TRACE(wavs[i]);
    for (const bool mfcc : {false, true}) {
      const Tensor ours = features_of_wav(wavs[i], mfcc ? mfcc_options : FeatureOptions{});
      const auto theirs = load_npy<double>(out.file(std::to_string(i) + (mfcc ? "_mfcc.npy" : ".npy")));
      ASSERT_EQ(ours.shape(), theirs.shape());
      double worst = 0.0;
      for (int64_t k = 0; k < ours.size(); ++k) {
        worst = std::max(worst, std::abs(ours.data()[k] - theirs.data()[k]));
      }
      EXPECT_LE(worst, tolerance) << (mfcc ? "MFCC" : "log-mel") << " largest difference " << worst;
      ::testing::Test::RecordProperty(mfcc ? "mfcc_max_difference" : "log_mel_max_difference", std::to_string(worst));
    }
  }
}

TEST(DataLogMel, AgreesWithNumpyOnSyntheticClips) {
  TempDir dir;
  const std::vector<std::string> wavs = {dir.file("chirpish.wav"), dir.file("short.wav"), dir.file("quiet.wav")};
  std::vector<int16_t> mixed = testing::sine_samples(300, 8000, 6000, 0.3, 0.05);
  const std::vector<int16_t> high = testing::sine_samples(2900, 8000, 6000, 0.2);
  for (size_t i = 0; i < mixed.size(); ++i) mixed[i] = static_cast<int16_t>(mixed[i] + high[i]);
  testing::write_wav(wavs[0], 1, 8000, mixed);
  // One frame and a tail too short for a second (a clip shorter than one frame is refused).
  testing::write_wav(wavs[1], 1, 8000, testing::sine_samples(700, 8000, 260, 0.9));
  testing::write_wav(wavs[2], 1, 8000, testing::sine_samples(1200, 8000, 3000, 0.001, 0.0005));
  expect_agreement_with_numpy(wavs, 1e-4);
}

TEST(DataLogMel, AgreesWithNumpyOnSpokenDigits) {
  const auto fsdd = testing::locate_data("fsdd", "recordings");
  if (!fsdd.found()) GTEST_SKIP() << fsdd.skip_message;
  const std::string recordings = fsdd.path + "/recordings/";
  // The shortest recording, an ordinary one and the longest.
  expect_agreement_with_numpy({recordings + "6_yweweler_3.wav", recordings + "0_jackson_0.wav",
                               recordings + "9_theo_16.wav"},
                              1e-4);
  // The recording that differs most of all 3,000 (1.6e-4 in band 0 of frame 5): a band at
  // 2e-6 in a frame whose loudest band is at 66, near the rounding noise of a float FFT
  // (about 1e-7 of the frame's energy) relative to the 1e-6 floor.
  expect_agreement_with_numpy({recordings + "8_george_24.wav"}, 3e-4);
}

TEST(DataLogMel, RefusesBadOptionsAndSamples) {
  const std::vector<float> x(400, 0.1f);
  FeatureOptions options;
  options.fft_size = 128;
  EXPECT_ERROR_CONTAINING(features_of_samples(x, options), "fft_size must be in [frame_length = 200", "got 128");
  options = {};
  options.high_hz = 5000;
  EXPECT_ERROR_CONTAINING(features_of_samples(x, options), "high_hz <= sample_rate / 2 = 4000", "high_hz 5000");
  options = {};
  options.mel_bands = 120;
  EXPECT_ERROR_CONTAINING(features_of_samples(x, options), " of 120 (", "Hz) contains no FFT bin (bins every 31.25 Hz)");
  options = {};
  options.mfcc = true;
  options.mfcc_count = 41;
  EXPECT_ERROR_CONTAINING(features_of_samples(x, options), "mfcc_count must be in [1, mel_bands = 40], got 41");
  options = {};
  options.preemphasis = 1.0;
  EXPECT_ERROR_CONTAINING(features_of_samples(x, options), "preemphasis must be in [0, 1), got 1");
  options = {};
  options.hop_length = 0;
  EXPECT_ERROR_CONTAINING(features_of_samples(x, options), "hop_length must be positive, got 0");
  std::vector<float> bad = x;
  bad[123] = std::nanf("");
  EXPECT_ERROR_CONTAINING(features_of_samples(bad, FeatureOptions{}), "samples: sample 123 is nan");
}

TEST(DataLogMel, NormalisationUsesTheGivenStatistics) {
  TempDir dir;
  const std::string path = dir.file("a.wav");
  testing::write_wav(path, 1, 8000, testing::sine_samples(500, 8000, 2000, 0.5, 0.01));
  const Tensor raw = features_of_wav(path, FeatureOptions{});
  FeatureStats stats{std::vector<float>(40, 1.5f), std::vector<float>(40, 2.0f)};
  const Tensor normalised = features_of_wav(path, FeatureOptions{}, stats);
  ASSERT_EQ(normalised.shape(), raw.shape());
  for (int64_t k = 0; k < raw.size(); ++k) EXPECT_EQ(normalised.data()[k], (raw.data()[k] - 1.5f) / 2.0f);

  FeatureStats short_stats{std::vector<float>(13, 0.0f), std::vector<float>(13, 1.0f)};
  EXPECT_ERROR_CONTAINING(features_of_wav(path, FeatureOptions{}, short_stats),
                          "feature statistics have 13 features but the options give 40");
  stats.stddev[7] = 0.0f;
  EXPECT_ERROR_CONTAINING(features_of_wav(path, FeatureOptions{}, stats),
                          "stddev[7] must be positive and finite, got 0");
}

TEST(DataLogMel, StatisticsAreMeanAndPopulationStddevPerFeature) {
  FeatureStatsAccumulator accumulator;
  accumulator.add(Tensor({2, 3}, {1, 10, 5, 3, 10, 5}));
  accumulator.add(Tensor({1, 3}, {2, 10, 8}));
  const FeatureStats stats = accumulator.finish();
  EXPECT_FLOAT_EQ(stats.mean[0], 2.0f);
  EXPECT_FLOAT_EQ(stats.stddev[0], std::sqrt(2.0f / 3.0f));
  EXPECT_FLOAT_EQ(stats.mean[1], 10.0f);
  EXPECT_EQ(stats.stddev[1], 1.0f) << "a constant feature is only centred";
  EXPECT_FLOAT_EQ(stats.mean[2], 6.0f);
  EXPECT_ERROR_CONTAINING(accumulator.add(Tensor({1, 4})), "features [1, 4] after features with 3 columns");
  EXPECT_ERROR_CONTAINING(FeatureStatsAccumulator().finish(), "no frame was added");
}

}  // namespace
}  // namespace rnnwave
