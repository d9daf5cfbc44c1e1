// The adding problem: every sample is a function of (seed, split, index) alone; markers,
// targets and lengths follow the definition.
#include <gtest/gtest.h>

#include "io/expect_error.h"
#include "rnnwave/data_adding.h"

namespace rnnwave {
namespace {

/// Sample n of a batch: its values, markers and length.
struct Sample {
  std::vector<float> values, markers;
  int64_t length = 0;
  float target = 0;
  bool operator==(const Sample&) const = default;
};

Sample sample_of(const AddingBatch& batch, int64_t n) {
  const int64_t steps = batch.input.dim(0);
  const int64_t count = batch.input.dim(1);
  Sample s;
  for (int64_t t = 0; t < steps; ++t) {
    s.values.push_back(batch.input.data()[(t * count + n) * 2]);
    s.markers.push_back(batch.input.data()[(t * count + n) * 2 + 1]);
  }
  s.length = batch.lengths[static_cast<size_t>(n)];
  s.target = batch.target.data()[n];
  return s;
}

TEST(DataAdding, SampleIsTheSameWhateverTheBatchSize) {
  for (const bool variable : {false, true}) {
    SCOPED_TRACE(variable);
    const SyntheticAdding task({50, variable, 7});
    const AddingBatch big = task.batch(0, 24);
    const AddingBatch small = task.batch(3, 5);  // samples 15..19
    const AddingBatch one = task.samples(AddingSplit::train, 17, 1);
    EXPECT_EQ(big.input.shape(), (std::vector<int64_t>{50, 24, 2}));
    EXPECT_EQ(big.target.shape(), (std::vector<int64_t>{24}));
    for (int64_t n = 0; n < 5; ++n) EXPECT_EQ(sample_of(small, n), sample_of(big, 15 + n)) << n;
    EXPECT_EQ(sample_of(one, 0), sample_of(big, 17));
    // Same seed, same data; another seed or split, other data.
    EXPECT_EQ(SyntheticAdding({50, variable, 7}).batch(0, 24).input.vector(), big.input.vector());
    EXPECT_NE(SyntheticAdding({50, variable, 8}).batch(0, 24).input.vector(), big.input.vector());
    EXPECT_NE(task.validation_set(24).input.vector(), big.input.vector());
    EXPECT_NE(task.test_set(24).input.vector(), task.validation_set(24).input.vector());
    const std::vector<float> targets = task.validation_set(24).target.vector();
    EXPECT_EQ(task.validation_set(10).target.vector(),
              std::vector<float>(targets.begin(), targets.begin() + 10));
  }
}

TEST(DataAdding, MarkersTargetsAndLengthsFollowTheDefinition) {
  for (const int64_t steps : {2, 3, 10, 101}) {
    for (const bool variable : {false, true}) {
      if (variable && steps < 3) continue;
      SCOPED_TRACE(::testing::Message() << "T " << steps << (variable ? " variable" : " fixed"));
      const AddingBatch batch = SyntheticAdding({steps, variable, 42}).batch(2, 300);
      int64_t shortest = steps, longest = 0;
      for (int64_t n = 0; n < 300; ++n) {
        const Sample s = sample_of(batch, n);
        const int64_t length = s.length;
        shortest = std::min(shortest, length);
        longest = std::max(longest, length);
        ASSERT_GE(length, variable ? (steps + 1) / 2 : steps);
        ASSERT_LE(length, steps);
        std::vector<int64_t> marked;
        for (int64_t t = 0; t < steps; ++t) {
          if (t >= length) {
            ASSERT_EQ(s.values[static_cast<size_t>(t)], 0.0f);
            ASSERT_EQ(s.markers[static_cast<size_t>(t)], 0.0f);
            continue;
          }
          ASSERT_GE(s.values[static_cast<size_t>(t)], 0.0f);
          ASSERT_LT(s.values[static_cast<size_t>(t)], 1.0f);
          const float marker = s.markers[static_cast<size_t>(t)];
          ASSERT_TRUE(marker == 0.0f || marker == 1.0f);
          if (marker == 1.0f) marked.push_back(t);
        }
        ASSERT_EQ(marked.size(), 2u);
        EXPECT_LT(marked[0], length / 2);
        EXPECT_GE(marked[1], length / 2);
        EXPECT_EQ(s.target, s.values[static_cast<size_t>(marked[0])] + s.values[static_cast<size_t>(marked[1])]);
      }
      if (variable && steps > 3) {
        EXPECT_EQ(shortest, (steps + 1) / 2);
        EXPECT_EQ(longest, steps);
      }
    }
  }
}

TEST(DataAdding, TheFirstMarkerCoversTheFirstHalf) {
  const AddingBatch batch = SyntheticAdding({20, false, 1}).batch(0, 2000);
  std::vector<int> first(20), second(20);
  for (int64_t n = 0; n < 2000; ++n) {
    bool seen = false;
    for (int64_t t = 0; t < 20; ++t) {
      if (batch.input.data()[(t * 2000 + n) * 2 + 1] == 1.0f) ++(seen ? second : first)[static_cast<size_t>(t)], seen = true;
    }
  }
  for (int t = 0; t < 10; ++t) {
    EXPECT_GT(first[static_cast<size_t>(t)], 140) << t;  // about 200 each
    EXPECT_EQ(second[static_cast<size_t>(t)], 0) << t;
    EXPECT_GT(second[static_cast<size_t>(t + 10)], 140) << t + 10;
  }
}

TEST(DataAdding, RefusesBadSizes) {
  EXPECT_ERROR_CONTAINING(SyntheticAdding({1, false, 0}), "steps must be at least 2, got 1");
  EXPECT_ERROR_CONTAINING(SyntheticAdding({2, true, 0}), "steps must be at least 3 with variable lengths, got 2");
  const SyntheticAdding task({10, false, 0});
  EXPECT_ERROR_CONTAINING(task.batch(-1, 4), "batch -1 of size 4");
  EXPECT_ERROR_CONTAINING(task.batch(0, 0), "batch 0 of size 0");
  EXPECT_ERROR_CONTAINING(task.samples(AddingSplit::validation, 0, 0), "of the validation split");
  EXPECT_ERROR_CONTAINING(SyntheticAdding({int64_t{1} << 40, false, 0}).batch(0, 1 << 20), "adding batch");
  EXPECT_EQ(to_string(AddingSplit::test), "test");
}

}  // namespace
}  // namespace rnnwave
