#include "graph/problem.h"

#include <omp.h>

#include "cells/cell_table.h"
#include "common/memory_limits.h"
#include "common/strings.h"
#include "kernels/packed_gemm.h"
#include "kernels/weight_grad_product.h"

namespace rnnwave {
namespace {

/// Lays out consecutive regions in one buffer: each region starts where the previous one
/// ends, rounded up to a cache line.
class Regions {
 public:
  explicit Regions(std::string_view what) : what_(what) {}
  /// Reserves a region of the product of `extents` elements and returns its offset.
  int64_t add(std::initializer_list<int64_t> extents) {
    int64_t count = 1;
    for (int64_t e : extents) count = checked_mul(count, e, what_);
    const int64_t offset = end_;
    constexpr int64_t kLine = 16;  // elements; 64 bytes for float
    if (__builtin_add_overflow(end_, (count + kLine - 1) / kLine * kLine, &end_)) {
      fail(what_, ": size overflows");
    }
    return offset;
  }
  int64_t size() const { return end_; }

 private:
  std::string_view what_;
  int64_t end_ = 0;
};

/// Gates an inference pass's ring keeps per (layer, direction), and below 8 rows the least
/// a whole-sequence block may keep (default_step_block): 8 MiB of floats.
constexpr int64_t kGateElements = int64_t{2} << 20;

/// The step blocks of the ring of gate slots in inference where projection tasks fill
/// them ahead, or 0 for a slot per step. A ring of two blocks lets the projection of the
/// next block run beside the steps of this one, which is all the overlap the graph
/// needs; every (layer, direction) may keep two million elements of gates (8 MiB of
/// floats) or two blocks, whichever is more, so that passes small enough for their
/// projections to run far ahead (a thread runs all of a layer's projections before its
/// steps, which keeps the input weights in cache) keep a slot per step. A 4-layer
/// bidirectional stack of H = 1024 four-gate cells at T = 100, N = 64 kept 840 MB of
/// gates above one thread; in a ring of two blocks of 4 steps, 67 MB (at one thread its
/// steps projected their own input into one slot, 8.4 MB, and now take blocks too), and
/// in the blocks of 16 steps it takes now (default_step_block), 268 MB.
int64_t gate_ring_blocks(const ProblemDesc& p) {
  const int64_t block = p.plan.step_block, blocks = (p.T + block - 1) / block;
  const int64_t ring = std::max<int64_t>(2, kGateElements / (block * p.N * p.GH()));
  return ring < blocks ? ring : 0;
}

WorkspaceLayout layout_of(const ProblemDesc& p) {
  const int64_t L = p.L, D = p.D, T = p.T, N = p.N;
  WorkspaceLayout layout;
  Regions forward("forward workspace");
  layout.input = forward.add({p.copies_input() ? T : 0, N, p.I});
  layout.state[0] = forward.add({L, T + 2, N, p.ld_h()});
  for (int64_t k = 1; k < p.states; ++k) {
    layout.state[k] = forward.add({L * D, T + 2, N, p.state_width[k]});
  }
  layout.step_slots = p.training ? T : 1;
  layout.gate_slots = layout.step_slots;
  for (int64_t l = 0; l < L; ++l) {
    if (!steps_project_input(p, l)) layout.gate_slots = T;  // projection tasks fill them ahead
  }
  if (!p.training && layout.gate_slots == T) {  // nothing reads a step's gates after it
    layout.gate_ring_blocks = gate_ring_blocks(p);
    if (layout.gate_ring_blocks > 0) layout.gate_slots = layout.gate_ring_blocks * p.plan.step_block;
  }
  layout.gate_layers = !p.training && layout.gate_slots == T ? 1 : L;
  layout.gates = forward.add({layout.gate_layers, D, layout.gate_slots, N, p.GH()});
  for (int64_t b = 0; b < p.buffers; ++b) {
    const bool step = p.cell->buffers[b].life == cells::Life::step;
    layout.buffer[b] = forward.add({L * D, step ? layout.step_slots : 1, N, p.buffer_width[b]});
  }
  layout.dropped = forward.add({p.dropout ? L - 1 : 0, T, N, p.ld_h()});
  layout.forward_size = forward.size();
  if (p.training) {
    Regions backward("backward workspace");
    layout.dh_above = backward.add({L, T, N, p.ld_h()});
    for (int64_t k = 0; k < p.states; ++k) {
      layout.grad_state[k] = backward.add({L * D, T + 2, N, p.state_width[k]});
    }
    layout.grad_input = backward.add({p.identity_order ? 0 : T, N, p.I});
    layout.backward_size = backward.size();
  }
  return layout;
}

/// Whether one projection block of `step_block` steps is the whole sequence: a layer's
/// projection then waits for all of the layer below, and nothing of the layer runs beside it.
bool covers_sequence(const ProblemDesc& p, int64_t step_block) { return step_block >= p.T; }

int64_t default_splits(const ProblemDesc& p, int threads, int64_t step_block) {
  if (threads <= 1) return 1;
  // One chain per thread, but sub-batches of at least 8 rows: every sub-batch re-reads
  // the recurrent weights at every step, and below 8 rows that costs more than it gains.
  const int64_t chains = natural_parallelism(p, step_block);
  const int64_t wanted = (threads + chains - 1) / chains;
  return std::clamp<int64_t>(std::min(wanted, p.N / 8), 1, p.N);
}

/// The most parts a step's recurrent product is large enough to be split into: 64K
/// multiply-adds per part, to pay for the synchronisation of the parts at every step.
int64_t step_parts_by_work(const ProblemDesc& p) { return p.N * p.G * p.H * p.H / (int64_t{1} << 16); }

/// Whether a bidirectional inference pass below 8 rows runs its directions in turn, each
/// step split across the threads (the chain runtime, a part per thread, whose chain_order
/// ranks a layer's direction 0 chain first), rather than side by side, a direction per
/// thread: each step's recurrent weights are then one direction's, which stay in the L3
/// from step to step where both directions' most likely do not (the machine shows no cache
/// counters). Measured on the 2-core AMD machine at N = 1, T = 100 (docs/benchmarks.md,
/// alternated rounds against a direction per thread; old / new of the medians over the
/// rounds, one figure per sitting): a four-gate layer at H = 1024 (32 MiB) 1.05x, 0.88x,
/// 1.21x and 1.06x, a stack of four 1.10x, 1.04x and 1.01x; three gates (24 MiB)
/// 1.00-1.04x; three held-out shapes (H = 768-1024, T = 50-300, N = 1-2) 1.01-1.11x. Level
/// at 8 MiB (one gate, H = 1024: 1.01x), slower at 0.5-2 MiB (H = 256: 0.68-0.97x; the
/// weights stay in cache either way, and the parts meet at every step). Training keeps the
/// directions side by side: its backward graph runs on the dataflow runtime, and with parts
/// the pass ran 0.95-1.00x as fast. The bound, 16 MiB, lies between the 8 MiB measured
/// level and the 24-32 MiB that gained (the held-out 18 MiB came out level, 1.01x). Two
/// threads only, in fp32 (bf16 weights take half the bytes), and H a multiple of 16 (else
/// the projections stay whole, both directions' on one thread: projection_parts): no other
/// was measured.
bool directions_in_turn(const ProblemDesc& p, int threads, int64_t step_block) {
  constexpr int64_t kBothDirectionsWeights = int64_t{16} << 20;
  const int64_t bytes = 2 * p.GH() * p.Hs * int64_t{sizeof(float)};
  return p.D == 2 && !p.training && !p.bf16 && threads == 2 && p.N < 8 &&
         p.H % kernels::kPanelWidth == 0 && covers_sequence(p, step_block) &&
         p.cell->splits_by_units() && bytes > kBothDirectionsWeights;
}

int64_t default_hidden_splits(const ProblemDesc& p, int threads, int64_t step_block,
                              int64_t splits) {
  if (splits == 1 && directions_in_turn(p, threads, step_block)) return threads;
  // Only when neither the graph nor the batch gives every thread a chain, and only for
  // steps large enough to split (step_parts_by_work).
  const int64_t chains = natural_parallelism(p, step_block) * splits;
  if (chains >= threads) return 1;
  const int64_t wanted = (threads + chains - 1) / chains;
  return std::clamp<int64_t>(std::min(wanted, step_parts_by_work(p)), 1, p.H / 16 > 0 ? p.H / 16 : 1);
}

/// The widest layer's input size: the largest of the input weights (I or D x Hs columns).
int64_t largest_layer_input(const ProblemDesc& p) {
  int64_t largest = 0;
  for (int64_t l = 0; l < p.L; ++l) largest = std::max(largest, p.layer_input_size(l));
  return largest;
}

/// Bytes of the widest layer's input weights (GH rows of its inputs, in fp32).
int64_t input_weight_bytes(const ProblemDesc& p) {
  return p.GH() * largest_layer_input(p) * int64_t{sizeof(float)};
}

/// Whether some layer's input weights take more than 4 MiB (see default_step_block).
bool large_input_weights(const ProblemDesc& p) {
  constexpr int64_t kLargeInputWeights = int64_t{4} << 20;
  return input_weight_bytes(p) > kLargeInputWeights;
}

/// Whether the default plan runs a one-direction stack of large input weights at two
/// threads in two blocks of half the sequence each, the batch split in two. One thread
/// then projects a half (the next of this layer, or the first of the layer above) while
/// the other runs the steps of both sub-batches, each of which reads the same recurrent
/// weights, rather than the two threads running two layers' steps side by side, each
/// with its own layer's weights, and waiting for each other as the wavefront fills and
/// drains. Such an inference pass keeps one set of gates for all its layers (layout_of),
/// so only where the sequence's gates (T x N rows of GH) take no more than the stack's
/// input and recurrent weights (the sum of I + H rows over its layers) or the ring's
/// 8 MiB. Measured on the 2-core Intel machine (docs/benchmarks.md, alternated rounds
/// against blocks of 16 steps): 4-layer stacks of four- and three-gate cells at H = 1024,
/// T = 100, N = 64 1.07-1.08x in inference and 1.04x in training, four held-out shapes
/// (2-3 layers, N = 32-80, T = 50-100, one with I = 80) 1.03-1.11x; one layer 0.98-0.99x
/// (its default splits the batch already), and input weights of 4 MiB (H = 512) 0.97x,
/// which keep the rules of default_step_block. Two threads only: with more, a layer's two
/// projections would leave threads idle, and none was measured.
bool runs_in_halves(const ProblemDesc& p, int threads) {
  if (threads != 2 || p.D != 1 || p.L < 2 || p.N < 8 * threads || !large_input_weights(p)) {
    return false;
  }
  int64_t weight_rows = 0;
  for (int64_t l = 0; l < p.L; ++l) weight_rows += p.layer_input_size(l) + p.H;
  return p.T <= std::max(kGateElements / p.GH(), weight_rows) / p.N;  // (T x N could overflow)
}

/// Steps per block of a plan in two halves (runs_in_halves).
int64_t halves_step_block(const ProblemDesc& p) { return (p.T + 1) / 2; }

/// Whether plan is the plan in two halves that choose_plan makes where runs_in_halves:
/// half the sequence per step block, the batch in one split per thread.
bool plan_in_halves(const ProblemDesc& p, const Plan& plan) {
  return runs_in_halves(p, plan.threads) && plan.step_block == halves_step_block(p) &&
         plan.batch_splits == plan.threads;
}

/// Whether a pass below 8 rows takes the whole sequence as one step block, where its
/// gates (T x N rows of GH) take no more than the ring's 8 MiB (kGateElements) or the
/// widest layer's input and recurrent weights (I + H rows of GH), whichever is more (a
/// block in between would give none of what follows and stall the wavefront across
/// layers): a block of 16 steps is 16 rows, few for the packed kernel to share each weight
/// panel among (a four-gate layer's projection at H = 1024, N = 1: 68 us a row in blocks
/// of 16, 41 in one of 100). A one-direction stack then runs a layer at a time, each step
/// split across the threads (natural_parallelism), so that every core reads the one
/// layer's recurrent weights, most likely from the L3 where they fit, instead of each core
/// streaming its own layer's. Measured on the 2-core AMD machine at H = 1024, N = 1
/// (docs/benchmarks.md), with the chain runtime by parts: cells of three and four gates
/// 1.10-1.53x as fast at two threads, one direction and two, inference and training;
/// 0.92-1.22x at one (three of twelve below 1.02x, within noise). Within the weights rather
/// than 8 MiB: six held-out shapes of 600-1500 rows 1.19-1.49x as fast at two threads,
/// 1.05-1.11x at one, where blocks of 16 steps had been behind oneDNN in some rounds (at
/// T = 1000, N = 1 and at 6-7 rows). Such an inference pass keeps one set of gates for all
/// its layers (layout_of): its peak memory was below oneDNN's on the six shapes measured
/// (5-31 MiB below each layer keeping its own).
/// Every bidirectional stack takes it (the directions are its chains), every stack whose
/// input weights exceed 4 MiB (the rule's first form), a single layer whose steps are large
/// enough to split across the threads (step_parts_by_work; else the projection of the
/// next block of 16 steps runs beside this block's steps, and nothing beside a whole
/// sequence's), and a stack of one direction whose input weights exceed 1 MiB (at or
/// below 1 MiB, its layers side by side, each core's layers' weights in its own cache,
/// were faster than a layer at a time). Measured on the 2-core Intel machine at T = 100, N = 1
/// (docs/benchmarks.md, alternated rounds against blocks of 16 steps): at two threads
/// 1.02-2.1x on the medians of the 22 grid configurations the rule changes, slower on the
/// one left out, a one-gate layer of H = 256 (0.93-0.95x); at one thread 0.99-1.10x.
/// One-direction stacks of 4 layers and input weights of 0.25-1 MiB were slower so
/// (0.50-0.95x at two threads in single runs), those of 1.56-2.25 MiB faster (1.10-2.2x).
bool projects_whole_sequences(const ProblemDesc& p) {
  constexpr int64_t kLayerAtATimeInputWeights = int64_t{1} << 20;
  if (p.D == 2 || large_input_weights(p)) return true;
  if (p.L == 1) return step_parts_by_work(p) >= 2;
  return input_weight_bytes(p) > kLayerAtATimeInputWeights;
}

int64_t default_step_block(const ProblemDesc& p) {
  // About 64 rows per projection GEMM; at most 16 steps so the next layer starts early
  // (but see below 8 rows).
  const int64_t by_rows = std::clamp<int64_t>((64 + p.N - 1) / p.N, 1, 16);
  // Below 8 rows, the whole sequence where its gates fit (projects_whole_sequences).
  const int64_t largest = largest_layer_input(p);
  const int64_t gate_rows = std::max(kGateElements / p.GH(), largest + p.H);  // of T x N
  if (p.N < 8 && projects_whole_sequences(p) && p.T <= gate_rows / p.N) return p.T;
  // A layer's input weights of more than 4 MiB are read from beyond the L2 by every block
  // that projects with them: blocks of 256 rows read them a quarter as often as blocks of
  // 64. Measured at N = 64 on a 1 MiB-L2 core (docs/benchmarks.md, alternated rounds): a
  // bidirectional four-gate training pass at H = 1024 2-3% faster at one thread, a 4-layer
  // bidirectional three-gate stack's inference 6% at two threads; in inference at one
  // thread 2-10% for every cell of three or four gates at H = 1024 and the bidirectional
  // one-gate stack (input weights of 8-32 MiB), 2.5% slower for the one-gate cell's
  // one-direction stack (4 MiB), which keeps 64 rows; and again, with the gates in a
  // ring (gate_ring_blocks), 3-15% faster on the medians of six such inference passes.
  if (!large_input_weights(p)) return by_rows;
  const int64_t block = std::max(by_rows, std::clamp<int64_t>((256 + p.N - 1) / p.N, 1, 16));
  // Else up to 16 steps, as long as two blocks' gates (the ring of an inference pass,
  // gate_ring_blocks) take no more than those rows: with a layer's input and recurrent
  // weights both beyond the L2, each block's projection evicts recurrent weights that
  // the block's steps then read again, so fewer, longer blocks leave more steps finding
  // them in the cache. Measured on the 2-core Intel machine at H = 1024, N = 64, T = 100
  // (docs/benchmarks.md, alternated rounds, blocks of 16 steps against 4, twelve passes
  // of stacks of four- and three-gate cells at one thread and two): 1.02-1.07x on the
  // medians of six of the seven inference passes, level on the one-layer three-gate
  // cell's at one thread (0.99x, 0.98-1.03 over the rounds); 1.00-1.04x on the five
  // training passes; the one-gate cell's 4-layer bidirectional stack, whose upper layers
  // take the rule, 1.02-1.05x in three passes.
  return std::max(block, std::min<int64_t>(16, gate_rows / (2 * p.N)));
}

}  // namespace

int64_t natural_parallelism(const ProblemDesc& p, int64_t step_block) {
  return p.D == 2 ? 2 : covers_sequence(p, step_block) ? 1 : std::min<int64_t>(p.L, p.T);
}

namespace {

/// Whether a step task may compute its input projection at all (see steps_project_input).
bool steps_may_project(const ProblemDesc& p) {
  // Asked per step: the cheapest test first (most plans below N = 64 have larger blocks).
  if (p.plan.step_block != 1 || p.bf16) return false;  // bf16 passes keep their projection
  const int64_t chains =
      natural_parallelism(p, p.plan.step_block) * p.plan.batch_splits * p.plan.hidden_splits;
  return p.plan.threads <= chains && p.H % kernels::kPanelWidth == 0;
}

/// Whether layer l's first product can take the projection into its register tiles.
bool fusable(const ProblemDesc& p, int64_t l) {
  // Measured on a 1 MiB-L2 core at batch 64, one thread: 7% faster at I = H = 256, where a
  // tile's panels of both weights take 128 KiB; 5% faster for a bidirectional stack's
  // upper layers (I = 512, H = 256: 192 KiB); 8% slower at I = H = 512 (256 KiB), where
  // they and the rows of both inputs no longer fit the L2 together. Two threads on two
  // chains (sub-batches, directions or layers): within noise or faster (up to 6%).
  constexpr int64_t kTilePanelBytes = 192 << 10;
  constexpr int64_t kTilePanels = 4;
  const cells::Dims dims = p.dims(l);
  const cells::ProductDecl& first = p.cell->stages[0].products[0];
  const int64_t k = dims.input + p.cell->params[first.param].cols.of(dims);
  return first.c.where == cells::Where::gates && first.c.col.of(dims) == 0 && first.accumulate &&
         first.rows.of(dims) == p.GH() &&
         k * kernels::kPanelWidth * kTilePanels * int64_t{sizeof(float)} <= kTilePanelBytes;
}

}  // namespace

bool steps_project_input(const ProblemDesc& p, int64_t l) {
  // Apart from the cell's products only in inference at one thread, where it lets the pass
  // keep one slot of gates. Measured there at N = 64 on the Intel machine (alternated
  // rounds): 5-7% faster where the products write buffers of their own (H = 256, one layer
  // and four) or the fused tiles would not fit the L2 (I = H = 512). At two threads a
  // 4-layer stack of H = 1024 was 3-5% slower (the projection tasks fill a thread's
  // waits), and a training pass of H = 1024, whose gates are kept, 3% slower on the median.
  return steps_may_project(p) && (fusable(p, l) || (p.plan.threads == 1 && !p.training));
}

bool steps_fuse_input(const ProblemDesc& p, int64_t l) { return steps_may_project(p) && fusable(p, l); }

int64_t projection_parts(const ProblemDesc& p) {
  // With several blocks, the next block's projection runs beside this one's steps; split,
  // the projections of blocks of 16 steps at H = 256, N = 1 made inference 2-3% slower.
  const bool whole = covers_sequence(p, p.plan.step_block) && p.H % kernels::kPanelWidth == 0;
  return whole ? p.plan.hidden_splits : 1;
}

int64_t input_grad_block(const ProblemDesc& p) {
  // Measured at H = 1024, N = 1 on two threads against one task per layer: bidirectional
  // training of cells of three and four gates 1.03-1.07x (its one task, both directions'
  // products, left a core idle 41 of 206 ms in a 4-layer backward pass); one direction, whose steps
  // are split across the threads already, 0.91-0.95x (most likely: shares of 50 rows
  // read the weights twice as often, for little overlap).
  // Below 8 rows only, where it was measured (and where a share of few rows costs least).
  const int64_t threads = p.plan.threads;
  if (!covers_sequence(p, p.plan.step_block) || threads <= 1 || p.D == 1 || p.N >= 8) {
    return p.plan.step_block;
  }
  return (p.T + threads - 1) / threads;
}

bool runs_by_chains(const ProblemDesc& p, bool backward) {
  // Measured against the dataflow runtime at 2 threads (docs/benchmarks.md): whole
  // chains ahead on one-direction stacks below 8 rows, where a step is bound by reading
  // its weights; at 8 rows a tie, from 16 rows and on bidirectional stacks behind, where
  // the dataflow runtime balances the load better (weight and input gradients go to
  // whichever core is free). Forward graphs of a layer at a time: ahead with one
  // direction (1.01-1.17x on the medians) and two (1.02-1.10x in inference).
  const Plan& plan = p.plan;
  if (plan.schedule != Schedule::wavefront || plan.threads == 1 || plan.batch_splits != 1 ||
      p.N >= 8) {
    return false;
  }
  // A layer at a time, each thread one direction's part of every step, or at two threads
  // the same part of both directions, direction 0's steps first (chain_of_tasks,
  // directions_in_turn; other thread counts were not measured that way): forward passes
  // only, whose graphs hold little but their steps and projections; a backward pass's
  // weight gradients are one task per layer and direction, and would hold one chain back.
  const bool in_turn = p.D == 2 && plan.threads == 2 && plan.hidden_splits == 2;
  if (!backward && covers_sequence(p, plan.step_block) &&
      (p.D * plan.hidden_splits == plan.threads || in_turn)) {
    return true;
  }
  return p.D == 1 && plan.hidden_splits == 1 && plan.threads <= natural_parallelism(p, plan.step_block);
}

int resolve_threads(const ExecOptions& options) {
  // Far more threads than cores only adds contention; a typo like 10000 should not
  // start ten thousand threads.
  constexpr int kMaxThreads = 1024;
  if (options.threads < 0 || options.threads > kMaxThreads) {
    fail("threads must be in [0, ", kMaxThreads, "] (0 = all cores), got ", options.threads);
  }
  return options.threads == 0 ? omp_get_num_procs() : options.threads;
}

int64_t weight_grad_block(int64_t steps, int64_t batch) {
  // Each block reads and writes every weight gradient of its (layer, direction) once, so
  // the rows (steps x batch) it adds must outweigh those bytes: at 512 rows a product
  // does 512 multiply-adds for each gradient element it reads and writes (8 bytes); with
  // 32 steps at N = 1 (the earlier rule) the gradients of a large layer were bound by
  // memory bandwidth. At most 128 steps, so that on long sequences a layer's weight
  // gradients start long before its backward pass ends.
  constexpr int64_t kMaxSteps = 128;
  // A pass of one sequence keeps every block on the packed kernel, off sgemm's buffers.
  static_assert(kMaxSteps <= kernels::kPackedWeightGradMaxRows,
                "the blocks of one sequence must stay within the packed weight-gradient rule");
  const int64_t block = std::clamp<int64_t>((512 + batch - 1) / batch, 1, kMaxSteps);
  return std::min(block, steps);
}

bool backward_in_lock_step(const ProblemDesc& p) {
  // Where the graph has little to overlap: a single layer, or a stack in two halves (whose
  // layers wait for each other's half-sequence input gradients). There the lock step
  // wins, most likely because both cores read the same recurrent weights at the same time
  // (traces of a 4-layer four-gate stack's training at H = 1024, N = 64: a backward step
  // of 32 rows 2.04 ms beside another step of the graph, 1.87 ms in lock step). Measured
  // on the 2-core Intel machine (docs/benchmarks.md, alternated rounds against the
  // graph, training): single layers of one, three and four gates 1.02-1.19x at
  // H = 256-1024 and N = 8-64 (six shapes), a bidirectional one-gate layer 0.97-0.99x (two
  // sets of rounds); two halves 1.02-1.03x on the grid's 4-layer stacks of H = 1024 and
  // 1.02-1.04x on three held-out stacks (2-4 layers, N = 32-64, T = 60-150). Other stacks
  // keep the graph, which overlaps a layer's steps with the layer above: 0.90-0.98x the
  // other way at H = 256-768, 1.00-1.03x at H = 1024. Two threads only, and from 8 rows:
  // no other was measured.
  if (p.plan.schedule != Schedule::wavefront || p.plan.threads != 2 || p.N < 8) return false;
  return p.L == 1 || plan_in_halves(p, p.plan);
}

Plan choose_plan(const ProblemDesc& p, const ExecOptions& options) {
  if (options.step_block < 0) fail("step_block must be >= 0 (0 = automatic), got ", options.step_block);
  if (options.batch_splits < 0) {
    fail("batch_splits must be >= 0 (0 = automatic), got ", options.batch_splits);
  }
  if (options.hidden_splits < 0) {
    fail("hidden_splits must be >= 0 (0 = automatic), got ", options.hidden_splits);
  }
  Plan plan;
  plan.schedule = options.schedule;
  plan.threads = options.schedule == Schedule::sequential ? 1 : resolve_threads(options);
  plan.weight_block = weight_grad_block(p.T, p.N);
  if (options.schedule == Schedule::layerwise) {
    // Whole layers: one projection over all steps, each step over all rows.
    plan.step_block = p.T;
    return plan;
  }
  // Halves are a step block and a split together: only where neither is asked for.
  const bool halves = options.step_block == 0 && options.batch_splits == 0 &&
                      runs_in_halves(p, plan.threads);
  plan.step_block = options.step_block > 0 ? std::min(options.step_block, p.T)
                    : halves               ? halves_step_block(p)
                                           : std::min(default_step_block(p), p.T);
  // A requested split count is capped at the batch: the last batch of an epoch may be
  // smaller than the others.
  plan.batch_splits = options.batch_splits > 0 ? std::min(options.batch_splits, p.N)
                      : halves                 ? plan.threads
                                               : default_splits(p, plan.threads, plan.step_block);
  // Parts of at least one panel (16 units); none for a cell whose step needs all its
  // units between two products.
  const int64_t panels = (p.H + 15) / 16;
  const int64_t parts = options.hidden_splits > 0
                            ? options.hidden_splits
                            : default_hidden_splits(p, plan.threads, plan.step_block,
                                                    plan.batch_splits);
  plan.hidden_splits = p.cell->splits_by_units() ? std::clamp<int64_t>(parts, 1, panels) : 1;
  return plan;
}

ProblemDesc describe_problem(const ModelSpec& spec, int64_t steps, int64_t batch, bool training,
                             bool dropout, bool identity_order, const ExecOptions& options) {
  ProblemDesc p;
  p.spec = spec;
  p.cell = &cells::cell_definition(spec);
  p.L = spec.layers;
  p.D = spec.directions();
  p.I = spec.input_size;
  p.H = spec.hidden_size;
  p.G = p.cell->gates;
  p.Hs = spec.output_size();
  p.reverse_only = spec.reverse;
  const cells::Dims dims = p.dims(0);
  p.states = static_cast<int64_t>(p.cell->states.size());
  for (int64_t k = 0; k < p.states; ++k) p.state_width[k] = p.cell->states[k].width.of(dims);
  p.buffers = static_cast<int64_t>(p.cell->buffers.size());
  for (int64_t b = 0; b < p.buffers; ++b) p.buffer_width[b] = p.cell->buffers[b].width.of(dims);
  p.T = steps;
  p.N = batch;
  p.training = training;
  p.dropout = training && dropout;
  p.identity_order = identity_order;
  p.bf16 = options.precision == Precision::bf16;
  p.plan = choose_plan(p, options);
  p.layout = layout_of(p);
  return p;
}

}  // namespace rnnwave
