// rnnwave/cell.h — the cell kinds and their gate layout, defined once, PyTorch's.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace rnnwave {

/// The recurrent cell of every layer. Conventions and weight layouts are PyTorch's
/// (torch.nn.RNN / LSTM / GRU), so its state_dict loads unchanged.
///
/// With x the layer input, h the previous state and W_i*, W_h* the rows of
/// weight_ih / weight_hh belonging to one gate (each [H, in] / [H, H]):
///   rnn_tanh: h' = tanh(W_i x + b_i + W_h h + b_h)                       G = 1
///   rnn_relu: h' = relu(W_i x + b_i + W_h h + b_h)                       G = 1
///   lstm:     gate order i, f, g, o                                      G = 4
///             i,f,o = sigmoid(W_i* x + b_i* + W_h* h + b_h*), g = tanh(...)
///             c' = f*c + i*g,  h' = o*tanh(c')
///   gru:      gate order r, z, n (PyTorch's "linear before reset")        G = 3
///             r,z = sigmoid(W_i* x + b_i* + W_h* h + b_h*)
///             n = tanh(W_in x + b_in + r*(W_hn h + b_hn))
///             h' = (1-z)*n + z*h
///   gru_rb:   the GRU with the reset gate before the recurrent product     G = 3
///             (ONNX linear_before_reset = 0, Keras reset_after = False), PyTorch's
///             names and gate order r, z, n:
///             n = tanh(W_in x + b_in + W_hn (r*h) + b_hn)
///
/// Variants of the LSTM, selected by ModelSpec (model.h):
///   proj_size = P > 0 (torch.nn.LSTM's proj_size): h' = W_hr (o*tanh(c')), P units;
///             extra parameter weight_hr_l{k}[_reverse] [P, H]; weight_hh is [4H, P].
///   peepholes (ONNX LSTM's input P): i, f = sigmoid(... + p_{i,f} * c),
///             o = sigmoid(... + p_o * c'); extra parameter weight_ph_l{k}[_reverse]
///             [3, H], rows i, f, o.
/// Every kind and variant also has ONNX's cell clip (ModelSpec::cell_clip): each gate's
/// pre-activation above (the argument of sigmoid, tanh or relu; the GRU's n whole) is
/// bounded to [-clip, clip]; tanh(c') is not clipped.
/// Cells whose step has two dependent products (gru_rb, the LSTM with a projection) run
/// without hidden splits (ExecOptions::hidden_splits).
enum class CellKind { rnn_tanh, rnn_relu, lstm, gru, gru_rb };

inline constexpr int kCellKindCount = 5;
inline constexpr std::array<CellKind, kCellKindCount> kAllCellKinds = {
    CellKind::rnn_tanh, CellKind::rnn_relu, CellKind::lstm, CellKind::gru, CellKind::gru_rb};

/// "rnn_tanh", "rnn_relu", "lstm", "gru", "gru_rb" — the names used by the CLI and in files.
std::string_view to_string(CellKind kind);

/// Inverse of to_string; throws Error listing the valid names.
CellKind parse_cell_kind(std::string_view name);

/// G: number of gates, i.e. weight_ih has G*H rows.
int gate_count(CellKind kind);

/// Whether the cell carries a second state c (LSTM only).
bool has_cell_state(CellKind kind);

}  // namespace rnnwave
