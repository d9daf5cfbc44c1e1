// The pointwise math of one cell step of the reference RNN, forward and backward.
//
// Internal to the reference (tests/reference/); shares nothing with src/. One sequence, one
// step, plain vectors of length H (states) or G*H (gate pre-activations, PyTorch gate order).
//
// The pre-activations are kept in their two halves,
//   a_ih = W_ih x + b_ih   and   a_hh = W_hh h_prev + b_hh      (each [G*H]),
// because the GRU's candidate n = tanh(a_ih[n] + r * a_hh[n]) needs them apart. For the other
// cells only their sum matters, and the gradients of both halves are equal.
#pragma once

#include <vector>

#include "reference/reference_rnn.h"

namespace rnnref::detail {

using Vec = std::vector<double>;

// The state after one step: h [H], and c [H] for the LSTM (empty otherwise).
struct CellOutput {
  Vec h;
  Vec c;
};

// h, c = cell(a_ih, a_hh, h_prev, c_prev). c_prev is read by the LSTM only.
CellOutput cell_forward(Cell cell, int hidden_size, const Vec& a_ih, const Vec& a_hh,
                        const Vec& h_prev, const Vec& c_prev);

// The gradients of one step, given dh = dL/dh and dc = dL/dc of its outputs.
struct CellGradients {
  Vec a_ih;    // dL/da_ih [G*H]
  Vec a_hh;    // dL/da_hh [G*H]
  Vec h_prev;  // the part of dL/dh_prev that does NOT go through W_hh (GRU: z * dh; else 0)
  Vec c_prev;  // dL/dc_prev [H] (LSTM; empty otherwise)
};

// Recomputes the step's activations from its inputs and back-propagates through them.
// dc is read by the LSTM only.
CellGradients cell_backward(Cell cell, int hidden_size, const Vec& a_ih, const Vec& a_hh,
                            const Vec& h_prev, const Vec& c_prev, const Vec& dh, const Vec& dc);

}  // namespace rnnref::detail
