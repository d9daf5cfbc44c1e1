// The memory of a forward/backward pass and the addressing of every cell in it.
//
// Layout (the "halo" idea of oneDNN's RNN workspace): hidden states of layer l live in
// one buffer of T+2 time slots, each [N, D*H] with the directions side by side, so that
//   - the output of step t is slot t+1, and slots 1..T are the next layer's input as
//     one dense [T, N, D*H] matrix (no concatenation copies);
//   - the state a step reads is always a slot too: slot t for the forward direction,
//     slot t+2 for the reverse one. The initial states are placed in those slots before
//     the pass: slot 0 (forward) and, for a sequence of length len, slot len+1 (reverse,
//     which starts at the sequence's own last step). Every cell then reads and writes
//     whole row prefixes at uniform addresses, with no edge cases and no masks.
// Gradients flowing along a direction (drec_h, drec_c) use the same slots mirrored: the
// gradient into the state of slot s is drec slot s.
#pragma once

#include <cstdint>

#include "common/aligned_buffer.h"
#include "graph/batch_order.h"
#include "rnnwave/model.h"
#include "rnnwave/rnn.h"

namespace rnnwave {

template <class T>
struct BasicWorkspace<T>::Impl {
  // The problem of the last forward pass.
  ModelSpec spec;
  BatchOrder order;
  int64_t L = 0, D = 0, T_ = 0, N = 0, H = 0, G = 0, I = 0;
  double dropout = 0;           // inter-layer dropout probability of the pass
  uint64_t dropout_seed = 0;
  const void* owner = nullptr;  // the model whose training forward filled this workspace
  bool has_forward = false;     // a training forward ran and backward may follow

  /// Sizes the buffers for a problem; training also keeps the input. Throws Error
  /// (before allocating) if the workspace would not fit in memory.
  /// `dropout` > 0 (training only) keeps a masked copy of every layer's input above the
  /// first.
  void prepare(const ModelSpec& model, BatchOrder batch_order, bool training, double dropout = 0,
               uint64_t dropout_seed = 0);
  /// Sizes the buffers of the backward pass.
  void prepare_backward();
  int64_t bytes() const { return forward_.bytes() + backward_.bytes(); }

  static int64_t out_slot(int64_t t) { return t + 1; }
  static int64_t prev_slot(int64_t direction, int64_t t) { return direction == 0 ? t : t + 2; }
  int64_t ld_h() const { return D * H; }

  // Forward buffers.
  T* input() { return forward_.data() + off_input_; }            // [T, N, I] (internal order)
  T* h(int64_t l, int64_t slot) {                                // [N, D*H]
    return forward_.data() + off_h_ + ((l * (T_ + 2)) + slot) * N * D * H;
  }
  T* gates(int64_t l, int64_t d, int64_t t) {                    // [N, G*H]
    return forward_.data() + off_gates_ + ((l * D + d) * T_ + t) * N * G * H;
  }
  T* c(int64_t l, int64_t d, int64_t slot) {                     // [N, H], LSTM
    return forward_.data() + off_c_ + ((l * D + d) * (T_ + 2) + slot) * N * H;
  }
  T* gru_hn(int64_t l, int64_t d, int64_t t) {                   // [N, H], GRU
    return forward_.data() + off_hn_ + ((l * D + d) * T_ + t) * N * H;
  }
  T* gru_recurrent(int64_t l, int64_t d) {                       // [N, 3H], GRU scratch
    return forward_.data() + off_rec_ + (l * D + d) * N * G * H;
  }
  /// Layer l's input after dropout, l >= 1: [N, D*H] at step t.
  T* dropped(int64_t l, int64_t t) {
    return forward_.data() + off_dropped_ + ((l - 1) * T_ + t) * N * D * H;
  }
  /// Input of layer l at step t: [N, layer_input_size(l)] with that row stride.
  const T* layer_input(int64_t l, int64_t t) {
    if (l == 0) return input_ptr + t * N * I;
    return dropout > 0 ? dropped(l, t) : h(l - 1, out_slot(t));
  }
  int64_t layer_input_size(int64_t l) const { return l == 0 ? I : D * H; }

  // Backward buffers.
  /// Gradient into the output of layer l at step t, [N, D*H]: from layer l+1, or the
  /// gradient of the network output for the top layer.
  const T* dh_above(int64_t l, int64_t t) {
    return l == L - 1 ? grad_output_ptr + t * N * D * H : dh_above_buffer(l, t);
  }
  T* grad_output() { return backward_.data() + off_dh_above_ + (L - 1) * T_ * N * D * H; }
  T* drec_h(int64_t l, int64_t d, int64_t slot) {                // [N, H]
    return backward_.data() + off_drec_h_ + ((l * D + d) * (T_ + 2) + slot) * N * H;
  }
  T* drec_c(int64_t l, int64_t d, int64_t slot) {                // [N, H], LSTM
    return backward_.data() + off_drec_c_ + ((l * D + d) * (T_ + 2) + slot) * N * H;
  }
  T* grad_input() { return backward_.data() + off_grad_input_; }  // [T, N, I]
  /// Where layer l's input gradient goes at step t: [N, layer_input_size(l)].
  T* layer_input_grad(int64_t l, int64_t t) {
    return l == 0 ? grad_input_ptr + t * N * I : dh_above_buffer(l - 1, t);
  }

  // Set per call: where the input is read from, and where the output gradient and the
  // input gradient live (the caller's buffers when the batch order is the identity).
  const T* input_ptr = nullptr;
  const T* grad_output_ptr = nullptr;
  T* grad_input_ptr = nullptr;

 private:
  T* dh_above_buffer(int64_t l, int64_t t) {
    return backward_.data() + off_dh_above_ + (l * T_ + t) * N * D * H;
  }

  AlignedBuffer<T> forward_, backward_;
  int64_t off_input_ = 0, off_h_ = 0, off_gates_ = 0, off_c_ = 0, off_hn_ = 0, off_rec_ = 0;
  int64_t off_dropped_ = 0;
  int64_t off_dh_above_ = 0, off_drec_h_ = 0, off_drec_c_ = 0, off_grad_input_ = 0;
};

}  // namespace rnnwave
