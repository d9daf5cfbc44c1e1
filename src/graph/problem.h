// The one descriptor of a pass (like oneDNN's rnn_conf_t): the sizes of the model and the
// call, the cell definition, the plan (how the pass is cut into tasks) and the layout of
// the workspace, computed once per call, before any work. Every part of the engine reads
// its sizes here.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "cells/cell_def.h"
#include "rnnwave/model.h"
#include "rnnwave/rnn.h"
#include "rnnwave/schedule.h"

namespace rnnwave {

/// Element offsets of the regions of a pass's two buffers (see workspace.h for what each
/// holds and why).
struct WorkspaceLayout {
  // Forward buffer.
  int64_t input = 0;                                 // [T, N, I], when the input is copied
  std::array<int64_t, cells::kMaxStates> state{};    // h: [L, T+2, N, D*Hs]; others [L*D, T+2, N, w]
  int64_t gates = 0;                                 // [gate_layers, D, gate_slots, N, G*H]
  std::array<int64_t, cells::kMaxBuffers> buffer{};  // step: [L*D, step_slots, N, w]; scratch: [L*D, N, w]
  // Steps whose gates (and step buffers) are kept: T, or 1 where nothing reads them after
  // their own step (workspace.h says when), so every step reuses memory still in cache;
  // or, in inference with projection tasks, a ring of gate_ring_blocks step blocks.
  int64_t gate_slots = 0;
  int64_t step_slots = 0;
  // 0, or the blocks of the gates' ring: the projection of a block then waits for the
  // steps of the block that used its slots before (task_graph.cpp).
  int64_t gate_ring_blocks = 0;
  // L, or 1 where the layers share one set of gates: in inference with a slot per step
  // (workspace.h says why that is safe).
  int64_t gate_layers = 0;
  int64_t dropped = 0;                               // [L-1, T, N, D*Hs], with dropout
  int64_t forward_size = 0;
  // Backward buffer.
  int64_t dh_above = 0;                                  // [L, T, N, D*Hs]
  std::array<int64_t, cells::kMaxStates> grad_state{};  // [L*D, T+2, N, w]
  int64_t grad_input = 0;                                // [T, N, I], when rows are reordered
  int64_t backward_size = 0;
};

struct ProblemDesc {
  // The model (glossary of model.h).
  ModelSpec spec;
  const cells::CellDef* cell = nullptr;
  int64_t L = 0, D = 0, I = 0, H = 0, G = 0;
  int64_t Hs = 0;             // width of h (P with a projection, else H)
  bool reverse_only = false;  // one direction, walking t = T-1 .. 0
  int64_t states = 0, buffers = 0;
  std::array<int64_t, cells::kMaxStates> state_width{};
  std::array<int64_t, cells::kMaxBuffers> buffer_width{};
  // The call.
  int64_t T = 0, N = 0;
  bool training = false;        // a training forward: the input is kept for backward
  bool dropout = false;         // inter-layer dropout masks (training only)
  bool identity_order = true;   // rows already sorted by length: caller buffers as they are
  bool bf16 = false;            // products in bf16 (ExecOptions::precision, inference only)
  // The plan.
  Plan plan;
  // The layout.
  WorkspaceLayout layout;

  int64_t GH() const { return G * H; }
  int64_t ld_h() const { return D * Hs; }  // row stride of a layer's output
  int64_t layer_input_size(int64_t l) const { return l == 0 ? I : D * Hs; }
  cells::Dims dims(int64_t l) const { return {H, Hs, layer_input_size(l)}; }
  bool copies_input() const { return training || !identity_order; }
  /// Whether direction d walks backward in time (t = T-1 .. 0).
  bool walks_back(int64_t d) const { return reverse_only || d == 1; }
  /// Sub-batch s owns rows [split_row(s), split_row(s+1)).
  int64_t split_row(int64_t s) const { return s * N / plan.batch_splits; }
  /// Part p of a step computes hidden units [unit_bound(p), unit_bound(p+1)): multiples of
  /// the kernels' 16-column panels inside.
  int64_t unit_bound(int64_t p) const {
    const int64_t panels = (H + 15) / 16;
    return std::min(H, p * panels / plan.hidden_splits * 16);
  }
};

/// The sizes of a forward pass of `spec` over T steps and N rows, with its plan and
/// layout. `spec` must be valid (ModelSpec::validate).
ProblemDesc describe_problem(const ModelSpec& spec, int64_t steps, int64_t batch, bool training,
                             bool dropout, bool identity_order, const ExecOptions& options);

/// The plan of a pass of `desc`'s sizes under `options`: the schedule's threads, step
/// block, batch splits, hidden splits and weight-gradient block. Validates the options.
Plan choose_plan(const ProblemDesc& desc, const ExecOptions& options);

/// Independent chains the graph offers without splitting the batch, with projection
/// blocks of `step_block` steps: the two directions, and for a one-direction stack the
/// wavefront across layers, unless a block is the whole sequence (a layer's projection
/// then waits for all of the layer below: one layer runs at a time).
int64_t natural_parallelism(const ProblemDesc& p, int64_t step_block);

/// Whether the wavefront runs the forward (backward = false) or backward graph of the
/// plan with threads that own whole chains (run_graph_by_chains) rather than the dataflow
/// runtime: fewer than 8 rows, and either a one-direction stack whose plan splits no
/// step with at least as many chains as threads (natural_parallelism: layers, where the
/// blocks are shorter than the sequence), or, for the forward graph, one layer at a time
/// (whole-sequence blocks) with one direction's part of every step per thread, or at two
/// threads the same part of both directions, direction 0's steps first (directions_in_turn,
/// problem.cpp). A thread then keeps its weights (a layer's, or its part of each layer's)
/// in its cache over a chain, where the dataflow runtime hands each core whichever task is
/// ready, and waits for the other threads by spinning, not through the runtime
/// (docs/benchmarks.md).
bool runs_by_chains(const ProblemDesc& p, bool backward);

/// Whether the forward step tasks of layer l compute their own input projection (the
/// projection tasks then do nothing): only where a separate projection task would buy no
/// parallelism (one step per projection block, and no more threads than independent
/// chains of steps), in fp32, for H a multiple of 16 (a part of a step by hidden units is
/// then whole panels of W_ih^T too), and fused (below) or else in inference at one thread.
/// A step's gates are then read within it alone, so that an inference pass keeps one slot
/// of them (workspace.h). The bits are those of the separate projection.
bool steps_project_input(const ProblemDesc& p, int64_t l);

/// Whether such a step of layer l computes the projection as part of the cell's first
/// product (gates = x W_ih^T + h W_hh^T in one pass over the gates instead of two): where
/// the product adds h W_hh^T to every gate and the two weights' panels of one register
/// tile fit the L2 beside the inputs' rows.
bool steps_fuse_input(const ProblemDesc& p, int64_t l);

/// Parts of each input-projection task: where one block is the whole sequence (nothing
/// of the layer runs beside its projection) and H is whole panels (a part's units of every
/// gate are then whole panels of W_ih^T), one task per part of the steps, by hidden units,
/// so that the projection runs on as many threads as the steps; else 1.
int64_t projection_parts(const ProblemDesc& p);

/// Steps per input-gradient task of the backward graph: the step block, but where one
/// block is the whole sequence of a bidirectional stack below 8 rows, a share of it per
/// thread (task_graph.h's input_grad_steps: not for a caller's hook), so that
/// a layer's input gradient (both directions' products) runs on every thread and the
/// layer below starts on the first share done.
int64_t input_grad_block(const ProblemDesc& p);

/// Threads a pass may use: options.threads, or every available core if 0.
int resolve_threads(const ExecOptions& options);

/// Steps per weight_grad block. It fixes the order in which weight gradients are summed,
/// so it depends on the problem only (never on threads or schedule): every schedule and
/// thread count then produces the same bits.
int64_t weight_grad_block(int64_t steps, int64_t batch);

/// Whether the wavefront schedule runs a backward pass in lock step, as the layerwise
/// schedule does (schedule_layerwise.cpp: each step split by rows over the threads, then
/// the layer's weight gradients, one chain per term, then its input gradient), rather than
/// as its task graph. The caller keeps the graph for a pipeline stage's hooks, which
/// want blocks as they come (schedule_wavefront.cpp).
bool backward_in_lock_step(const ProblemDesc& p);

/// Calls f(t0, t1) for the weight_grad blocks of a direction in the order their gradients
/// become available during the backward pass (descending steps for a direction that walks
/// forward in time, ascending for one that walks backward). Every schedule sums the
/// blocks in this order.
template <class F>
void for_each_weight_grad_block(int64_t steps, int64_t batch, bool walks_back, F&& f) {
  const int64_t block = weight_grad_block(steps, batch);
  const int64_t count = (steps + block - 1) / block;
  for (int64_t k = 0; k < count; ++k) {
    const int64_t b = walks_back ? k : count - 1 - k;
    f(b * block, std::min(steps, (b + 1) * block));
  }
}

/// Whether the weight_grad block starting at step t0 is the first of
/// for_each_weight_grad_block: that block writes the gradients, the later ones add to them,
/// so that a pass never clears the gradients before it (a pass over all the weights' bytes).
inline bool first_weight_grad_block(int64_t steps, int64_t batch, bool walks_back, int64_t t0) {
  const int64_t block = weight_grad_block(steps, batch);
  return walks_back ? t0 == 0 : t0 == (steps - 1) / block * block;
}

}  // namespace rnnwave
