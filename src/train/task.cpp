// The parts of the task interface (rnnwave/train/task.h) that are code: shard rows, zeroed
// gradients, and what a task that does not cut its batches into shards answers.
#include "rnnwave/train/task.h"

#include <algorithm>

#include "common/strings.h"

namespace rnnwave {

RowRange shard_rows(int64_t rows, int64_t shard, int64_t shards) {
  // rows <= 2^31 and shards <= rows: the products stay far from overflowing.
  return {shard * rows / shards, (shard + 1) * rows / shards};
}

void zero_gradients(std::span<const Parameter<float>> params) {
  for (const Parameter<float>& param : params) std::fill(param.grad.begin(), param.grad.end(), 0.0f);
}

ShardLoss TrainingTask::train_shard(int64_t batch, int64_t shard, int64_t shards) {
  fail("this task does not cut its batches into shards (TrainingTask::train_shard, asked for shard ", shard,
       " of ", shards, " of batch ", batch, "): train it with shards = 1");
}

}  // namespace rnnwave
