// The problem a peer benchmark runs, and its synthetic data in PyTorch's layout, shared by
// the C++ peers so that each one computes exactly what `rnnwave bench` computes.
//
// Dimensions follow the project glossary: L layers, D directions, T steps, N batch,
// I input features, H hidden units, G gates (1 vanilla RNN, 3 GRU, 4 LSTM).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rnnwave::bench {

enum class PeerCell { rnn_tanh, rnn_relu, lstm, gru };

/// "rnn_tanh", "rnn_relu", "lstm", "gru"; the inverse throws std::invalid_argument.
std::string to_string(PeerCell cell);
PeerCell parse_peer_cell(const std::string& name);

struct PeerProblem {
  PeerCell cell = PeerCell::lstm;
  int64_t layers = 1;        // L
  bool bidirectional = false;
  int64_t steps = 1;         // T
  int64_t batch = 1;         // N
  int64_t input_size = 1;    // I
  int64_t hidden_size = 1;   // H

  int64_t directions() const { return bidirectional ? 2 : 1; }  // D
  int64_t gates() const;                                          // G
  /// Input features of layer l: I for l = 0, D*H above.
  int64_t layer_input_size(int64_t l) const;
  /// Throws std::invalid_argument naming the offending value.
  void validate() const;
  /// FLOPs of the GEMMs of one pass (2*M*N*K each); training counts forward + the three
  /// backward products (dh, dx, dW) as three times the forward. Same count as `rnnwave bench`.
  double gemm_flops(bool training) const;
};

/// One (layer, direction)'s parameters as PyTorch stores them: weight_ih [G*H, in],
/// weight_hh [G*H, H], bias_ih [G*H], bias_hh [G*H], gate order LSTM i,f,g,o; GRU r,z,n.
struct TorchCellWeights {
  std::vector<float> weight_ih, weight_hh, bias_ih, bias_hh;
};

/// Synthetic data of a run: weights uniform in [-1/sqrt(H), 1/sqrt(H)] (PyTorch's init),
/// input, initial states and output gradient uniform in [-1, 1].
struct PeerData {
  std::vector<TorchCellWeights> weights;  // [L*D], layer-major
  std::vector<float> input;               // [T, N, I]
  std::vector<float> h0, c0;              // [L*D, N, H] (c0 only for LSTM)
  std::vector<float> grad_output;         // [T, N, D*H]
};

PeerData make_peer_data(const PeerProblem& problem, uint64_t seed);

/// PyTorch's parameter name suffix of (layer, direction): "_l2" or "_l2_reverse".
std::string torch_suffix(int64_t layer, int64_t direction);

}  // namespace rnnwave::bench
