// The parts of the task interface (rnnwave/train/task.h) that are code: shard rows, zeroed
// gradients, a score from summed parts, and what a task that does not cut its batches or
// its evaluation into shards answers.
#include "rnnwave/train/task.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/strings.h"

namespace rnnwave {

RowRange shard_rows(int64_t rows, int64_t shard, int64_t shards) {
  // rows <= 2^31 and shards <= rows: the products stay far from overflowing.
  return {shard * rows / shards, (shard + 1) * rows / shards};
}

void check_eval_part(int64_t part, int64_t parts) {
  if (parts < 1 || part < 0 || part >= parts) {
    fail("evaluation part ", part, " of ", parts, ": parts must be at least 1 and the part in [0, parts)");
  }
}

StridedRange eval_batches(int64_t count, int64_t part, int64_t parts) {
  check_eval_part(part, parts);
  return {part, parts, count};
}

EvalResult eval_result(const EvalSums& sums) {
  const double items = static_cast<double>(sums.items);
  EvalResult result;
  result.items = sums.items;
  result.loss = sums.loss / items;
  result.accuracy = sums.correct / items;
  result.perplexity = sums.perplexity ? std::exp(result.loss) : std::numeric_limits<double>::quiet_NaN();
  return result;
}

void zero_gradients(std::span<const Parameter<float>> params) {
  for (const Parameter<float>& param : params) std::fill(param.grad.begin(), param.grad.end(), 0.0f);
}

ShardLoss TrainingTask::train_shard(int64_t batch, int64_t shard, int64_t shards) {
  fail("this task does not cut its batches into shards (TrainingTask::train_shard, asked for shard ", shard,
       " of ", shards, " of batch ", batch, "): train it with shards = 1");
}

std::optional<EvalSums> TrainingTask::evaluate_part(EvalSplit, int64_t, int64_t) { return std::nullopt; }

}  // namespace rnnwave
