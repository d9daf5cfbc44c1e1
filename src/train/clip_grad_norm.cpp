#include <cmath>
#include <vector>

#include "common/finite.h"
#include "common/strings.h"
#include "rnnwave/train/clip.h"
#include "train/parallel.h"

namespace rnnwave {
namespace {

/// One block of fixed size of one parameter's gradient.
struct Block {
  size_t param = 0;
  int64_t begin = 0, end = 0;
};

template <class T>
std::vector<Block> blocks_of(std::span<const Parameter<T>> params) {
  std::vector<Block> blocks;
  for (size_t i = 0; i < params.size(); ++i) {
    const Parameter<T>& p = params[i];
    if (p.value.size() != p.grad.size()) {
      fail("gradient norm: parameter '", p.name, "' has ", p.value.size(),
           " elements but its gradient ", p.grad.size());
    }
    const auto size = static_cast<int64_t>(p.grad.size());
    for (int64_t begin = 0; begin < size; begin += train::kElementBlock) {
      blocks.push_back({i, begin, std::min(size, begin + train::kElementBlock)});
    }
  }
  return blocks;
}

/// Lanes of the sum of squares of a block: element i goes to lane i % kLanes. Independent
/// sums in a fixed order, which the compiler vectorises (one sequential sum would not be).
constexpr int64_t kLanes = 8;

/// The sum of squares of g[begin, end) in double, lane by lane, then the lanes in a fixed
/// tree: the same bits whichever thread computes it.
template <class T>
double block_sum_of_squares(const T* g, int64_t begin, int64_t end) {
  double lanes[kLanes] = {};
  int64_t i = begin;
  for (; i + kLanes <= end; i += kLanes) {
    for (int64_t j = 0; j < kLanes; ++j) {
      const auto x = static_cast<double>(g[i + j]);
      lanes[j] += x * x;
    }
  }
  for (int64_t j = 0; i < end; ++i, ++j) {
    const auto x = static_cast<double>(g[i]);
    lanes[j] += x * x;
  }
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

/// Sum of squares of each block (block_sum_of_squares), blocks in parallel, then the
/// blocks summed in order: the same bits for any number of threads.
template <class T>
double sum_of_squares(std::span<const Parameter<T>> params, const std::vector<Block>& blocks) {
  std::vector<double> partial(blocks.size());
  train::parallel_blocks(static_cast<int64_t>(blocks.size()), 1, [&](int64_t first, int64_t last) {
    for (int64_t b = first; b < last; ++b) {
      const Block& block = blocks[b];
      partial[b] = block_sum_of_squares(params[block.param].grad.data(), block.begin, block.end);
    }
  });
  double total = 0;
  for (double s : partial) total += s;
  return total;
}

}  // namespace

template <class T>
double grad_norm(std::span<const Parameter<T>> params) {
  const std::vector<Block> blocks = blocks_of(params);
  return std::sqrt(sum_of_squares(params, blocks));
}

template <class T>
double clip_grad_norm(std::span<const Parameter<T>> params, double max_norm) {
  if (!(std::isfinite(max_norm) && max_norm > 0)) {
    fail("clip_grad_norm: max_norm must be finite and > 0, got ", max_norm);
  }
  const std::vector<Block> blocks = blocks_of(params);
  const double total = std::sqrt(sum_of_squares(params, blocks));
  if (!std::isfinite(total)) {
    for (const Parameter<T>& p : params) {  // names the first offender
      const std::span<const T> grad = p.grad;
      check_finite<T>(grad, {static_cast<int64_t>(grad.size())}, cat("gradient of ", p.name));
    }
    fail("clip_grad_norm: the gradient norm overflows (", total, ")");
  }
  const double coefficient = max_norm / (total + 1e-6);
  if (coefficient < 1) {
    const T scale = static_cast<T>(coefficient);
    train::parallel_blocks(static_cast<int64_t>(blocks.size()), 1, [&](int64_t first, int64_t last) {
      for (int64_t b = first; b < last; ++b) {
        T* g = params[blocks[b].param].grad.data();
        for (int64_t i = blocks[b].begin; i < blocks[b].end; ++i) g[i] *= scale;
      }
    });
  }
  return total;
}

template double grad_norm<float>(std::span<const Parameter<float>>);
template double grad_norm<double>(std::span<const Parameter<double>>);
template double clip_grad_norm<float>(std::span<const Parameter<float>>, double);
template double clip_grad_norm<double>(std::span<const Parameter<double>>, double);

}  // namespace rnnwave
