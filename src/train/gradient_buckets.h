// The data-parallel combination of a batch's gradients, one bucket per gradient group of
// the task (a recurrent layer, the head, the embedding), each started as soon as the last
// shard this rank computes has finished that group — while the rest of its backward runs.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "rnnwave/dist/shard_reducer.h"
#include "rnnwave/trace.h"
#include "rnnwave/train/task.h"
#include "rnnwave/train/trainer.h"

namespace rnnwave::train {

/// The parameters of each gradient group, as indices into `params`: the task's groups
/// checked (every parameter in exactly one group, by name), or one group "every
/// parameter" when the task names none. Throws Error naming the task, the group and the
/// parameter.
struct ParamGroup {
  std::string name;
  std::vector<size_t> params;
};
std::vector<ParamGroup> checked_gradient_groups(const std::vector<GradientGroup>& groups,
                                                const std::vector<Parameter<float>>& params,
                                                const std::string& task_name);

/// One batch's gradients over the ranks: per local shard i, begin_shard(i, last), then
/// group_final(g) for the groups the task announces during its backward, then end_shard()
/// (which takes the groups not announced); after the last shard, finish() waits and
/// leaves the combined gradient in the grad buffers. The shard of `last` starts each
/// bucket as it takes it. The arithmetic is that of one bucket of every parameter (the
/// tree sum is per element), so the bits do not depend on the groups.
class GradientBuckets {
 public:
  /// Collective (constructs a ShardReducer). `params` must outlive this.
  GradientBuckets(dist::World& world, int64_t shards, const std::vector<Parameter<float>>& params,
                  std::vector<ParamGroup> groups);

  const dist::ShardPlan& plan() const { return reducer_.plan(); }
  int count() const { return reducer_.bucket_count(); }

  void begin_shard(int64_t local_shard, bool last);
  /// Group g's gradients are final in the grad buffers: copies them into the bucket (and
  /// starts it for the last shard). Thread-safe; Error for g out of range or announced
  /// twice in one shard.
  void group_final(int64_t group);
  void end_shard();
  /// Waits for every bucket, copies the results into the grad buffers and adds the
  /// batch's times to stats().
  void finish();

  /// With a trace, finish() adds per batch one event per bucket, "combine <group>" from its
  /// start to its completion on track kCombineTrack (the progress thread's), and
  /// "combine_wait" on thread 0 for the trainer's wait: beside the engine's tasks of the
  /// same trace (ExecOptions::trace), on the same steady clock.
  void set_trace(Trace* trace) { trace_ = trace; }
  static constexpr int kCombineTrack = 1000;

  /// Since the last reset_stats().
  const CommunicationStats& stats() const { return stats_; }
  void reset_stats() { stats_ = {}; }

 private:
  void take(size_t group);
  void add_trace(Trace& trace, const std::vector<std::pair<int64_t, int64_t>>& spans, int64_t wait_start,
                 int64_t wait_end) const;

  dist::ShardReducer<float> reducer_;
  const std::vector<Parameter<float>>& params_;
  std::vector<ParamGroup> groups_;
  std::mutex mutex_;
  int64_t shard_ = 0;
  bool last_ = false;
  std::vector<char> taken_;
  // Per bucket of the batch: when it was started and when it completed (steady clock, ns;
  // the completion is written on the progress thread).
  std::vector<int64_t> started_;
  std::unique_ptr<std::atomic<int64_t>[]> done_;
  CommunicationStats stats_;
  Trace* trace_ = nullptr;
};

}  // namespace rnnwave::train
