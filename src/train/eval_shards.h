// A split's score computed in parts (TrainingTask::evaluate_part), over the ranks of a
// data-parallel run or in one process, with the same bits either way.
#pragma once

#include <cstdint>

#include "rnnwave/dist/shard_reducer.h"
#include "rnnwave/train/task.h"

namespace rnnwave::train {

/// The values of EvalSums a reducer carries: loss, correct, items.
inline constexpr int64_t kEvalSums = 3;

/// Scores `split` in `parts` parts whose sums are added by the shard tree
/// (dist/shard_tree.h): the parts of this rank when `reducer` is given (a bucket of
/// kEvalSums values, over `parts` shards), all of them in one process otherwise. With one
/// part, or for a task without evaluate_part, returns task.evaluate(split) (every rank
/// scores the whole split). The result has the same bits for every rank count dividing
/// `parts`, and for one process.
EvalResult evaluate_in_parts(TrainingTask& task, EvalSplit split, int64_t parts,
                             dist::ShardReducer<double>* reducer);

}  // namespace rnnwave::train
