// The rows of one cell step that the pointwise math reads and writes.
#pragma once

#include <cstdint>

namespace rnnwave {

/// Pointers to the first row of a block of `rows` batch rows of one (layer, direction,
/// step), in the workspace layout (see graph/workspace.h), and to its first hidden unit:
/// the math covers `units` hidden units from there (all H, or a block of them when a step
/// is split by hidden units). Row strides: `ld_h` (= D*H) for hidden states and the
/// gradient from the layer above, G*H for gates, H for cell states and per-direction
/// recurrent gradients; gate g of unit j is at column g*H + j. Each cell kind uses what it
/// needs.
template <class T>
struct StepBuffers {
  int64_t rows = 0;
  int64_t hidden = 0;  // H: the strides
  int64_t units = 0;   // hidden units to compute, from the pointers on
  int64_t ld_h = 0;    // D*H

  // Forward.
  T* gates = nullptr;         // [rows, G*H]: in: x W_ih^T (+ h W_hh^T except GRU); out: saved activations
  const T* recurrent = nullptr;  // GRU: [rows, 3H] = h W_hh^T
  T* gru_hn = nullptr;        // GRU: [rows, H] saved W_hn h + b_hn
  const T* bias = nullptr;    // [G*H]: b_ih + b_hh (GRU: b_ih)
  const T* bias_hh = nullptr;  // GRU: [3H] b_hh
  const T* h_prev = nullptr;  // [rows, ld_h]
  T* h_out = nullptr;         // [rows, ld_h]
  const T* c_prev = nullptr;  // LSTM: [rows, H]
  T* c_out = nullptr;         // LSTM: [rows, H]

  // Backward: gates and gru_hn are overwritten with the pre-activation gradients.
  const T* dh_above = nullptr;  // [rows, ld_h]: from the layer above or the output
  const T* dh_next = nullptr;   // [rows, H]: from this direction's next step
  const T* dc_next = nullptr;   // LSTM: [rows, H]
  T* dh_prev = nullptr;         // GRU: [rows, H] receives dh*z (the GEMM adds the rest)
  T* dc_prev = nullptr;         // LSTM: [rows, H]
};

}  // namespace rnnwave
