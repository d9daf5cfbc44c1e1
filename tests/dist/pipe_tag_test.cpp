// Pipeline block tags: distinct for distinct blocks, within every MPI's tag limit.
#include "rnnwave/dist/pipe_channel.h"

#include <gtest/gtest.h>

#include <set>

#include "io/expect_error.h"

namespace rnnwave::dist {
namespace {

TEST(PipeTag, DistinctBlocksHaveDistinctTagsWithinMpichsLimit) {
  std::set<int> tags;
  int ids = 0;
  for (Flow flow : {Flow::up, Flow::down}) {
    for (int boundary : {0, 1, 2, 63, kMaxBoundaries - 1}) {
      for (int block : {0, 1, 2, 255, 4096, kMaxBlocks - 1}) {
        for (int split : {0, 1, kMaxSplits - 1}) {
          const int tag = pipe_tag({flow, boundary, block, split});
          EXPECT_GE(tag, 0);
          EXPECT_LE(tag, (1 << 28) - 1);  // MPICH's MPI_TAG_UB on Debian 12
          tags.insert(tag);
          ++ids;
        }
      }
    }
  }
  EXPECT_EQ(static_cast<int>(tags.size()), ids);
}

TEST(PipeTag, FieldsOutOfRangeAreRefused) {
  EXPECT_ERROR_CONTAINING(pipe_tag({Flow::up, kMaxBoundaries, 0, 0}), "layer 128 out of range [0, 128)");
  EXPECT_ERROR_CONTAINING(pipe_tag({Flow::up, 3, kMaxBlocks, 0}), "step block 32768 of layer 3", "larger step blocks");
  EXPECT_ERROR_CONTAINING(pipe_tag({Flow::down, 0, 0, -1}), "batch split -1 out of range");
}

TEST(PipeTag, DescriptionsNameTheBlock) {
  EXPECT_EQ(describe({Flow::up, 2, 3, 1}), "layer 2's output, step block 3, split 1");
  EXPECT_EQ(describe({Flow::down, 0, 5, 0}), "the gradient of layer 0's output, step block 5, split 0");
}

}  // namespace
}  // namespace rnnwave::dist
