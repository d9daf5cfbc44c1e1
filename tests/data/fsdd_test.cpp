// FSDD: file names, the standard split of the real data set, normalisation, and refusals
// of bad recordings directories (made on the spot).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "data/data_test_support.h"
#include "io/expect_error.h"
#include "io/io_test_support.h"
#include "rnnwave/data_fsdd.h"

namespace rnnwave {
namespace {

using testing::TempDir;

TEST(DataFsdd, ParsesFileNames) {
  const FsddName name = parse_fsdd_name("7_jackson_32.wav");
  EXPECT_EQ(name.label, 7);
  EXPECT_EQ(name.speaker, "jackson");
  EXPECT_EQ(name.take, 32);
  EXPECT_EQ(parse_fsdd_name("0_a-b_0.wav").speaker, "a-b");
  for (const char* bad : {"7_jackson_32.mp3", "7_jackson.wav", "77_jackson_1.wav", "x_jackson_1.wav",
                          "7__1.wav", "7_jack_son_1.wav", "7_jackson_.wav", "7_jackson_-1.wav",
                          "7_jackson_1234567.wav", "_jackson_1.wav"}) {
    SCOPED_TRACE(bad);
    EXPECT_ERROR_CONTAINING(parse_fsdd_name(bad), "FSDD: file name '", bad, "' is not {digit}_{speaker}_{take}.wav");
  }
}

TEST(DataFsdd, StandardSplitOfTheRealDataSet) {
  const auto fsdd = testing::locate_data("fsdd", "recordings");
  if (!fsdd.found()) GTEST_SKIP() << fsdd.skip_message;
  const FsddSplits& splits = testing::shared_fsdd(fsdd.path);
  ASSERT_EQ(splits.train.size(), 2700u);
  ASSERT_EQ(splits.test.size(), 300u);
  std::map<int, int> train_digits, test_digits;
  std::map<std::string, int> train_speakers, test_speakers;
  for (const Utterance& u : splits.train) {
    ++train_digits[u.label];
    ++train_speakers[u.speaker];
    EXPECT_GE(u.take, 5);
  }
  for (const Utterance& u : splits.test) {
    ++test_digits[u.label];
    ++test_speakers[u.speaker];
    EXPECT_LT(u.take, 5);
  }
  for (int digit = 0; digit < 10; ++digit) {
    EXPECT_EQ(train_digits[digit], 270) << digit;
    EXPECT_EQ(test_digits[digit], 30) << digit;
  }
  EXPECT_EQ(train_speakers.size(), 6u);
  for (const auto& [speaker, count] : train_speakers) EXPECT_EQ(count, 450) << speaker;
  for (const auto& [speaker, count] : test_speakers) EXPECT_EQ(count, 50) << speaker;

  for (const auto* split : {&splits.train, &splits.test}) {
    for (size_t i = 1; i < split->size(); ++i) {
      EXPECT_LT(std::filesystem::path((*split)[i - 1].path).filename(),
                std::filesystem::path((*split)[i].path).filename());
    }
  }
  EXPECT_EQ(std::filesystem::path(splits.test.front().path).filename(), "0_george_0.wav");
  EXPECT_EQ(std::filesystem::path(splits.train.front().path).filename(), "0_george_10.wav");
  int64_t shortest = INT64_MAX, longest = 0;
  for (const auto* split : {&splits.train, &splits.test}) {
    for (const Utterance& u : *split) {
      ASSERT_EQ(u.features.rank(), 2);
      ASSERT_EQ(u.features.dim(1), 40);
      shortest = std::min(shortest, u.features.dim(0));
      longest = std::max(longest, u.features.dim(0));
    }
  }
  EXPECT_EQ(shortest, 12);   // 1,148 samples
  EXPECT_EQ(longest, 226);   // 18,262 samples
}

TEST(DataFsdd, TrainingFeaturesAreNormalisedWithTrainingStatistics) {
  const auto fsdd = testing::locate_data("fsdd", "recordings");
  if (!fsdd.found()) GTEST_SKIP() << fsdd.skip_message;
  const FsddSplits& splits = testing::shared_fsdd(fsdd.path);
  ASSERT_EQ(splits.stats.size(), 40);
  std::vector<double> sum(40), sum_squares(40);
  int64_t frames = 0;
  for (const Utterance& u : splits.train) {
    for (int64_t k = 0; k < u.features.size(); ++k) {
      sum[static_cast<size_t>(k % 40)] += u.features.data()[k];
      sum_squares[static_cast<size_t>(k % 40)] += double{u.features.data()[k]} * u.features.data()[k];
    }
    frames += u.features.dim(0);
  }
  for (size_t f = 0; f < 40; ++f) {
    EXPECT_NEAR(sum[f] / frames, 0.0, 1e-4) << f;
    EXPECT_NEAR(sum_squares[f] / frames, 1.0, 1e-4) << f;
    EXPECT_GT(splits.stats.stddev[f], 0.1f) << f;
  }
  // features_of_wav with the returned statistics reproduces a test utterance exactly.
  const Utterance& u = splits.test[17];
  const Tensor again = features_of_wav(u.path, FeatureOptions{}, splits.stats);
  EXPECT_EQ(again.shape(), u.features.shape());
  EXPECT_EQ(again.vector(), u.features.vector());
}

/// A recordings/ directory with a few synthetic clips: takes 0 and 5 of two digits.
std::unique_ptr<TempDir> small_fsdd(const std::vector<std::string>& extra_names = {}) {
  auto dir = std::make_unique<TempDir>();
  std::filesystem::create_directory(dir->file("recordings"));
  std::vector<std::string> names = {"3_ann_0.wav", "3_ann_5.wav", "3_ann_12.wav", "8_bob_0.wav", "8_bob_7.wav"};
  names.insert(names.end(), extra_names.begin(), extra_names.end());
  int k = 0;
  for (const std::string& name : names) {
    testing::write_wav(dir->file("recordings/" + name), 1, 8000,
                       testing::sine_samples(200.0 + 150 * k, 8000, 1200 + 300 * k, 0.4, 0.02));
    ++k;
  }
  return dir;
}

TEST(DataFsdd, SmallDirectoryIsSplitSortedAndTheSameForAnyThreadCount) {
  const auto dir = small_fsdd();
  std::filesystem::copy_file(dir->file("recordings/3_ann_0.wav"), dir->file("recordings/notes.txt"));
  FsddOptions one_thread;
  one_thread.threads = 1;
  const FsddSplits a = load_fsdd(dir->path(), one_thread);
  FsddOptions three_threads;
  three_threads.threads = 3;
  const FsddSplits b = load_fsdd(dir->path(), three_threads);
  ASSERT_EQ(a.train.size(), 3u);
  ASSERT_EQ(a.test.size(), 2u);
  EXPECT_EQ(a.train[0].take, 12);  // "3_ann_12.wav" < "3_ann_5.wav"
  EXPECT_EQ(a.train[1].take, 5);
  EXPECT_EQ(a.train[2].label, 8);
  EXPECT_EQ(a.test[1].speaker, "bob");
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(a.train[i].features.vector(), b.train[i].features.vector());
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(a.test[i].features.vector(), b.test[i].features.vector());
  EXPECT_EQ(a.stats.mean, b.stats.mean);

  FsddOptions raw;
  raw.normalize = false;
  raw.features.mfcc = true;
  const FsddSplits c = load_fsdd(dir->path(), raw);
  EXPECT_EQ(c.train[0].features.dim(1), 13);
  EXPECT_EQ(c.train[0].features.vector(), features_of_wav(c.train[0].path, raw.features).vector());
  EXPECT_EQ(c.stats.size(), 13);
}

TEST(DataFsdd, RefusesBadDirectoriesAndRecordings) {
  TempDir empty;
  EXPECT_ERROR_CONTAINING(load_fsdd(empty.path()), "recordings' is not a directory");
  std::filesystem::create_directory(empty.file("recordings"));
  EXPECT_ERROR_CONTAINING(load_fsdd(empty.path()), "FSDD: no .wav file in '");

  EXPECT_ERROR_CONTAINING(load_fsdd(small_fsdd({"three_ann_6.wav"})->path()),
                          "file name 'three_ann_6.wav' is not {digit}_{speaker}_{take}.wav");

  auto stereo = small_fsdd();
  testing::write_wav(stereo->file("recordings/5_cy_9.wav"), 2, 8000, std::vector<int16_t>(800));
  EXPECT_ERROR_CONTAINING(load_fsdd(stereo->path()), "5_cy_9.wav' has 2 channels; expected mono");

  auto cd = small_fsdd();
  testing::write_wav(cd->file("recordings/5_cy_9.wav"), 1, 44100, std::vector<int16_t>(800));
  EXPECT_ERROR_CONTAINING(load_fsdd(cd->path()), "5_cy_9.wav' is sampled at 44100 Hz; expected 8000 Hz");

  auto corrupt = small_fsdd();
  testing::write_bytes(corrupt->file("recordings/5_cy_9.wav"), testing::to_bytes("RIFF....WAVEjunk"));
  EXPECT_ERROR_CONTAINING(load_fsdd(corrupt->path()), "5_cy_9.wav' is corrupt or truncated");

  FsddOptions negative;
  negative.threads = -2;
  EXPECT_ERROR_CONTAINING(load_fsdd(empty.path(), negative), "threads must be 0 (OpenMP's default) or more, got -2");

  TempDir only_test;
  std::filesystem::create_directory(only_test.file("recordings"));
  testing::write_wav(only_test.file("recordings/1_a_0.wav"), 1, 8000, std::vector<int16_t>(800));
  EXPECT_ERROR_CONTAINING(load_fsdd(only_test.path()), "gives 0 training and 1 test recordings");
}

// Every unusable recording is counted in one error (not only the first), and skip_bad
// leaves them out instead.
TEST(DataFsdd, ReportsEveryBadRecordingAndSkipsThemOnRequest) {
  auto dir = small_fsdd({"three_ann_6.wav"});
  testing::write_wav(dir->file("recordings/5_cy_9.wav"), 1, 8000, std::vector<int16_t>(10, 1));
  testing::write_wav(dir->file("recordings/6_cy_8.wav"), 1, 8000, {});
  try {
    load_fsdd(dir->path());
    ADD_FAILURE() << "bad recordings were accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("FSDD: 3 of 8 recordings in '"), std::string::npos) << message;
    EXPECT_NE(message.find("5_cy_9.wav' is too short: 10 samples"), std::string::npos) << message;
    EXPECT_NE(message.find("6_cy_8.wav' is too short: 0 samples"), std::string::npos) << message;
    EXPECT_NE(message.find("'three_ann_6.wav' is not {digit}_{speaker}_{take}.wav"), std::string::npos) << message;
    EXPECT_NE(message.find("skip_bad"), std::string::npos) << message;
  }
  FsddOptions skip;
  skip.skip_bad = true;
  const FsddSplits splits = load_fsdd(dir->path(), skip);
  EXPECT_EQ(splits.train.size(), 3u);
  EXPECT_EQ(splits.test.size(), 2u);
  EXPECT_NE(splits.skipped.find("3 of 8 recordings"), std::string::npos) << splits.skipped;
  EXPECT_TRUE(load_fsdd(small_fsdd()->path()).skipped.empty());
}

}  // namespace
}  // namespace rnnwave
