#include "train/eval_shards.h"

#include <optional>
#include <span>
#include <vector>

#include "rnnwave/dist/shard_tree.h"

namespace rnnwave::train {
namespace {

void store(const EvalSums& sums, std::span<double> values) {
  values[0] = sums.loss;
  values[1] = sums.correct;
  values[2] = static_cast<double>(sums.items);
}

EvalSums load(std::span<const double> values, bool perplexity) {
  EvalSums sums;
  sums.loss = values[0];
  sums.correct = values[1];
  sums.items = static_cast<int64_t>(values[2]);  // a sum of counts below 2^53: exact
  sums.perplexity = perplexity;
  return sums;
}

}  // namespace

EvalResult evaluate_in_parts(TrainingTask& task, EvalSplit split, int64_t parts,
                             dist::ShardReducer<double>* reducer) {
  if (parts == 1) return task.evaluate(split);
  const dist::ShardPlan plan = reducer ? reducer->plan() : dist::ShardPlan(parts, 1, 0);
  std::vector<std::vector<double>> local(reducer ? 0 : static_cast<size_t>(parts));
  bool perplexity = false;
  for (int64_t i = 0; i < plan.local_shards(); ++i) {
    const std::optional<EvalSums> sums = task.evaluate_part(split, plan.first_shard() + i, parts);
    // The same task on every rank: all of them take this way out, or none.
    if (!sums) return task.evaluate(split);
    perplexity = sums->perplexity;
    if (reducer) {
      store(*sums, reducer->local(0, i));
    } else {
      local[i].resize(kEvalSums);
      store(*sums, local[i]);
    }
  }
  if (reducer) return eval_result(load(reducer->combine(0), perplexity));
  std::vector<std::span<double>> spans(local.begin(), local.end());
  dist::tree_sum<double>(spans, spans[0]);
  return eval_result(load(spans[0], perplexity));
}

}  // namespace rnnwave::train
