#include "rnnwave/huge_pages.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>

namespace rnnwave {
namespace {

bool on_huge_page_boundary(const void* p) { return reinterpret_cast<uintptr_t>(p) % kHugePageBytes == 0; }

TEST(HugePages, LargeArraysStartOnAHugePageAndSmallOnesAreOrdinary) {
  const size_t large = kHugePageBytes / sizeof(float);
  LargeVector<float> exact(large), above(large + 1), small(large - 1);
  EXPECT_TRUE(on_huge_page_boundary(exact.data()));
  EXPECT_TRUE(on_huge_page_boundary(above.data()));
  // A small array is std::allocator's: wherever it lands, it works the same.
  EXPECT_EQ(small.size(), large - 1);
  for (const LargeVector<float>* v : {&exact, &above, &small}) {
    EXPECT_TRUE(std::all_of(v->begin(), v->end(), [](float x) { return x == 0.0f; }));
  }
}

TEST(HugePages, AVectorGrowsAcrossTheThresholdKeepingItsValues) {
  LargeVector<double> v(1000);
  std::iota(v.begin(), v.end(), 0.0);
  v.resize(kHugePageBytes / sizeof(double) * 3 + 7);  // reallocates onto huge pages
  EXPECT_TRUE(on_huge_page_boundary(v.data()));
  for (size_t i = 0; i < 1000; ++i) ASSERT_EQ(v[i], static_cast<double>(i));
  v.resize(10);
  v.shrink_to_fit();  // and back to std::allocator (freed by the matching path: ASan checks)
  EXPECT_EQ(v[9], 9.0);
}

TEST(HugePages, AScratchArrayStartsOnAHugePageAndOverflowIsRefused) {
  auto scratch = make_huge_pages_array<float>(3);
  EXPECT_TRUE(on_huge_page_boundary(scratch.get()));
  scratch[2] = 1.5f;
  EXPECT_EQ(scratch[2], 1.5f);
  EXPECT_THROW(make_huge_pages_array<float>(SIZE_MAX / 2), std::bad_array_new_length);
  EXPECT_THROW(HugePageAllocator<float>{}.allocate(SIZE_MAX / 2), std::bad_array_new_length);
  EXPECT_THROW(allocate_huge_pages(0), std::bad_alloc);
}

}  // namespace
}  // namespace rnnwave
