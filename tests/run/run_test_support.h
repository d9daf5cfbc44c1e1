// A program's own task small enough to train in microseconds, for the run-directory tests:
// one parameter w, the loss (w - 3)^2 on every batch, 4 batches an epoch. Its validation
// accuracy is a function of w, its perplexity NaN (it has none).
#pragma once

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "rnnwave/train/task.h"
#include "rnnwave/train/trainer.h"

namespace rnnwave::testing {

class ScalarTask final : public TrainingTask {
 public:
  std::vector<Parameter<float>> parameters() override { return {{"w", {1}, w_, grad_}}; }

  int64_t begin_epoch(int64_t /*epoch*/) override { return 4; }

  BatchLoss train_batch(int64_t /*batch*/) override {
    grad_[0] = 2 * (w_[0] - 3);
    return {loss(), 1};
  }

  EvalResult evaluate(EvalSplit /*split*/) override {
    return {loss(), 1 / (1 + loss()), std::numeric_limits<double>::quiet_NaN(), 1};
  }

 private:
  double loss() const { return (w_[0] - 3.0) * (w_[0] - 3.0); }

  std::vector<float> w_ = {0}, grad_ = {0};
};

inline TaskFactory scalar_task() {
  return {"scalar", [](const TrainConfig&, const TaskState*) { return std::make_unique<ScalarTask>(); }};
}

/// SGD at 0.1, 5 epochs: the loss falls every epoch.
inline TrainConfig scalar_config() {
  TrainConfig config;
  config.optimizer.kind = OptimizerKind::sgd;
  config.optimizer.learning_rate = 0.1;
  config.epochs = 5;
  config.exec.threads = 1;
  return config;
}

}  // namespace rnnwave::testing
