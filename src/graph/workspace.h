// The memory of a forward/backward pass and the addressing of every cell in it.
//
// Layout (the "halo" idea of oneDNN's RNN workspace): hidden states of layer l live in
// one buffer of T+2 time slots, each [N, D*Hs] with the directions side by side, so that
//   - the output of step t is slot t+1, and slots 1..T are the next layer's input as
//     one dense [T, N, D*Hs] matrix (no concatenation copies);
//   - the state a step reads is always a slot too: slot t for a direction walking forward
//     in time, slot t+2 for one walking backward. The initial states are placed in those
//     slots before the pass: slot 0 (forward) and, for a sequence of length len, slot
//     len+1 (backward, which starts at the sequence's own last step). Every cell then
//     reads and writes whole row prefixes at uniform addresses, with no edge cases and no
//     masks.
// The cell's other states (e.g. a memory cell c) have the same T+2 slots per (layer,
// direction); its step buffers one [N, w] matrix per step (one in all in inference, see
// gates()), its scratch buffers one per (layer, direction). In inference the top layer's
// slots 1..T may be the caller's output itself (direct_output). The gradients flowing
// along a direction (grad_state) use the same slots mirrored: the gradient into the state
// of slot s is grad_state slot s.
//
// Which rows are zeroed, and why: state rows that no step writes (past a sequence's end,
// and the last slot) are zeroed before each pass, since the layer above reads them as
// input and the weight-gradient products read them as previous states (times a zero
// gradient: they must be finite). The backward step zeroes the gate gradients and the
// step buffers of the rows that have finished, so the products over blocks of steps can
// include them harmlessly.
#pragma once

#include <cstdint>

#include "common/aligned_buffer.h"
#include "graph/batch_order.h"
#include "graph/problem.h"
#include "rnnwave/rnn.h"

namespace rnnwave {

template <class T>
using Mat = cells::Mat<T>;

template <class T>
struct BasicWorkspace<T>::Impl {
  // The problem of the last forward pass.
  ProblemDesc desc;
  BatchOrder order;
  double dropout = 0;           // inter-layer dropout probability of the pass
  uint64_t dropout_seed = 0;
  int64_t dropout_first_layer = 0;  // ForwardArgs::dropout_first_layer
  const void* owner = nullptr;  // the model whose training forward filled this workspace
  bool has_forward = false;     // a training forward ran and backward may follow

  /// Takes the problem of a forward pass and makes room for its buffers. Throws Error
  /// (before allocating) if they would not fit in memory.
  void prepare(const ProblemDesc& problem, double dropout_p = 0, uint64_t seed = 0, int64_t first_layer = 0);
  /// Makes room for the buffers of the backward pass.
  void prepare_backward();
  int64_t bytes() const { return forward_.bytes() + backward_.bytes(); }

  static int64_t out_slot(int64_t t) { return t + 1; }
  static int64_t prev_slot(bool walks_back, int64_t t) { return walks_back ? t + 2 : t; }
  int64_t prev_slot_of(int64_t d, int64_t t) const { return prev_slot(desc.walks_back(d), t); }

  // Forward buffers.
  T* input() { return fwd(desc.layout.input); }  // [T, N, I] (internal order)
  /// Layer l's output at `slot`: [N, D*Hs], direction d at column d*Hs.
  T* h(int64_t l, int64_t slot) {
    if (direct_output != nullptr && l == desc.L - 1 && slot >= 1 && slot <= desc.T) {
      return direct_output + (slot - 1) * desc.N * desc.ld_h();
    }
    return fwd(desc.layout.state[0] + (l * (desc.T + 2) + slot) * desc.N * desc.ld_h());
  }
  /// State k of (l, d) at `slot`.
  Mat<T> state(int64_t k, int64_t l, int64_t d, int64_t slot) {
    if (k == 0) return {h(l, slot) + d * desc.Hs, desc.ld_h()};
    const int64_t w = desc.state_width[k];
    return {fwd(desc.layout.state[k] + ((l * desc.D + d) * (desc.T + 2) + slot) * desc.N * w), w};
  }
  /// The gates of step t of (l, d), [N, G*H]. In inference where every step projects its
  /// own input, one slot per (l, d) serves every step: nothing reads a step's gates after
  /// it, and the next step of (l, d) waits for it (its previous state). Where projection
  /// tasks fill them ahead, a ring of whole blocks may (gate_ring_blocks): the rows of a
  /// block stay contiguous, one product's output. In inference with a slot per step, the
  /// layers share one set (gate_layers = 1): the gates of layer l at step t are written, by
  /// its projection or its step, only once the layer below has passed step t in every
  /// direction (they are computed from its output), and nothing reads a step's gates after
  /// its own step. Where a slot serves several steps (a ring, or one slot), it may not be
  /// shared: the layers of a wavefront run side by side.
  Mat<T> gates(int64_t l, int64_t d, int64_t t) {
    const int64_t slot = t % desc.layout.gate_slots;
    const int64_t layer = desc.layout.gate_layers == 1 ? 0 : l;
    const int64_t index = (layer * desc.D + d) * desc.layout.gate_slots + slot;
    return {fwd(desc.layout.gates + index * desc.N * desc.GH()), desc.GH()};
  }
  /// The cell's buffer b of (l, d) at step t (t is ignored for a scratch buffer).
  Mat<T> buffer(int64_t b, int64_t l, int64_t d, int64_t t) {
    const int64_t w = desc.buffer_width[b];
    const bool step = desc.cell->buffers[b].life == cells::Life::step;
    // Step buffers share one slot in inference, as the gates may (see gates()).
    const int64_t slots = desc.layout.step_slots;
    const int64_t index = step ? (l * desc.D + d) * slots + t % slots : l * desc.D + d;
    return {fwd(desc.layout.buffer[b] + index * desc.N * w), w};
  }
  /// Layer l's input after dropout, l >= 1: [N, D*Hs] at step t.
  T* dropped(int64_t l, int64_t t) {
    return fwd(desc.layout.dropped + ((l - 1) * desc.T + t) * desc.N * desc.ld_h());
  }
  /// Input of layer l at step t: [N, layer_input_size(l)].
  Mat<T> layer_input(int64_t l, int64_t t) {
    const int64_t in = desc.layer_input_size(l);
    if (l == 0) return {const_cast<T*>(input_ptr) + t * desc.N * in, in};
    return {dropout > 0 ? dropped(l, t) : h(l - 1, out_slot(t)), in};
  }

  // Backward buffers.
  /// Gradient into the output of layer l at step t, [N, D*Hs]: from layer l+1, or the
  /// gradient of the network output for the top layer.
  Mat<T> dh_above(int64_t l, int64_t t) {
    if (l == desc.L - 1) return {const_cast<T*>(grad_output_ptr) + t * desc.N * desc.ld_h(), desc.ld_h()};
    return {dh_above_buffer(l, t), desc.ld_h()};
  }
  T* grad_output() { return dh_above_buffer(desc.L - 1, 0); }
  /// Gradient into state k of (l, d) at `slot`.
  Mat<T> grad_state(int64_t k, int64_t l, int64_t d, int64_t slot) {
    const int64_t w = desc.state_width[k];
    return {bwd(desc.layout.grad_state[k] + ((l * desc.D + d) * (desc.T + 2) + slot) * desc.N * w),
            w};
  }
  T* grad_input() { return bwd(desc.layout.grad_input); }  // [T, N, I]
  /// Where layer l's input gradient goes at step t: [N, layer_input_size(l)].
  Mat<T> layer_input_grad(int64_t l, int64_t t) {
    const int64_t in = desc.layer_input_size(l);
    return {l == 0 ? grad_input_ptr + t * desc.N * in : dh_above_buffer(l - 1, t), in};
  }

  // Set per call: where the input is read from, and where the output gradient and the
  // input gradient live (the caller's buffers when the batch order is the identity).
  const T* input_ptr = nullptr;
  /// The caller's output [T, N, D*Hs] where the top layer's steps write their h into it
  /// directly, as its slots 1..T (place_output says when), else null.
  T* direct_output = nullptr;
  const T* grad_output_ptr = nullptr;
  T* grad_input_ptr = nullptr;

 private:
  T* fwd(int64_t offset) { return forward_.data() + offset; }
  T* bwd(int64_t offset) { return backward_.data() + offset; }
  T* dh_above_buffer(int64_t l, int64_t t) {
    return bwd(desc.layout.dh_above + (l * desc.T + t) * desc.N * desc.ld_h());
  }

  AlignedBuffer<T> forward_, backward_;
};

namespace detail {
/// The engine's access to a workspace's contents (a friend of BasicWorkspace).
struct WorkspaceAccess {
  template <class T>
  using Impl = typename BasicWorkspace<T>::Impl;
  template <class T>
  static Impl<T>& impl(BasicWorkspace<T>& workspace) {
    return *workspace.impl_;
  }
};
}  // namespace detail

template <class T>
using WorkspaceImpl = detail::WorkspaceAccess::Impl<T>;

}  // namespace rnnwave
