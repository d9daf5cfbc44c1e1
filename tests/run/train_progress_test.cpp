// The progress lines of a training run (rnnwave/run/train_progress.h), as a log shows them:
// the epoch summary and the periodic batch line, with the unit of a program's own task.
#include <gtest/gtest.h>

#include <string>

#include "rnnwave/run/train_progress.h"
#include "run/run_test_support.h"

namespace rnnwave::testing {
namespace {

TEST(TrainProgress, FormatsDurations) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(62.4), "1:02");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(-1), "?");
  EXPECT_EQ(format_duration(std::nan("")), "?");
}

TEST(TrainProgress, ALogGetsTheEpochSummaryAndBatchLines) {
  Trainer trainer(scalar_config(), scalar_task());
  TrainProgressView view(trainer, 5, ProgressStyle::log, /*log_every_s=*/0);
  ::testing::internal::CaptureStderr();
  const EpochMetrics metrics = trainer.train_epoch(view.callback());
  view.epoch(metrics);
  const std::string text = ::testing::internal::GetCapturedStderr();
  // The first batch starts the interval; batches 2 and 3 get a line; the last is the
  // epoch's summary.
  EXPECT_NE(text.find("epoch 1/5  batch 2/4  loss "), std::string::npos) << text;
  EXPECT_NE(text.find("batch 3/4"), std::string::npos) << text;
  EXPECT_EQ(text.find("batch 1/4"), std::string::npos) << text;
  EXPECT_EQ(text.find("batch 4/4"), std::string::npos) << text;
  EXPECT_NE(text.find("items/s  epoch ETA "), std::string::npos) << text;
  char summary[128];
  std::snprintf(summary, sizeof summary, "epoch 1/5: train loss %.4f  valid loss %.4f  valid accuracy %.2f%%",
                metrics.train_loss, metrics.valid_loss, 100 * metrics.valid_accuracy);
  EXPECT_NE(text.find(summary), std::string::npos) << text;
  EXPECT_EQ(text.find("perplexity"), std::string::npos) << text;  // the task has none
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;          // a log is never redrawn
}

}  // namespace
}  // namespace rnnwave::testing
