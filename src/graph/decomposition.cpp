#include "graph/decomposition.h"

#include <algorithm>

#include "common/strings.h"

namespace rnnwave {

int64_t weight_grad_block(int64_t steps, int64_t batch) {
  // Enough rows (steps x batch) for an efficient GEMM, few enough steps that the
  // weight gradients of a layer can start long before its backward pass ends.
  const int64_t block = std::clamp<int64_t>((128 + batch - 1) / batch, 1, 32);
  return std::min(block, steps);
}

std::string Decomposition::describe() const {
  return cat("step_block=", step_block, " batch_splits=", splits(), " hidden_splits=", parts(),
             " weight_block=", weight_block);
}

namespace {

/// Independent chains the graph offers per layer without splitting the batch: the two
/// directions, and for a one-direction stack the wavefront across layers.
int64_t natural_parallelism(const GraphShape& s) {
  return s.directions == 2 ? 2 : std::min<int64_t>(s.layers, s.steps);
}

int64_t default_splits(const GraphShape& s, int threads) {
  if (threads <= 1) return 1;
  // One chain per thread, but sub-batches of at least 8 rows: every sub-batch re-reads
  // the recurrent weights at every step, and below 8 rows that costs more than it gains.
  const int64_t wanted = (threads + natural_parallelism(s) - 1) / natural_parallelism(s);
  return std::clamp<int64_t>(std::min(wanted, s.batch / 8), 1, s.batch);
}

int64_t default_hidden_splits(const GraphShape& s, int threads, int64_t splits) {
  // Only when neither the graph nor the batch gives every thread a chain, and only for
  // steps whose recurrent product is large enough (64K multiply-adds per part) to pay
  // for the synchronisation of the parts at every step.
  const int64_t chains = natural_parallelism(s) * splits;
  if (chains >= threads) return 1;
  const int64_t wanted = (threads + chains - 1) / chains;
  const int64_t by_work = s.batch * s.gates * s.hidden_size * s.hidden_size / (int64_t{1} << 16);
  return std::clamp<int64_t>(std::min(wanted, by_work), 1, s.hidden_size / 16 > 0 ? s.hidden_size / 16 : 1);
}

/// Part boundaries in multiples of 16 units (the kernels' panels), as even as possible.
std::vector<int64_t> unit_bounds(int64_t hidden, int64_t parts) {
  const int64_t panels = (hidden + 15) / 16;
  parts = std::clamp<int64_t>(parts, 1, panels);
  std::vector<int64_t> bounds;
  for (int64_t p = 0; p <= parts; ++p) bounds.push_back(std::min(hidden, p * panels / parts * 16));
  return bounds;
}

int64_t default_step_block(const GraphShape& s) {
  // About 64 rows per projection GEMM; at most 16 steps so the next layer starts early.
  return std::clamp<int64_t>((64 + s.batch - 1) / s.batch, 1, 16);
}

}  // namespace

Decomposition choose_decomposition(const GraphShape& shape, int threads,
                                   const ExecOptions& options) {
  if (options.step_block < 0) fail("step_block must be >= 0 (0 = automatic), got ", options.step_block);
  if (options.batch_splits < 0) {
    fail("batch_splits must be >= 0 (0 = automatic), got ", options.batch_splits);
  }
  Decomposition d;
  d.step_block = std::min(options.step_block > 0 ? options.step_block : default_step_block(shape),
                          shape.steps);
  // A requested split count is capped at the batch: the last batch of an epoch may be
  // smaller than the others.
  const int64_t splits = options.batch_splits > 0 ? std::min(options.batch_splits, shape.batch)
                                                  : default_splits(shape, threads);
  d.split_rows.resize(static_cast<size_t>(splits + 1));
  for (int64_t s = 0; s <= splits; ++s) d.split_rows[s] = s * shape.batch / splits;
  if (options.hidden_splits < 0) {
    fail("hidden_splits must be >= 0 (0 = automatic), got ", options.hidden_splits);
  }
  d.unit_bounds = unit_bounds(shape.hidden_size, options.hidden_splits > 0
                                                     ? options.hidden_splits
                                                     : default_hidden_splits(shape, threads, splits));
  d.weight_block = weight_grad_block(shape.steps, shape.batch);
  return d;
}

}  // namespace rnnwave
