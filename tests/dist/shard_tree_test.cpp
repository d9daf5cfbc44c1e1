// The shard tree: its nodes, the partial sums of a rank, and the total, bit for bit against
// a recursive reference written independently of the library's range arithmetic.
#include "rnnwave/dist/shard_tree.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <optional>
#include <random>
#include <vector>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include "io/expect_error.h"

namespace rnnwave::dist {
namespace {

/// Values with random signs and exponents in [-24, 24]: sums of them depend on the order.
template <class T>
std::vector<std::vector<T>> random_shards(int64_t shards, int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> mantissa(1.0, 2.0);
  std::uniform_int_distribution<int> exponent(-24, 24);
  std::vector<std::vector<T>> out(static_cast<size_t>(shards), std::vector<T>(static_cast<size_t>(n)));
  for (auto& shard : out) {
    for (T& v : shard) v = static_cast<T>(std::ldexp((rng() & 1) ? -mantissa(rng) : mantissa(rng), exponent(rng)));
  }
  return out;
}

/// The reference: the tree as a complete binary tree over the next power of two, top
/// down; a subtree with no shards is absent, and a node with one child present is that
/// child.
template <class T>
std::optional<std::vector<T>> reference_node(const std::vector<std::vector<T>>& shards, int64_t first, int64_t width) {
  if (first >= static_cast<int64_t>(shards.size())) return std::nullopt;
  if (width == 1) return shards[first];
  auto left = reference_node(shards, first, width / 2);
  auto right = reference_node(shards, first + width / 2, width / 2);
  if (!right) return left;
  for (size_t i = 0; i < left->size(); ++i) (*left)[i] = (*left)[i] + (*right)[i];
  return left;
}

template <class T>
std::vector<T> reference_sum(const std::vector<std::vector<T>>& shards) {
  const auto top = static_cast<int64_t>(std::bit_ceil(shards.size()));
  return *reference_node(shards, 0, top);
}

template <class T>
std::vector<T> library_sum(std::vector<std::vector<T>> shards) {
  std::vector<std::span<T>> spans(shards.begin(), shards.end());
  std::vector<T> out(shards[0].size());
  tree_sum<T>(spans, out);
  return out;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

std::vector<int64_t> shard_counts() {
  std::vector<int64_t> counts;
  for (int64_t s = 1; s <= 70; ++s) counts.push_back(s);
  for (int64_t s : {96, 100, 127, 128, 129, 255, 256, 257, 1000}) counts.push_back(s);
  return counts;
}

template <class T>
void expect_tree_sum_matches_reference() {
  int order_matters = 0;
  for (const int64_t shards : shard_counts()) {
    const auto values = random_shards<T>(shards, 33, static_cast<uint64_t>(shards));
    const auto want = reference_sum(values);
    EXPECT_TRUE(same_bits(library_sum(values), want)) << "S = " << shards;
    // The left-to-right sum differs somewhere, or the test could not tell orders apart.
    std::vector<T> serial(values[0]);
    for (int64_t s = 1; s < shards; ++s) {
      for (size_t i = 0; i < serial.size(); ++i) serial[i] = serial[i] + values[s][i];
    }
    order_matters += !same_bits(serial, want);
  }
  EXPECT_GT(order_matters, 50);
}

TEST(ShardTree, SumEqualsRecursiveReferenceFloat) { expect_tree_sum_matches_reference<float>(); }
TEST(ShardTree, SumEqualsRecursiveReferenceDouble) { expect_tree_sum_matches_reference<double>(); }

TEST(ShardTree, SumIntoFirstShard) {
  auto values = random_shards<float>(5, 7, 1);
  const auto want = reference_sum(values);
  std::vector<std::span<float>> spans(values.begin(), values.end());
  tree_sum<float>(spans, spans[0]);
  EXPECT_TRUE(same_bits(values[0], want));
}

#if defined(__SSE__)
// An engine worker flushes denormals (FTZ and DAZ) and may start a bucket; the progress
// thread, which does not, finishes it. The sum must not depend on which thread adds.
TEST(ShardTree, SumIgnoresTheCallersDenormalMode) {
  std::vector<std::vector<float>> shards(6, std::vector<float>(4));
  for (size_t s = 0; s < shards.size(); ++s) {
    for (size_t i = 0; i < 4; ++i) shards[s][i] = std::ldexp(1.0f + static_cast<float>(s + i) / 8, -140);  // denormal
  }
  const auto want = library_sum(shards);
  EXPECT_NE(want[0], 0.0f);
  const unsigned saved = _mm_getcsr();
  _mm_setcsr(saved | 0x8040 | 0x2000);  // FTZ, DAZ, round down
  const auto flushed = library_sum(shards);
  _mm_setcsr(saved);
  EXPECT_TRUE(same_bits(flushed, want));
  EXPECT_TRUE(same_bits(reference_sum(shards), want));
}
#endif

/// [first, end) is a node of the tree over `shards` shards.
bool is_tree_node(int64_t shards, TreeNode node) {
  for (int64_t width = 1; width < 2 * shards + 2; width *= 2) {
    if (node.first % width == 0 && node.end == std::min(node.first + width, shards) && node.first < shards) return true;
  }
  return false;
}

TEST(ShardTree, MaximalNodesTileTheRangeWithTheLargestNodes) {
  for (int64_t shards = 1; shards <= 40; ++shards) {
    for (int64_t first = 0; first < shards; ++first) {
      for (int64_t end = first + 1; end <= shards; ++end) {
        const auto nodes = maximal_nodes(shards, first, end);
        int64_t pos = first;
        for (const TreeNode& node : nodes) {
          ASSERT_EQ(node.first, pos) << "S=" << shards << " [" << first << "," << end << ")";
          ASSERT_TRUE(is_tree_node(shards, node)) << node.first << "," << node.end;
          // Maximal: no tree node strictly larger that contains it lies inside the range.
          for (int64_t width = 1; width < 2 * shards + 2; width *= 2) {
            const TreeNode parent{node.first - node.first % width, std::min(node.first - node.first % width + width, shards)};
            const bool larger = parent.end - parent.first > node.end - node.first;
            EXPECT_FALSE(larger && parent.first >= first && parent.end <= end)
                << "[" << node.first << "," << node.end << ") inside [" << parent.first << "," << parent.end << ")";
          }
          pos = node.end;
        }
        EXPECT_EQ(pos, end);
        const double length = static_cast<double>(end - first);
        EXPECT_LE(static_cast<double>(nodes.size()), 2 * std::log2(length) + 2);
      }
    }
  }
}

TEST(ShardTree, OneNodePerRankWhenSharesArePowersOfTwo) {
  for (int ranks : {1, 2, 3, 4, 5, 8}) {
    for (int64_t per_rank : {1, 2, 4, 8}) {
      const ShardPlan plan(ranks * per_rank, ranks, 0);
      for (int q = 0; q < ranks; ++q) EXPECT_EQ(plan.nodes_of(q).size(), 1u) << ranks << " x " << per_rank;
    }
  }
}

TEST(ShardTree, ChunksCoverTheVectorEvenly) {
  for (int64_t n : {0, 1, 2, 7, 64, 1001}) {
    for (int chunks : {1, 2, 3, 4, 7}) {
      int64_t pos = 0;
      for (int c = 0; c < chunks; ++c) {
        const Chunk chunk = chunk_of(n, chunks, c);
        EXPECT_EQ(chunk.begin, pos);
        EXPECT_GE(chunk.size(), n / chunks);
        EXPECT_LE(chunk.size(), n / chunks + 1);
        pos = chunk.end;
      }
      EXPECT_EQ(pos, n);
    }
  }
}

/// What K ranks compute, replayed in one process with the library's pieces: each rank sums
/// its maximal nodes; each chunk of the vector is completed from every rank's nodes; the
/// chunks are put together. The bits must be those of tree_sum, for every K dividing S.
template <class T>
std::vector<T> simulate_ranks(const std::vector<std::vector<T>>& shards, int ranks) {
  const auto count = static_cast<int64_t>(shards.size());
  const auto n = static_cast<int64_t>(shards[0].size());
  std::vector<std::vector<T>> nodes_values;  // every rank's partial sums, left to right
  std::vector<TreeNode> nodes;
  for (int r = 0; r < ranks; ++r) {
    const ShardPlan plan(count, ranks, r);
    std::vector<std::vector<T>> local(shards.begin() + plan.first_shard(),
                                      shards.begin() + plan.first_shard() + plan.local_shards());
    std::vector<std::span<T>> spans(local.begin(), local.end());
    std::vector<TreeNode> leaves;
    for (int64_t i = 0; i < plan.local_shards(); ++i) leaves.push_back({plan.first_shard() + i, plan.first_shard() + i + 1});
    for (const TreeNode& node : plan.nodes_of(r)) {
      const size_t at = sum_node_in_place<T>(node, leaves, spans);
      nodes.push_back(node);
      nodes_values.push_back(local[at]);
    }
  }
  std::vector<T> out(static_cast<size_t>(n));
  for (int c = 0; c < ranks; ++c) {
    const Chunk chunk = chunk_of(n, ranks, c);
    std::vector<std::vector<T>> parts;
    for (const auto& v : nodes_values) parts.emplace_back(v.begin() + chunk.begin, v.begin() + chunk.end);
    std::vector<std::span<T>> spans(parts.begin(), parts.end());
    const size_t root = sum_node_in_place<T>({0, count}, nodes, spans);
    std::copy(parts[root].begin(), parts[root].end(), out.begin() + chunk.begin);
  }
  return out;
}

template <class T>
void expect_every_rank_count_gives_the_same_bits() {
  for (int64_t shards = 1; shards <= 48; ++shards) {
    for (int64_t n : {1, 5, 37}) {
      const auto values = random_shards<T>(shards, n, static_cast<uint64_t>(shards * 100 + n));
      const auto want = reference_sum(values);
      for (int ranks = 1; ranks <= shards; ++ranks) {
        if (shards % ranks != 0) continue;
        EXPECT_TRUE(same_bits(simulate_ranks(values, ranks), want)) << "S=" << shards << " K=" << ranks << " n=" << n;
      }
    }
  }
}

TEST(ShardTree, EveryRankCountDividingShardsGivesTheSameBitsFloat) { expect_every_rank_count_gives_the_same_bits<float>(); }
TEST(ShardTree, EveryRankCountDividingShardsGivesTheSameBitsDouble) {
  expect_every_rank_count_gives_the_same_bits<double>();
}

TEST(ShardTree, RefusesRankCountsThatDoNotDivideTheShards) {
  EXPECT_ERROR_CONTAINING(ShardPlan(6, 4, 0), "6 shards do not divide among 4 ranks");
  EXPECT_ERROR_CONTAINING(ShardPlan(2, 4, 0), "4 ranks for 2 shards");
  EXPECT_ERROR_CONTAINING(ShardPlan(0, 1, 0), "shards: expected at least 1, got 0");
  EXPECT_ERROR_CONTAINING(ShardPlan(4, 2, 2), "rank 2 out of range [0, 2)");
  EXPECT_ERROR_CONTAINING(maximal_nodes(4, 3, 3), "shards [3, 3)");
}

TEST(ShardTree, RefusesPartsThatAreNotTreeNodes) {
  std::vector<float> a(3), b(3), c(3);
  std::vector<std::span<float>> values{a, b, c};
  const std::vector<TreeNode> straddling{{0, 1}, {1, 3}, {3, 4}};  // [1, 3) is no node
  EXPECT_ERROR_CONTAINING(sum_node_in_place<float>({0, 4}, straddling, values), "do not tile tree node [0, 4)");
  const std::vector<TreeNode> gap{{0, 1}, {2, 3}, {3, 4}};
  EXPECT_ERROR_CONTAINING(sum_node_in_place<float>({0, 4}, gap, values), "part 1 starts at shard 2");
  std::vector<float> short_one(2);
  std::vector<std::span<float>> uneven{a, short_one};
  EXPECT_ERROR_CONTAINING(tree_sum<float>(uneven, a), "value 1 has 2 elements, value 0 has 3");
}

}  // namespace
}  // namespace rnnwave::dist
