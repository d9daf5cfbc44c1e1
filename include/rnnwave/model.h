// rnnwave/model.h — the description of a recurrent stack and its parameter names.
#pragma once

#include <cstdint>
#include <string>
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

  int64_t directions() const { return bidirectional ? 2 : 1; }  ///< D
  int64_t gates() const { return gate_count(cell); }            ///< G
  /// Input size of layer l: I for l = 0, D*H above.
  int64_t layer_input_size(int64_t layer) const {
    return layer == 0 ? input_size : directions() * hidden_size;
  }
  /// Total number of parameters (weights and biases of every layer and direction).
  int64_t parameter_count() const;

  /// Throws Error unless every size is positive and the parameters fit in memory.
  void validate() const;
};

/// The four parameters of one (layer, direction), in PyTorch's state_dict order.
enum class ParamKind { weight_ih, weight_hh, bias_ih, bias_hh };
inline constexpr int kParamKindCount = 4;

/// One parameter tensor of a model: its PyTorch name and shape.
struct ParamInfo {
  std::string name;            ///< e.g. "weight_hh_l1_reverse"
  int64_t layer = 0;
  int64_t direction = 0;
  ParamKind kind = ParamKind::weight_ih;
  std::vector<int64_t> shape;  ///< [G*H, I_l], [G*H, H], [G*H] or [G*H]
};

/// PyTorch's name of a parameter, e.g. param_name(weight_ih, 0, 1) = "weight_ih_l0_reverse".
std::string param_name(ParamKind kind, int64_t layer, int64_t direction);

/// Every parameter of the model in state_dict order: for each layer, for each direction,
/// weight_ih, weight_hh, bias_ih, bias_hh.
std::vector<ParamInfo> parameter_list(const ModelSpec& spec);

/// "lstm l2 d2 i40 h128" — a compact description for messages and benchmarks.
std::string describe(const ModelSpec& spec);

}  // namespace rnnwave
