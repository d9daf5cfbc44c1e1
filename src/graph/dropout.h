// Inverted dropout between the layers of a stack (the `dropout` of torch.nn.RNN and kin).
#pragma once

#include <cstdint>

#include "graph/cell_ops.h"

namespace rnnwave {

/// A uniform draw in [0, 1) for one element, from a counter-based generator (the
/// splitmix64 finaliser of seed + counter): the same value whatever computes it, in any
/// order, on any thread.
inline double dropout_draw(uint64_t seed, uint64_t counter) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (counter + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 40) * 0x1.0p-24;
}

/// Layer l's input after dropout, steps [t0, t1), all rows: dropped(l, t) =
/// h(l-1, t) * mask / (1 - p). The mask element of (l, t, row n of the caller's batch,
/// unit j) is kept when its draw is >= p.
template <class T>
void apply_dropout(Pass<T>& pass, int64_t l, int64_t t0, int64_t t1);

/// The same mask on the gradient flowing to layer l-1: dh_above(l-1, t) *= mask / (1 - p).
template <class T>
void apply_dropout_grad(Pass<T>& pass, int64_t l, int64_t t0, int64_t t1);

}  // namespace rnnwave
