// The generator's published test vector, epoch permutations, length buckets.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "io/expect_error.h"
#include "rnnwave/data_shuffle.h"
#include "rnnwave/random.h"

namespace rnnwave {
namespace {

TEST(DataShuffle, SplitMix64MatchesTheReferenceImplementation) {
  // Vigna's splitmix64.c seeded with x = 1234567.
  SplitMix64 rng(1234567);
  EXPECT_EQ(rng.next(), 6457827717110365317ull);
  EXPECT_EQ(rng.next(), 3203168211198807973ull);
  EXPECT_EQ(rng.next(), 9817491932198370423ull);
  EXPECT_EQ(rng.next(), 4593380528125082431ull);
  EXPECT_EQ(rng.next(), 16408922859458223821ull);
  for (int i = 0; i < 1000; ++i) {
    const float u = rng.uniform_float();
    ASSERT_TRUE(u >= 0.0f && u < 1.0f);
    ASSERT_LT(rng.below(7), 7u);
  }
  EXPECT_EQ(SplitMix64(5).below(1), 0u);
}

TEST(DataShuffle, EpochPermutationIsAReproduciblePermutation) {
  const std::vector<int64_t> a = epoch_permutation(1000, 42, 3);
  std::vector<int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> identity(1000);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_EQ(sorted, identity);
  EXPECT_NE(a, identity);
  EXPECT_EQ(epoch_permutation(1000, 42, 3), a);
  EXPECT_NE(epoch_permutation(1000, 42, 4), a);
  EXPECT_NE(epoch_permutation(1000, 43, 3), a);
  // Fixed values, from a Python transcription of the documented algorithm.
  EXPECT_EQ(epoch_permutation(8, 0, 0), (std::vector<int64_t>{5, 4, 7, 3, 1, 2, 0, 6}));
  EXPECT_EQ(epoch_permutation(8, 2024, 7), (std::vector<int64_t>{2, 3, 0, 1, 7, 6, 5, 4}));
  EXPECT_TRUE(epoch_permutation(0, 1, 1).empty());
  EXPECT_EQ(epoch_permutation(1, 1, 1), std::vector<int64_t>{0});
  EXPECT_ERROR_CONTAINING(epoch_permutation(-1, 0, 0), "got count -1, epoch 0");
  EXPECT_ERROR_CONTAINING(epoch_permutation(3, 0, -2), "got count 3, epoch -2");
}

TEST(DataShuffle, LengthBucketsGroupSimilarLengths) {
  std::vector<int64_t> lengths(1000);
  for (size_t i = 0; i < lengths.size(); ++i) lengths[i] = static_cast<int64_t>((i * 7919) % 500) + 1;
  const auto batches = length_bucketed_batches(lengths, 16, 9, 2, 8);
  ASSERT_EQ(batches.size(), 63u);  // 62 full batches and one of 8
  std::vector<int64_t> seen;
  int64_t small = 0, spread = 0;
  for (const auto& batch : batches) {
    ASSERT_FALSE(batch.empty());
    if (batch.size() < 16) ++small;
    for (size_t i = 1; i < batch.size(); ++i) {
      ASSERT_GE(lengths[static_cast<size_t>(batch[i - 1])], lengths[static_cast<size_t>(batch[i])]);
    }
    spread += lengths[static_cast<size_t>(batch.front())] - lengths[static_cast<size_t>(batch.back())];
    seen.insert(seen.end(), batch.begin(), batch.end());
  }
  EXPECT_EQ(small, 1);
  std::sort(seen.begin(), seen.end());
  std::vector<int64_t> identity(1000);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_EQ(seen, identity);
  // Random batches of 16 out of lengths uniform in [1, 500] spread over ~440 on average.
  EXPECT_LT(spread / static_cast<int64_t>(batches.size()), 120);
  EXPECT_EQ(length_bucketed_batches(lengths, 16, 9, 2, 8), batches);
  EXPECT_NE(length_bucketed_batches(lengths, 16, 9, 3, 8), batches);
  EXPECT_ERROR_CONTAINING(length_bucketed_batches(lengths, 0, 9, 2), "got batch 0, bucket_batches 32");
}

}  // namespace
}  // namespace rnnwave
