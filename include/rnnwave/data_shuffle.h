// rnnwave/data_shuffle.h — the order of training examples in each epoch: the same on every
// machine for a given (seed, epoch), whatever the thread count.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace rnnwave {

/// A permutation of [0, count) for `epoch`: Fisher-Yates driven by
/// SplitMix64(derive_seed(derive_seed(seed, 0x53485546464c45 /* "SHUFFLE" */), epoch)):
///   p = [0, 1, ..., count-1]; for i = count-1 down to 1: swap(p[i], p[rng.below(i + 1)]).
/// Throws Error if count < 0 or epoch < 0.
std::vector<int64_t> epoch_permutation(int64_t count, uint64_t seed, int64_t epoch);

/// Batches of example indices whose lengths are similar, for less padding:
///   1. the examples in epoch_permutation(count, seed, epoch) order are cut into buckets
///      of batch * bucket_batches consecutive examples;
///   2. each bucket is sorted by decreasing length (stable, so ties keep the shuffled
///      order) and cut into batches of `batch` (only the very last batch may be smaller);
///   3. the batches are put in the order of a second permutation, epoch_permutation of the
///      batch count under derive_seed(seed, 0x42415443484553 /* "BATCHES" */).
/// lengths: [count]. Every index appears in exactly one batch. Throws Error unless
/// batch >= 1 and bucket_batches >= 1.
std::vector<std::vector<int64_t>> length_bucketed_batches(std::span<const int64_t> lengths,
                                                          int64_t batch, uint64_t seed,
                                                          int64_t epoch,
                                                          int64_t bucket_batches = 32);

}  // namespace rnnwave
