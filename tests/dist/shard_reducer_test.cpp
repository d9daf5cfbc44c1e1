// ShardReducer in one process (K = 1, no MPI touched): tree_sum's bits, bucket by bucket.
#include "rnnwave/dist/shard_reducer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "io/expect_error.h"
#include "rnnwave/dist/run.h"

namespace rnnwave::dist {
namespace {

template <class T>
void fill(std::span<T> out, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> exponent(-20, 20);
  for (T& v : out) v = static_cast<T>(std::ldexp((rng() & 1) ? -1.5 : 1.25, exponent(rng)));
}

template <class T>
void expect_reducer_equals_tree_sum() {
  World world;
  ASSERT_EQ(world.size(), 1);
  ASSERT_FALSE(world.uses_mpi());
  for (int64_t shards : {1, 2, 3, 5, 8, 12, 13}) {
    ShardReducer<T> reducer(world, shards, {{"layer 1", 37}, {"empty", 0}, {"layer 0", 100}});
    ASSERT_EQ(reducer.plan().local_shards(), shards);
    for (uint64_t batch = 0; batch < 2; ++batch) {
      std::vector<std::vector<T>> copies;  // what the single-process tree_sum gets
      for (int b = 0; b < reducer.bucket_count(); ++b) {
        for (int64_t s = 0; s < shards; ++s) fill<T>(reducer.local(b, s), batch * 1000 + b * 100 + s);
      }
      for (int b = reducer.bucket_count() - 1; b >= 0; --b) {
        std::vector<std::vector<T>> values;
        for (int64_t s = 0; s < shards; ++s) values.emplace_back(reducer.local(b, s).begin(), reducer.local(b, s).end());
        std::vector<std::span<T>> spans(values.begin(), values.end());
        std::vector<T> want(static_cast<size_t>(reducer.bucket(b).size));
        tree_sum<T>(spans, want);
        bool called = false;
        reducer.start(b, [&called] { called = true; });
        EXPECT_TRUE(called);  // one rank: complete inside start
        EXPECT_TRUE(reducer.test(b));
        const auto got = reducer.result(b);
        ASSERT_EQ(got.size(), want.size());
        EXPECT_TRUE(want.empty() || std::memcmp(got.data(), want.data(), want.size() * sizeof(T)) == 0) << "S=" << shards << " bucket " << b;
      }
    }
  }
}

TEST(ShardReducer, OneRankEqualsTreeSumFloat) { expect_reducer_equals_tree_sum<float>(); }
TEST(ShardReducer, OneRankEqualsTreeSumDouble) { expect_reducer_equals_tree_sum<double>(); }

TEST(ShardReducer, RefusesBadArguments) {
  World world;
  EXPECT_ERROR_CONTAINING(ShardReducer<float>(world, 0, {{"a", 1}}), "shards: expected at least 1, got 0");
  EXPECT_ERROR_CONTAINING(ShardReducer<float>(world, 2, {{"layer 3", -1}}), "bucket 'layer 3': size must be >= 0, got -1");
  ShardReducer<float> reducer(world, 4, {{"layer 0", 8}});
  EXPECT_ERROR_CONTAINING(reducer.local(0, 4), "bucket 'layer 0': local shard 4 out of range [0, 4)");
  EXPECT_ERROR_CONTAINING(reducer.local(1, 0), "bucket 1 out of range [0, 1)");
  EXPECT_ERROR_CONTAINING(reducer.start(-1), "bucket -1 out of range [0, 1)");
}

TEST(World, OnePerProcess) {
  World world;
  EXPECT_ERROR_CONTAINING(World(), "a World exists already");
  WorldOptions bad;
  bad.timeout = Seconds(0);
  EXPECT_ERROR_CONTAINING(World{bad}, "the deadline must be positive");
}

TEST(RunDistributed, OneProcessTurnsErrorsIntoStatusOne) {
  WorldOptions options;
  options.program = "test";
  EXPECT_EQ(run_distributed(options, [](World& w) { return w.size() == 1 ? 0 : 5; }), 0);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run_distributed(options, [](World&) -> int { throw Error("bad flag --x"); }), 1);
  EXPECT_EQ(run_distributed(options, [](World&) -> int { throw CollectiveError("3 shards do not divide"); }), 1);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "test: error: bad flag --x\ntest: error: 3 shards do not divide\n");
}

}  // namespace
}  // namespace rnnwave::dist
