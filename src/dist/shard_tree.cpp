// The shard tree: its nodes, the partial sums a rank owns, and in-place evaluation.
#include "rnnwave/dist/shard_tree.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "common/strings.h"
#include "dist/ieee_arithmetic.h"

namespace rnnwave::dist {

int64_t tree_split(TreeNode node) {
  const auto width = static_cast<uint64_t>(node.end - node.first);
  return node.first + static_cast<int64_t>(std::bit_floor(width - 1));
}

std::vector<TreeNode> maximal_nodes(int64_t shards, int64_t first, int64_t end) {
  if (!(0 <= first && first < end && end <= shards)) {
    fail("maximal_nodes: shards [", first, ", ", end, ") is not a non-empty range inside [0, ",
         shards, ")");
  }
  // From the left, take the highest level whose node starting here still fits: a node of
  // level l starts at multiples of 2^l and ends at min(start + 2^l, S).
  std::vector<TreeNode> nodes;
  const int64_t top = static_cast<int64_t>(std::bit_ceil(static_cast<uint64_t>(shards)));
  for (int64_t pos = first; pos < end;) {
    int64_t width = 1;
    while (width < top && pos % (2 * width) == 0 && std::min(pos + 2 * width, shards) <= end) {
      width *= 2;
    }
    const int64_t node_end = std::min(pos + width, shards);
    nodes.push_back({pos, node_end});
    pos = node_end;
  }
  return nodes;
}

namespace {

template <class T>
void add_into(std::span<T> acc, std::span<const T> x) {
  // acc = acc + x, elementwise: left + right, and no element depends on another, so
  // vectorised and scalar code give the same bits.
  T* a = acc.data();
  const T* b = x.data();
  const size_t n = acc.size();
  for (size_t i = 0; i < n; ++i) a[i] = a[i] + b[i];
}

template <class T>
class NodeSummer {
 public:
  NodeSummer(TreeNode root, std::span<const TreeNode> parts, std::span<const std::span<T>> values)
      : root_(root), parts_(parts), values_(values) {}

  size_t sum(TreeNode node) {
    const size_t i = find_part(node.first);
    if (i < parts_.size() && parts_[i].end == node.end) return i;
    if (i < parts_.size() && parts_[i].end > node.end) bad_parts(node);
    if (node.end - node.first < 2) bad_parts(node);
    const int64_t mid = tree_split(node);
    const size_t left = sum({node.first, mid});
    const size_t right = sum({mid, node.end});
    add_into<T>(values_[left], values_[right]);
    return left;
  }

 private:
  size_t find_part(int64_t first) const {
    const auto it = std::lower_bound(parts_.begin(), parts_.end(), first,
                                     [](const TreeNode& p, int64_t f) { return p.first < f; });
    if (it == parts_.end() || it->first != first) return parts_.size();
    return static_cast<size_t>(it - parts_.begin());
  }

  [[noreturn]] void bad_parts(TreeNode node) const {
    fail("sum_node_in_place: the ", parts_.size(), " parts given do not tile tree node [", root_.first, ", ",
         root_.end, ") with tree nodes (none is or tiles node [", node.first, ", ", node.end, "))");
  }

  TreeNode root_;
  std::span<const TreeNode> parts_;
  std::span<const std::span<T>> values_;
};

}  // namespace

template <class T>
size_t sum_node_in_place(TreeNode node, std::span<const TreeNode> parts,
                         std::span<const std::span<T>> values) {
  if (parts.size() != values.size()) {
    fail("sum_node_in_place: ", parts.size(), " parts but ", values.size(), " values");
  }
  if (parts.empty()) fail("sum_node_in_place: no parts for node [", node.first, ", ", node.end, ")");
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i].size() != values[0].size()) {
      fail("sum_node_in_place: value ", i, " has ", values[i].size(), " elements, value 0 has ",
           values[0].size());
    }
    if (i > 0 && parts[i].first != parts[i - 1].end) {
      fail("sum_node_in_place: part ", i, " starts at shard ", parts[i].first,
           ", the previous part ends at ", parts[i - 1].end);
    }
  }
  const detail::ScopedIeeeArithmetic ieee;
  NodeSummer<T> summer(node, parts, values);
  return summer.sum(node);
}

template <class T>
void tree_sum(std::span<const std::span<T>> shards, std::span<T> out) {
  if (shards.empty()) fail("tree_sum: no shards");
  if (out.size() != shards[0].size()) {
    fail("tree_sum: out has ", out.size(), " elements, the shards have ", shards[0].size());
  }
  const auto count = static_cast<int64_t>(shards.size());
  std::vector<TreeNode> leaves(shards.size());
  for (int64_t s = 0; s < count; ++s) leaves[s] = {s, s + 1};
  const size_t root = sum_node_in_place<T>({0, count}, leaves, shards);
  if (!out.empty() && shards[root].data() != out.data()) {
    std::memmove(out.data(), shards[root].data(), out.size() * sizeof(T));
  }
}

template size_t sum_node_in_place<float>(TreeNode, std::span<const TreeNode>,
                                         std::span<const std::span<float>>);
template size_t sum_node_in_place<double>(TreeNode, std::span<const TreeNode>,
                                          std::span<const std::span<double>>);
template void tree_sum<float>(std::span<const std::span<float>>, std::span<float>);
template void tree_sum<double>(std::span<const std::span<double>>, std::span<double>);

ShardPlan::ShardPlan(int64_t shards, int ranks, int rank) : shards_(shards), ranks_(ranks), rank_(rank) {
  if (shards < 1) fail("shards: expected at least 1, got ", shards);
  if (ranks < 1) fail("ranks: expected at least 1, got ", ranks);
  if (ranks > shards) {
    fail(ranks, " ranks for ", shards, " shards: every rank needs at least one shard (--shards must be a multiple of the rank count)");
  }
  if (shards % ranks != 0) {
    fail(shards, " shards do not divide among ", ranks, " ranks (--shards must be a multiple of the rank count)");
  }
  if (rank < 0 || rank >= ranks) fail("rank ", rank, " out of range [0, ", ranks, ")");
}

std::vector<TreeNode> ShardPlan::nodes_of(int q) const {
  if (q < 0 || q >= ranks_) fail("rank ", q, " out of range [0, ", ranks_, ")");
  return maximal_nodes(shards_, first_shard(q), first_shard(q) + local_shards());
}

Chunk chunk_of(int64_t n, int chunks, int c) {
  if (n < 0 || chunks < 1 || c < 0 || c >= chunks) {
    fail("chunk_of: chunk ", c, " of ", chunks, " of ", n, " elements is not defined");
  }
  const int64_t base = n / chunks;
  const int64_t extra = n % chunks;
  const int64_t begin = c * base + std::min<int64_t>(c, extra);
  return {begin, begin + base + (c < extra ? 1 : 0)};
}

}  // namespace rnnwave::dist
