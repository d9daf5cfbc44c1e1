// The planner's calibration cache: read when whole and made by this build on this CPU;
// otherwise measured again (here an injected measurement: no calibration runs in tests)
// with a one-line note, and never an exception for the cache's sake.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "rnnwave/planner.h"

namespace rnnwave {
namespace {

namespace fs = std::filesystem;

Calibration fake(double scale) {
  Calibration c;
  for (int64_t k : {64, 512}) {
    for (int64_t rows : {1, 16, 256}) c.kernel.push_back({rows, k, 4 * k, scale * double(rows + k)});
  }
  c.pointwise_ns = 1.5 * scale;
  c.task_ns_inline = 100 * scale;
  c.runtime = {{2, 2000 * scale, 9000 * scale}, {8, 4000 * scale, 20000 * scale}};
  return c;
}

bool same(const Calibration& a, const Calibration& b) {
  if (a.kernel.size() != b.kernel.size() || a.runtime.size() != b.runtime.size()) return false;
  for (size_t i = 0; i < a.kernel.size(); ++i) {
    if (a.kernel[i].rows != b.kernel[i].rows || a.kernel[i].k != b.kernel[i].k || a.kernel[i].n != b.kernel[i].n ||
        a.kernel[i].gflops != b.kernel[i].gflops) {
      return false;
    }
  }
  for (size_t i = 0; i < a.runtime.size(); ++i) {
    if (a.runtime[i].threads != b.runtime[i].threads || a.runtime[i].task_ns != b.runtime[i].task_ns ||
        a.runtime[i].pass_ns != b.runtime[i].pass_ns) {
      return false;
    }
  }
  return a.pointwise_ns == b.pointwise_ns && a.task_ns_inline == b.task_ns_inline;
}

/// `text` with `what` inserted after the first `after`.
std::string insert_after(const std::string& text, const std::string& after, const std::string& what) {
  const size_t at = text.find(after) + after.size();
  return text.substr(0, at) + what + text.substr(at);
}

class CalibrationCache : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rnnwave_calibration_test_" + std::to_string(getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// cached_calibration with a measurement that counts its calls and returns fake(scale).
  Calibration get(const std::string& key, double scale, std::string& note, const fs::path& dir) {
    return cached_calibration(dir.string(), &note, [&] {
      ++measured_;
      return fake(scale);
    }, key);
  }
  Calibration get(const std::string& key, double scale, std::string& note) { return get(key, scale, note, dir_); }
  fs::path file() const { return dir_ / "calibration.txt"; }

  fs::path dir_;
  int measured_ = 0;
};

TEST_F(CalibrationCache, MeasuresOnceThenReadsTheFile) {
  std::string note = "stale";
  EXPECT_TRUE(same(get("key-a", 1, note), fake(1)));
  EXPECT_EQ(measured_, 1);
  EXPECT_EQ(note, "") << "a missing file is calibrated silently";
  ASSERT_TRUE(fs::exists(file()));
  EXPECT_TRUE(same(get("key-a", 2, note), fake(1))) << "the cached values, not a new measurement";
  EXPECT_EQ(measured_, 1);
  EXPECT_EQ(note, "");
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().filename(), "calibration.txt") << "no temporary file is left";
  }
}

TEST_F(CalibrationCache, AnotherBuildOrCpuRecalibrates) {
  std::string note;
  get("build=1;cpu=A", 1, note);
  EXPECT_TRUE(same(get("build=2;cpu=A", 3, note), fake(3)));
  EXPECT_EQ(measured_, 2);
  EXPECT_NE(note.find("another build or CPU"), std::string::npos) << note;
  EXPECT_TRUE(same(get("build=2;cpu=A", 5, note), fake(3))) << "the new calibration was cached";
  EXPECT_EQ(measured_, 2);
  // Another version of the file format (written by another build) is stale too.
  std::ofstream(file(), std::ios::trunc) << "rnnwave calibration 1\nkey build=2;cpu=A\nend\n";
  EXPECT_TRUE(same(get("build=2;cpu=A", 6, note), fake(6)));
  EXPECT_EQ(measured_, 3);
  EXPECT_NE(note.find("another build or CPU"), std::string::npos) << note;
}

TEST_F(CalibrationCache, ACorruptFileIsNotedAndReplaced) {
  std::string note;
  get("k", 1, note);
  std::stringstream whole;
  whole << std::ifstream(file()).rdbuf();
  const std::string text = whole.str();
  const std::vector<std::string> damaged = {
      "",                                          // empty
      text.substr(0, text.size() / 2),             // truncated
      text.substr(0, text.rfind("end")),           // no end marker
      "\x1b[2J garbage\n",                         // not ours
      insert_after(text, "pointwise_ns ", "x"),     // a value not a number
      insert_after(text, "kernel 1 64 256 ", "-"),  // a negative rate
  };
  int expected = 1;
  for (const std::string& bad : damaged) {
    std::ofstream(file(), std::ios::trunc) << bad;
    EXPECT_TRUE(same(get("k", 2, note), fake(2)));
    EXPECT_EQ(measured_, ++expected);
    EXPECT_NE(note.find("is corrupt"), std::string::npos) << note;
    EXPECT_EQ(note.find('\n'), std::string::npos) << "one line";
    EXPECT_EQ(note.find('\x1b'), std::string::npos) << "file bytes are escaped";
    EXPECT_TRUE(same(get("k", 7, note), fake(2))) << "the file was rewritten whole";
    EXPECT_EQ(measured_, expected);
  }
}

TEST_F(CalibrationCache, AnUnwritableFolderWorksUncachedWithANote) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "plain") << "a file, not a folder";
  std::string note;
  const fs::path inside_a_file = dir_ / "plain" / "rnnwave";
  EXPECT_TRUE(same(get("k", 1, note, inside_a_file), fake(1)));
  EXPECT_NE(note.find("cannot write the calibration cache"), std::string::npos) << note;
  EXPECT_TRUE(same(get("k", 2, note, inside_a_file), fake(2))) << "nothing was cached";
  EXPECT_EQ(measured_, 2);
  EXPECT_TRUE(same(get("k", 3, note, fs::path()), fake(3)));
  EXPECT_NE(note.find("no cache folder"), std::string::npos) << note;
}

TEST(CalibrationKey, NamesTheBuildAndTheCpuAndIsStable) {
  const std::string key = calibration_key();
  EXPECT_NE(key.find("build="), std::string::npos) << key;
  EXPECT_NE(key.find(";cpu="), std::string::npos) << key;
  EXPECT_EQ(key.find('\n'), std::string::npos);
  EXPECT_EQ(calibration_key(), key);
}

TEST(CalibrationDir, FollowsXdgThenHome) {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const std::string saved = xdg != nullptr ? xdg : "";
  setenv("XDG_CACHE_HOME", "/somewhere/cache", 1);
  EXPECT_EQ(default_calibration_dir(), "/somewhere/cache/rnnwave");
  unsetenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] != '\0') {
    EXPECT_EQ(default_calibration_dir(), (fs::path(home) / ".cache" / "rnnwave").string());
  }
  if (xdg != nullptr) setenv("XDG_CACHE_HOME", saved.c_str(), 1);
}

}  // namespace
}  // namespace rnnwave
