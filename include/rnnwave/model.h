// rnnwave/model.h — the description of a recurrent stack and its parameter names.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rnnwave/cell.h"

namespace rnnwave {

/// Dimension glossary used everywhere in rnnwave:
///   L layers, D directions (1 or 2), T steps, N batch, I input size, H hidden size,
///   G gates per cell (see cell.h).
struct ModelSpec {
  CellKind cell = CellKind::lstm;
  int64_t input_size = 0;   ///< I
  int64_t hidden_size = 0;  ///< H
  int64_t layers = 1;       ///< L
  bool bidirectional = false;
  /// P: if > 0, h is projected to P units, h = W_hr (o * tanh(c)) (torch.nn.LSTM's
  /// proj_size; weight_hr_l{k} [P, H]). Outputs, h0 and h_n have P units per direction;
  /// c keeps H. Must be < H. Cells that have it: see cell.h.
  int64_t proj_size = 0;
  /// Peephole connections (ONNX LSTM's input P; weight_ph_l{k} [3, H], rows i, f, o):
  /// i and f also see P_i * c_prev and P_f * c_prev, o sees P_o * c. See cell.h.
  bool peepholes = false;
  /// One direction that walks t = T-1 .. 0 (ONNX's direction "reverse"), exactly as the
  /// reverse half of a bidirectional model does (a sequence starts at its own last step).
  /// Its parameters are named like that half's: weight_ih_l{k}_reverse, ...
  /// Not with bidirectional.
  bool reverse = false;
  /// ONNX's cell clip (the attribute `clip` of RNN, LSTM and GRU): every gate
  /// pre-activation a is bounded to [-cell_clip, cell_clip] before its activation function
  /// (the LSTM's i, f, g, o; the GRU's r, z and n's whole argument; the vanilla RNN's one),
  /// and its gradient is zero where it was clipped (|a| > cell_clip). The LSTM's tanh(c) is
  /// not clipped: c is a state, not a gate pre-activation. 0 = off; else finite and > 0,
  /// within a float's normal range [1.18e-38, 3.40e38] (a float model bounds by it).
  /// Every cell kind and variant has it. See cell.h.
  double cell_clip = 0;

  int64_t directions() const { return bidirectional ? 2 : 1; }  ///< D
  int64_t gates() const { return gate_count(cell); }            ///< G
  /// Width of h per direction: of each direction's output, of h0 and h_n (P or H).
  int64_t output_size() const { return proj_size > 0 ? proj_size : hidden_size; }
  /// Input size of layer l: I for l = 0, D*output_size() above.
  int64_t layer_input_size(int64_t layer) const {
    return layer == 0 ? input_size : directions() * output_size();
  }
  /// Total number of parameters (weights and biases of every layer and direction).
  int64_t parameter_count() const;

  /// Throws Error unless every size is positive and the parameters fit in memory.
  void validate() const;

  bool operator==(const ModelSpec&) const = default;
};

/// The four parameters every cell has, first in each (layer, direction) and in PyTorch's
/// state_dict order. A cell may have more after them (see parameter_list); their kind is
/// `other`, and their key says what they are.
enum class ParamKind { weight_ih, weight_hh, bias_ih, bias_hh, other };
inline constexpr int kParamKindCount = 4;  ///< the four common kinds, without `other`

/// One parameter tensor of a model: its PyTorch name and shape.
struct ParamInfo {
  std::string name;            ///< e.g. "weight_hh_l1_reverse"
  int64_t layer = 0;
  int64_t direction = 0;
  ParamKind kind = ParamKind::weight_ih;
  std::vector<int64_t> shape;  ///< e.g. [G*H, I_l], [G*H, H], [G*H] or [G*H]
  std::string key;             ///< the name without layer and direction: "weight_hh"
  int64_t index = 0;           ///< position among the parameters of its (layer, direction)
};

/// PyTorch's name of a parameter, e.g. param_name(weight_ih, 0, 1) = "weight_ih_l0_reverse".
/// Throws Error for ParamKind::other (use the key).
std::string param_name(ParamKind kind, int64_t layer, int64_t direction);
/// The same from a key: param_name("weight_hr", 1, 0) = "weight_hr_l1".
std::string param_name(std::string_view key, int64_t layer, int64_t direction);

/// Every parameter of the model in state_dict order: for each layer, for each direction
/// (named _reverse for the reverse one, and for the one direction of a reverse model),
/// the cell's parameters, PyTorch's four first: weight_ih [G*H, I_l], weight_hh [G*H, H],
/// bias_ih [G*H], bias_hh [G*H] (cell.h lists the others).
std::vector<ParamInfo> parameter_list(const ModelSpec& spec);

/// "lstm l2 d2 i40 h128" — a compact description for messages and benchmarks; " p16",
/// " peepholes", " clip3" (cell_clip) and " reverse" follow where they apply.
std::string describe(const ModelSpec& spec);

}  // namespace rnnwave
