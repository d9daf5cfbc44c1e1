// rnnwave/dist/shard_tree.h — the fixed binary tree that sums the gradients of S shards.
//
// A global batch is cut into S shards. Its gradient (and its loss and metric sums) is
// defined as the sum of the S shard values combined by the tree below, whoever computes
// the shards: one process, or K ranks for any K dividing S. Floating-point addition is
// not associative, so the order is part of the definition; fixing it makes the bits
// independent of the rank count, as the task graph already makes them independent of the
// thread count.
//
// This header needs no MPI: the single-process path (K = 1) calls tree_sum directly.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace rnnwave::dist {

/// A node of the shard tree: the sum of shards [first, end).
///
/// The tree is built bottom-up over shard index. Level 0 holds the S shards; node j of
/// level l+1 is (node 2j of level l) + (node 2j+1 of level l), or node 2j alone when
/// node 2j+1 does not exist. Node j of level l therefore covers
/// [j 2^l, min((j+1) 2^l, S)), every addition is left + right, and the root is the total.
/// For S = 6:
///
///                      [0,6)
///              [0,4)           [4,6)
///          [0,2)   [2,4)       [4,6)        (passed up unchanged)
///          0   1   2   3       4   5
///
/// A node is named by its range alone: a node passed up unchanged has its child's value.
/// Children of [a, e): [a, m) and [m, e) with m = a + (the largest power of two below
/// e - a); a node with e - a = 1 is a shard.
struct TreeNode {
  int64_t first = 0;  ///< first shard
  int64_t end = 0;    ///< one past the last shard
  friend bool operator==(const TreeNode&, const TreeNode&) = default;
};

/// The split point of an inner node [first, end) (end - first >= 2): its children are
/// [first, m) and [m, end).
int64_t tree_split(TreeNode node);

/// The largest tree nodes (over `shards` shards) that lie inside [first, end), left to
/// right; together they tile [first, end). A rank that owns shards [first, end) sums each
/// of them locally; only these partial sums cross the network. For contiguous ownership
/// of S/K shards there are at most 2 log2(S/K) + 2 of them, and exactly one when S/K is a
/// power of two. Throws Error unless 0 <= first < end <= shards.
std::vector<TreeNode> maximal_nodes(int64_t shards, int64_t first, int64_t end);

/// Sums `node` in place from the values of its parts.
///
/// parts: tree nodes that tile `node` left to right (e.g. shards, or maximal_nodes);
/// values[i]: the value of parts[i], all of the same length n. On return the part that
/// starts at node.first holds the node's value, computed by the tree's additions (left +
/// right, elementwise, in IEEE arithmetic: round to nearest and denormals kept, whatever
/// the calling thread's mode, so that an engine worker that flushes denormals and the
/// progress thread that does not add alike); the other parts are overwritten with partial
/// sums. Returns that part's index. Throws Error if the parts are not tree nodes tiling `node`, or the
/// lengths differ.
template <class T>
size_t sum_node_in_place(TreeNode node, std::span<const TreeNode> parts,
                         std::span<const std::span<T>> values);

/// The total of S shard values by the tree: shards[s] holds shard s's value (n elements
/// each); out (n elements) receives the root. The shards are used as scratch and hold
/// partial sums afterwards; out may be shards[0] itself. Throws Error on an empty list or
/// mismatched lengths. T is float or double.
template <class T>
void tree_sum(std::span<const std::span<T>> shards, std::span<T> out);

/// Which shards each of K ranks owns: rank r owns the contiguous shards
/// [r S/K, (r+1) S/K). S is fixed by the training run; K may be any divisor of S.
class ShardPlan {
 public:
  /// Throws Error unless shards >= 1, 1 <= ranks <= shards, ranks divides shards and
  /// 0 <= rank < ranks; the message names the values.
  ShardPlan(int64_t shards, int ranks, int rank);

  int64_t shards() const { return shards_; }
  int ranks() const { return ranks_; }
  int rank() const { return rank_; }
  /// Shards per rank, S/K.
  int64_t local_shards() const { return shards_ / ranks_; }
  /// First shard of rank q (default: this rank).
  int64_t first_shard(int q) const { return q * local_shards(); }
  int64_t first_shard() const { return first_shard(rank_); }
  /// The partial sums rank q sends: maximal_nodes over its shards.
  std::vector<TreeNode> nodes_of(int q) const;

 private:
  int64_t shards_;
  int ranks_;
  int rank_;
};

/// The range [begin, end) of chunk c when n elements are cut into `chunks` near-equal
/// contiguous chunks (the first n mod chunks are one longer). Chunk c of the combined
/// vector is completed by rank c in the reduce-scatter phase.
struct Chunk {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};
Chunk chunk_of(int64_t n, int chunks, int c);

}  // namespace rnnwave::dist
