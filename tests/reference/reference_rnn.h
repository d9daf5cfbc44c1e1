// A naive double-precision RNN / LSTM / GRU: the oracle the library is tested against.
//
// Written for clarity, not speed, and deliberately shares no code with src/: it walks
// each sequence of the batch on its own, for exactly its own length, with plain loops.
// Conventions are PyTorch's (see include/rnnwave/cell.h for the equations).
#pragma once

#include <cstdint>
#include <vector>

namespace rnnref {

enum class Cell { rnn_tanh, rnn_relu, lstm, gru };

struct Config {
  Cell cell = Cell::lstm;
  int input_size = 0;   // I
  int hidden_size = 0;  // H
  int layers = 1;       // L
  bool bidirectional = false;
};

int gates(Cell cell);  // G: 1, 1, 4, 3

// The parameters of one (layer, direction), row-major, PyTorch layouts and gate order.
struct LayerParams {
  std::vector<double> w_ih;  // [G*H, I_l]
  std::vector<double> w_hh;  // [G*H, H]
  std::vector<double> b_ih;  // [G*H]
  std::vector<double> b_hh;  // [G*H]
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
  std::vector<double> h0;        // [L*D, N, H]; empty = zeros
  std::vector<double> c0;        // [L*D, N, H] (LSTM); empty = zeros
};

struct ForwardResult {
  std::vector<double> output;  // [T, N, D*H], zero at t >= lengths[n]
  std::vector<double> hn;      // [L*D, N, H]
  std::vector<double> cn;      // [L*D, N, H] (LSTM; empty otherwise)
};

struct Gradients {
  std::vector<double> input;  // [T, N, I]
  std::vector<double> h0;     // [L*D, N, H]
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
