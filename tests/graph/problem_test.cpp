// The problem-only rules every schedule shares: here, the blocks weight gradients are
// summed over, which fix the bits of every gradient.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "graph/problem.h"

namespace rnnwave {
namespace {

TEST(WeightGradBlocks, CoverEveryStepOnceAndOnlyTheFirstWrites) {
  for (int64_t steps : {1, 2, 31, 100, 127, 128, 129, 1000}) {
    for (int64_t batch : {1, 3, 8, 64, 600}) {
      for (bool walks_back : {false, true}) {
        std::vector<int> covered(static_cast<size_t>(steps), 0);
        int64_t blocks = 0;
        for_each_weight_grad_block(steps, batch, walks_back, [&](int64_t t0, int64_t t1) {
          const std::string where = "steps " + std::to_string(steps) + " batch " +
                                    std::to_string(batch) + " block " + std::to_string(blocks);
          ASSERT_LT(t0, t1) << where;
          for (int64_t t = t0; t < t1; ++t) ++covered[static_cast<size_t>(t)];
          // The first block the order visits writes the gradients, every later one adds.
          EXPECT_EQ(first_weight_grad_block(steps, batch, walks_back, t0), blocks == 0) << where;
          ++blocks;
        });
        for (int64_t t = 0; t < steps; ++t) EXPECT_EQ(covered[static_cast<size_t>(t)], 1) << "step " << t;
      }
    }
  }
}

TEST(WeightGradBlocks, AddEnoughRowsToOutweighTheGradientsBytes) {
  // At N = 1 the blocks of a 100-step sequence were 32 steps, and each block moved every
  // gradient byte of its layer for 32 multiply-adds; now one block covers all 100.
  EXPECT_EQ(weight_grad_block(100, 1), 100);
  EXPECT_EQ(weight_grad_block(1000, 1), 128);
  EXPECT_EQ(weight_grad_block(100, 64), 8);
  EXPECT_EQ(weight_grad_block(100, 600), 1);
}

}  // namespace
}  // namespace rnnwave
