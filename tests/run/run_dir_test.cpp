// The run directory of a program's own task (rnnwave/run/run_dir.h): metrics.jsonl holds one
// line per epoch with the documented fields, a resume continues it without repeating an
// epoch, curves.png is a PNG, and a directory that cannot be written is one Error naming
// the path with nothing half-written.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "io/expect_error.h"
#include "io/io_test_support.h"
#include "rnnwave/error.h"
#include "rnnwave/run/run_dir.h"
#include "run/run_test_support.h"

namespace rnnwave::testing {
namespace {

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<nlohmann::json> read_metrics(const RunDirectory& run) {
  std::vector<nlohmann::json> metrics;
  for (const std::string& line : lines_of(run.file(kMetricsFile))) metrics.push_back(nlohmann::json::parse(line));
  return metrics;
}

void train_until(Trainer& trainer, int64_t epochs, const RunDirectory& run) {
  while (trainer.epochs_done() < epochs) {
    trainer.train_epoch();
    run.save_epoch(trainer);
  }
}

/// What a test compares between two runs: every field but the timings.
std::vector<nlohmann::json> without_timings(std::vector<nlohmann::json> metrics) {
  for (nlohmann::json& m : metrics) {
    m.erase("train_seconds");
    m.erase("items_per_second");
  }
  return metrics;
}

/// No ".NAME.tmp.XXXXXX" of an atomic write is left in the directory.
void expect_no_temporaries(const TempDir& dir, const std::string& sub) {
  for (const auto& entry : std::filesystem::directory_iterator(dir.file(sub))) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
  }
}

TEST(RunDirectory, MetricsHoldOneLinePerEpochWithTheDocumentedFields) {
  TempDir dir;
  const RunDirectory run(dir.file("runs/scalar"));  // parents created
  Trainer trainer(scalar_config(), scalar_task());
  train_until(trainer, 3, run);

  const std::vector<nlohmann::json> metrics = read_metrics(run);
  ASSERT_EQ(metrics.size(), 3u);
  const std::set<std::string> fields = {"task", "epoch", "train_loss", "valid_loss", "valid_accuracy",
                                        "valid_perplexity", "learning_rate", "train_seconds",
                                        "items_per_second"};
  for (size_t i = 0; i < metrics.size(); ++i) {
    std::set<std::string> keys;
    for (const auto& item : metrics[i].items()) keys.insert(item.key());
    EXPECT_EQ(keys, fields);
    const EpochMetrics& m = trainer.history()[i];
    EXPECT_EQ(metrics[i]["task"], "scalar");
    EXPECT_EQ(metrics[i]["epoch"], static_cast<int64_t>(i + 1));
    // Exactly the history's values: JSON numbers round-trip doubles.
    EXPECT_EQ(metrics[i]["train_loss"].get<double>(), m.train_loss);
    EXPECT_EQ(metrics[i]["valid_loss"].get<double>(), m.valid_loss);
    EXPECT_EQ(metrics[i]["valid_accuracy"].get<double>(), m.valid_accuracy);
    EXPECT_EQ(metrics[i]["learning_rate"].get<double>(), 0.1);
    EXPECT_TRUE(metrics[i]["valid_perplexity"].is_null());  // NaN: the task has none
  }
  EXPECT_LT(metrics[2]["train_loss"].get<double>(), metrics[0]["train_loss"].get<double>());
  for (const char* name : {kCheckpointFile, kModelFile, kCurvesFile}) {
    EXPECT_TRUE(std::filesystem::is_regular_file(run.file(name))) << name;
  }
}

TEST(RunDirectory, ResumeContinuesTheMetricsWithoutRepeatingAnEpoch) {
  TempDir dir;
  const RunDirectory whole_run(dir.file("whole")), resumed_run(dir.file("resumed"));
  Trainer whole(scalar_config(), scalar_task());
  train_until(whole, 4, whole_run);
  {
    Trainer first(scalar_config(), scalar_task());
    train_until(first, 2, resumed_run);
  }
  // A crash after epoch 2's checkpoint but before its metrics: the file has epoch 1 only.
  const std::vector<std::string> two = lines_of(resumed_run.file(kMetricsFile));
  ASSERT_EQ(two.size(), 2u);
  std::ofstream(resumed_run.file(kMetricsFile), std::ios::trunc) << two[0] << "\n";

  Trainer resumed = Trainer::from_checkpoint(resumed_run.file(kCheckpointFile), {}, scalar_task());
  resumed_run.write_outputs(resumed);  // agrees with the checkpoint again
  EXPECT_EQ(lines_of(resumed_run.file(kMetricsFile)), two);
  train_until(resumed, 4, resumed_run);

  const std::vector<nlohmann::json> metrics = read_metrics(resumed_run);
  ASSERT_EQ(metrics.size(), 4u);
  for (size_t i = 0; i < metrics.size(); ++i) EXPECT_EQ(metrics[i]["epoch"], static_cast<int64_t>(i + 1));
  EXPECT_EQ(without_timings(metrics), without_timings(read_metrics(whole_run)));
}

TEST(RunDirectory, CurvesAreAPng) {
  TempDir dir;
  const RunDirectory run(dir.file("run"));
  Trainer trainer(scalar_config(), scalar_task());
  run.write_outputs(trainer);  // no epoch yet: no curves
  EXPECT_FALSE(std::filesystem::exists(run.file(kCurvesFile)));
  train_until(trainer, 2, run);

  std::ifstream in(run.file(kCurvesFile), std::ios::binary);
  const std::vector<unsigned char> png((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(png.size(), 33u);
  const std::vector<unsigned char> magic = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  EXPECT_TRUE(std::equal(magic.begin(), magic.end(), png.begin()));
  EXPECT_EQ(std::string(png.begin() + 12, png.begin() + 16), "IHDR");
  auto be32 = [&](size_t at) { return png[at] << 24 | png[at + 1] << 16 | png[at + 2] << 8 | png[at + 3]; };
  EXPECT_EQ(be32(16), 960);  // width
  EXPECT_EQ(be32(20), 400);  // height
}

TEST(RunDirectory, ADirectoryThatCannotBeMadeIsOneErrorNamingIt) {
  TempDir dir;
  std::ofstream(dir.file("file")) << "not a directory";
  EXPECT_ERROR_CONTAINING(RunDirectory(dir.file("file/run")), "cannot create the run directory",
                          dir.file("file/run"));
  EXPECT_ERROR_CONTAINING(RunDirectory(dir.file("file")), "cannot create the run directory", dir.file("file"));
  EXPECT_ERROR_CONTAINING(RunDirectory(""), "run directory", "empty");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"file"});
}

/// Whether RunDirectory(path) throws an Error naming the path and "not writable". Root
/// writes into any directory, so as root the check runs in a child as user nobody.
bool refused_as_unwritable(const std::string& path) {
  auto refused = [&] {
    try {
      RunDirectory run(path);
      return false;
    } catch (const Error& e) {
      return std::string(e.what()).find(path) != std::string::npos &&
             std::string(e.what()).find("not writable") != std::string::npos;
    }
  };
  if (::geteuid() != 0) return refused();
  const pid_t child = ::fork();
  if (child == 0) _exit(::setuid(65534) == 0 && refused() ? 0 : 1);
  int status = 0;
  return child > 0 && ::waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(RunDirectory, AnUnwritableDirectoryIsOneErrorNamingIt) {
  TempDir dir;
  std::filesystem::create_directory(dir.file("locked"));
  ::chmod(dir.path().c_str(), 0755);  // mkdtemp's 0700 would keep user nobody out altogether
  ::chmod(dir.file("locked").c_str(), 0555);
  EXPECT_TRUE(refused_as_unwritable(dir.file("locked")));
  ::chmod(dir.file("locked").c_str(), 0755);
  EXPECT_TRUE(std::filesystem::is_empty(dir.file("locked")));
}

TEST(RunDirectory, AFileThatCannotBeWrittenLeavesNothingHalfWritten) {
  TempDir dir;
  const RunDirectory run(dir.file("run"));
  Trainer trainer(scalar_config(), scalar_task());
  train_until(trainer, 1, run);
  const std::vector<std::string> before = lines_of(run.file(kMetricsFile));

  // curves.png, written last, cannot be replaced: a directory stands in its place.
  std::filesystem::remove(run.file(kCurvesFile));
  std::filesystem::create_directory(run.file(kCurvesFile));
  trainer.train_epoch();
  EXPECT_ERROR_CONTAINING(run.save_epoch(trainer), run.file(kCurvesFile));
  // What came before it is whole and new; nothing is left half-written.
  EXPECT_EQ(read_metrics(run).size(), 2u);
  EXPECT_EQ(Trainer::from_checkpoint(run.file(kCheckpointFile), {}, scalar_task()).epochs_done(), 2);
  expect_no_temporaries(dir, "run");

  // metrics.jsonl cannot be replaced: the error names it, the checkpoint is the new one.
  std::filesystem::remove(run.file(kMetricsFile));
  std::filesystem::create_directory(run.file(kMetricsFile));
  trainer.train_epoch();
  EXPECT_ERROR_CONTAINING(run.save_epoch(trainer), run.file(kMetricsFile));
  EXPECT_EQ(Trainer::from_checkpoint(run.file(kCheckpointFile), {}, scalar_task()).epochs_done(), 3);
  expect_no_temporaries(dir, "run");
  EXPECT_EQ(before.size(), 1u);
}

}  // namespace
}  // namespace rnnwave::testing
