// rnnwave/dropout.h — the one dropout mask of rnnwave: the engine's between the layers of
// a stack (ForwardArgs::dropout) and the training layers' (rnnwave/train/dropout.h) both
// keep or drop an element by this rule.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "rnnwave/random.h"

namespace rnnwave {

/// Whether inverted dropout with probability p keeps element `index` of the mask of `key`:
///   counter_uniform(key, index) >= p.
/// A function of (key, index, p) alone: the same on any thread, in any order, for float
/// and double, and recomputed by the backward pass instead of stored.
constexpr bool dropout_keep(uint64_t key, uint64_t index, double p) {
  return counter_uniform(key, index) >= p;
}

/// y[i] = dropout_keep(key, first + i, p) ? x[i] * T(1 / (1 - p)) : 0, for every i of x.
/// x and y have the same size (the caller checks) and are disjoint or the same memory;
/// `first` is the index of x[0] in the whole mask, for a caller that works in pieces. The
/// backward pass is the same call on the gradients.
template <class T>
void apply_dropout_mask(std::span<const T> x, std::span<T> y, double p, uint64_t key,
                        uint64_t first) {
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  for (size_t i = 0; i < x.size(); ++i) {
    y[i] = dropout_keep(key, first + i, p) ? x[i] * scale : T(0);
  }
}

}  // namespace rnnwave
