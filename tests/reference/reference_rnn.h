// A naive double-precision RNN / LSTM / GRU: the oracle the library is tested against
// (with the LSTM's projection and peepholes, the GRU with the reset gate before the
// product, and reverse-only stacks).
//
// Written for clarity, not speed, and deliberately shares no code with src/: it walks
// each sequence of the batch on its own, for exactly its own length, with plain loops.
// Conventions are PyTorch's (see include/rnnwave/cell.h for the equations).
#pragma once

#include <cstdint>
#include <vector>

namespace rnnref {

// gru_rb: the GRU with the reset gate applied before the recurrent product (ONNX's
// linear_before_reset = 0, Keras's reset_after = False): n = tanh(W_in x + b_in +
// W_hn (r * h) + b_hn).
enum class Cell { rnn_tanh, rnn_relu, lstm, gru, gru_rb };

struct Config {
  Cell cell = Cell::lstm;
  int input_size = 0;   // I
  int hidden_size = 0;  // H
  int layers = 1;       // L
  bool bidirectional = false;
  // LSTM only: h = W_hr (o * tanh(c)) with P = proj_size units (torch.nn.LSTM's proj_size);
  // h0, h_n and each direction's output have P units, c keeps H. 0 = none.
  int proj_size = 0;
  // LSTM only: ONNX's peepholes: i and f add p_i * c_prev and p_f * c_prev to their
  // pre-activations, o adds p_o * c (the new c).
  bool peepholes = false;
  // One direction walking t = len-1 .. 0 (as the reverse half of a bidirectional model).
  bool reverse = false;
};

int gates(Cell cell);  // G: 1, 1, 4, 3, 3

// The width of h: proj_size if set, else hidden_size.
int output_size(const Config& config);

// The parameters of one (layer, direction), row-major, PyTorch layouts and gate order.
struct LayerParams {
  std::vector<double> w_ih;  // [G*H, I_l]  (I_l = I, or D*Hs above the first layer)
  std::vector<double> w_hh;  // [G*H, Hs]   (Hs = output_size)
  std::vector<double> b_ih;  // [G*H]
  std::vector<double> b_hh;  // [G*H]
  std::vector<double> w_hr = {};  // [P, H] with proj_size, else empty
  std::vector<double> w_ph = {};  // [3, H] (rows i, f, o) with peepholes, else empty
};

// params[l * D + d]
struct Params {
  std::vector<LayerParams> layers;
};

struct Problem {
  int steps = 0;                 // T
  int batch = 0;                 // N
  std::vector<double> input;     // [T, N, I]
  std::vector<int64_t> lengths;  // [N], each in [1, T]; empty = all T
  std::vector<double> h0;        // [L*D, N, Hs]; empty = zeros
  std::vector<double> c0;        // [L*D, N, H] (LSTM); empty = zeros
};

struct ForwardResult {
  std::vector<double> output;  // [T, N, D*Hs], zero at t >= lengths[n]
  std::vector<double> hn;      // [L*D, N, Hs]
  std::vector<double> cn;      // [L*D, N, H] (LSTM; empty otherwise)
};

struct Gradients {
  std::vector<double> input;  // [T, N, I]
  std::vector<double> h0;     // [L*D, N, Hs]
  std::vector<double> c0;     // [L*D, N, H] (LSTM; empty otherwise)
  Params params;              // same layout as the parameters
};

ForwardResult forward(const Config& config, const Params& params, const Problem& problem);

// Gradients of loss = sum(output * grad_output) + sum(hn * grad_hn) + sum(cn * grad_cn).
// grad_hn / grad_cn may be empty (zeros). grad_output entries at t >= lengths[n] do not
// contribute (they multiply outputs that are constant zero).
Gradients backward(const Config& config, const Params& params, const Problem& problem,
                   const std::vector<double>& grad_output, const std::vector<double>& grad_hn,
                   const std::vector<double>& grad_cn);

}  // namespace rnnref
