// How a pass is cut into tasks: the degrees of freedom of the task graph.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "rnnwave/schedule.h"

namespace rnnwave {

/// The sizes of a pass that shape its graph.
struct GraphShape {
  int64_t layers = 1, directions = 1, steps = 1, batch = 1, input_size = 1, hidden_size = 1,
          gates = 1;
};

struct Decomposition {
  /// Steps per project / input_grad task. A layer's input projection for a block of
  /// steps can start as soon as the layer below has produced those steps: large GEMMs
  /// without losing the wavefront.
  int64_t step_block = 1;
  /// Sub-batch boundaries: split s owns rows [split_rows[s], split_rows[s+1]). Each split
  /// is an independent chain of steps, the main source of parallelism for bidirectional
  /// and one-layer stacks.
  std::vector<int64_t> split_rows{0, 1};
  /// Hidden-unit boundaries: part p of a step computes units [unit_bounds[p],
  /// unit_bounds[p+1]) (multiples of 16 inside). Splitting a step by units gives a chain
  /// parallelism when nothing else does (one sequence, one layer, one direction) and
  /// spreads its weights over the cores' caches.
  std::vector<int64_t> unit_bounds{0, 1};
  /// Steps per weight_grad task: fixed by the problem (see weight_grad_block).
  int64_t weight_block = 1;

  int64_t splits() const { return static_cast<int64_t>(split_rows.size()) - 1; }
  int64_t parts() const { return static_cast<int64_t>(unit_bounds.size()) - 1; }
  /// "block=8 splits=2 weight_block=4"
  std::string describe() const;
};

/// Steps per weight_grad block. It fixes the order in which weight gradients are summed,
/// so it depends on the problem only (never on threads or schedule): every schedule and
/// thread count then produces the same bits.
int64_t weight_grad_block(int64_t steps, int64_t batch);

/// Calls f(t0, t1) for the weight_grad blocks of direction d in the order their gradients
/// become available during the backward pass (descending steps for the forward direction,
/// ascending for the reverse one). Every schedule sums the blocks in this order.
template <class F>
void for_each_weight_grad_block(int64_t steps, int64_t batch, int64_t direction, F&& f) {
  const int64_t block = weight_grad_block(steps, batch);
  const int64_t count = (steps + block - 1) / block;
  for (int64_t k = 0; k < count; ++k) {
    const int64_t b = direction == 0 ? count - 1 - k : k;
    f(b * block, std::min(steps, (b + 1) * block));
  }
}

/// Chooses the decomposition for a problem and a thread count, honouring the overrides
/// of `options` (step_block, batch_splits) where set.
Decomposition choose_decomposition(const GraphShape& shape, int threads,
                                   const ExecOptions& options);

}  // namespace rnnwave
