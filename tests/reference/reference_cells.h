// One step of one sequence of the reference RNN, forward and backward, products included.
//
// Internal to the reference (tests/reference/); shares nothing with src/. Plain vectors:
// x [I_l], h [Hs] (Hs = output_size), c [H]. The equations of every cell are written out
// here, each from its source (PyTorch's documentation of torch.nn.RNN / LSTM / GRU, the
// ONNX operator specification of LSTM and GRU).
#pragma once

#include <vector>

#include "reference/reference_rnn.h"

namespace rnnref::detail {

using Vec = std::vector<double>;

// The state after one step: h, and c for the LSTM (empty otherwise).
struct StepState {
  Vec h;
  Vec c;
};

// h, c = cell(x, h_prev, c_prev). c_prev is read by the LSTM only.
StepState step_forward(const Config& config, const LayerParams& p, const Vec& x,
                       const Vec& h_prev, const Vec& c_prev);

// The gradients a step passes on.
struct StepGradients {
  Vec x;       // dL/dx [I_l]
  Vec h_prev;  // dL/dh_prev [Hs]
  Vec c_prev;  // dL/dc_prev [H] (LSTM; empty otherwise)
};

// Recomputes the step from its inputs and back-propagates dh = dL/dh and dc = dL/dc (LSTM
// only) of its outputs through it; adds the parameters' gradients to `grad` (whose
// vectors have the parameters' sizes).
StepGradients step_backward(const Config& config, const LayerParams& p, LayerParams& grad,
                            const Vec& x, const Vec& h_prev, const Vec& c_prev, const Vec& dh,
                            const Vec& dc);

}  // namespace rnnref::detail
