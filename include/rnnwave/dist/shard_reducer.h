// rnnwave/dist/shard_reducer.h — sums per-shard gradients over the ranks, bucket by bucket,
// with the same bits for every rank count K dividing S.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rnnwave/dist/shard_tree.h"
#include "rnnwave/dist/world.h"

namespace rnnwave::dist {

/// Combines the values of S shards by the shard tree (shard_tree.h), over the ranks of a
/// World, one bucket at a time.
///
/// A bucket is a vector of n values that becomes final at one moment: one layer's weight
/// gradients (final when its backward tasks end, the top layer first), or the loss and
/// metric sums of a batch (a ShardReducer<double> of its own). Rank r owns shards
/// [r S/K, (r+1) S/K) (ShardPlan) and writes each shard's values into local(b, i); start(b)
/// then
///   1. sums the maximal tree nodes inside its shards, locally, in place;
///   2. reduce-scatter: the n values are cut into K chunks (chunk_of); rank r sends chunk q
///      of each of its nodes to rank q and receives chunk r of every other rank's nodes;
///   3. completes the tree for chunk r from all the nodes (left + right, as the tree says);
///   4. all-gather: sends its finished chunk to every rank and receives theirs into
///      result(b).
/// The arithmetic of every element is the tree over the S shard values, whatever K and
/// wherever the chunk boundaries fall, so result(b) has the same bits for every K dividing S
/// and equals tree_sum over the S shards in one process. One rank (K = 1) never touches
/// MPI: start(b) computes the tree at once. Per rank and bucket the network carries about
/// (nodes per rank + 1) n (K-1)/K values each way: 2 n (K-1)/K when S/K is a power of two.
///
/// Steps 2-4 run on the World's progress thread: start(b) returns after step 1, and the
/// caller computes (e.g. the backward of lower layers) while the bucket travels. Buckets
/// are independent: ranks may start them in different orders; a bucket may be started
/// again (the next batch) once wait(b) or test(b) has returned true.
///
/// The buffers belong to the reducer, so that nothing the caller frees can be in flight:
/// between start(b) and its completion, local(b, ·) and result(b) must not be touched
/// (they throw Error). T is float or double.
template <class T>
class ShardReducer {
 public:
  struct Bucket {
    std::string name;  ///< for messages: "layer 2"
    int64_t size = 0;  ///< n, the values in the bucket
  };

  /// Collective when world has several ranks: every rank constructs its reducers in the
  /// same order with the same shards and buckets (check_same_config covers the flags they
  /// come from). Throws Error if K does not divide S (ShardPlan) or a bucket's size is
  /// negative, or if the tags this needs exceed the MPI library's limit.
  ShardReducer(World& world, int64_t shards, std::vector<Bucket> buckets);
  /// Waits for the buckets in flight; during stack unwinding (an exception on its way to
  /// run_distributed, which ends the job) abandons them instead.
  ~ShardReducer();
  ShardReducer(const ShardReducer&) = delete;
  ShardReducer& operator=(const ShardReducer&) = delete;

  const ShardPlan& plan() const;
  int bucket_count() const;
  const Bucket& bucket(int b) const;

  /// The values of local shard i (global shard plan().first_shard() + i) of bucket b:
  /// n elements to fill before start(b). Their contents after start(b) are unspecified
  /// (they hold partial sums). Throws Error for b or i out of range, or b in flight.
  std::span<T> local(int b, int64_t i);
  /// The combined values of bucket b (n elements), valid once wait(b) or test(b) has
  /// returned true. Throws Error for b out of range or in flight.
  std::span<const T> result(int b) const;

  /// Starts combining bucket b (see the class comment). on_done runs once when result(b)
  /// is ready: on the progress thread, or inside start when K = 1; it must be quick and
  /// must not throw or call the reducer (an omp_fulfill_event, a flag). `timeout`
  /// replaces the World's deadline for this bucket (it counts from start, and again after
  /// each message received). Throws Error if b is out of range or already in flight.
  void start(int b, std::function<void()> on_done = {}, std::optional<Seconds> timeout = {});
  /// True when bucket b is complete (or was never started); never blocks.
  bool test(int b);
  /// Blocks until bucket b is complete.
  void wait(int b);
  void wait_all();
  /// start(b), wait(b), result(b).
  std::span<const T> combine(int b);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

extern template class ShardReducer<float>;
extern template class ShardReducer<double>;

}  // namespace rnnwave::dist
