// Per-epoch orders of examples: a seeded Fisher-Yates shuffle, and length buckets.
#include <algorithm>
#include <numeric>

#include "common/strings.h"
#include "rnnwave/data_shuffle.h"
#include "rnnwave/random.h"

namespace rnnwave {
namespace {

constexpr uint64_t kShuffleKey = 0x53485546464c45;  // "SHUFFLE"
constexpr uint64_t kBatchOrderKey = 0x42415443484553;  // "BATCHES"

}  // namespace

std::vector<int64_t> epoch_permutation(int64_t count, uint64_t seed, int64_t epoch) {
  if (count < 0 || epoch < 0) fail("epoch permutation: need count >= 0 and epoch >= 0, got count ", count, ", epoch ", epoch);
  std::vector<int64_t> order(static_cast<size_t>(count));
  std::iota(order.begin(), order.end(), int64_t{0});
  SplitMix64 rng(derive_seed(derive_seed(seed, kShuffleKey), static_cast<uint64_t>(epoch)));
  for (int64_t i = count - 1; i >= 1; --i) {
    std::swap(order[static_cast<size_t>(i)], order[rng.below(static_cast<uint64_t>(i) + 1)]);
  }
  return order;
}

std::vector<std::vector<int64_t>> length_bucketed_batches(std::span<const int64_t> lengths,
                                                          int64_t batch, uint64_t seed,
                                                          int64_t epoch, int64_t bucket_batches) {
  if (batch < 1 || bucket_batches < 1) {
    fail("length-bucketed batches: need batch >= 1 and bucket_batches >= 1, got batch ", batch,
         ", bucket_batches ", bucket_batches);
  }
  const auto count = static_cast<int64_t>(lengths.size());
  std::vector<int64_t> order = epoch_permutation(count, seed, epoch);
  const int64_t bucket = batch * bucket_batches;
  std::vector<std::vector<int64_t>> batches;
  for (int64_t begin = 0; begin < count; begin += bucket) {
    const auto first = order.begin() + begin;
    const auto last = order.begin() + std::min(count, begin + bucket);
    std::stable_sort(first, last, [&](int64_t a, int64_t b) {
      return lengths[static_cast<size_t>(a)] > lengths[static_cast<size_t>(b)];
    });
    for (auto it = first; it < last; it += std::min<std::ptrdiff_t>(batch, last - it)) {
      batches.emplace_back(it, it + std::min<std::ptrdiff_t>(batch, last - it));
    }
  }
  const std::vector<int64_t> batch_order =
      epoch_permutation(static_cast<int64_t>(batches.size()), derive_seed(seed, kBatchOrderKey), epoch);
  std::vector<std::vector<int64_t>> out;
  out.reserve(batches.size());
  for (int64_t b : batch_order) out.push_back(std::move(batches[static_cast<size_t>(b)]));
  return out;
}

}  // namespace rnnwave
