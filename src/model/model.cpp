#include "rnnwave/model.h"

#include "common/memory_limits.h"
#include "common/strings.h"

namespace rnnwave {
namespace {

// Sizes above this are refused outright: no real RNN has a dimension of 2^31, and
// keeping every dimension below it keeps every product of three dimensions in int64.
constexpr int64_t kMaxDimension = int64_t{1} << 31;

void check_dimension(std::string_view name, int64_t value) {
  if (value < 1 || value > kMaxDimension) {
    fail(name, " must be in [1, ", kMaxDimension, "], got ", value);
  }
}

}  // namespace

int64_t ModelSpec::parameter_count() const {
  // Layers above the first are identical: constant time, whatever the layer count.
  const int64_t g = checked_mul(gates(), hidden_size, "parameter count");
  auto per_layer = [&](int64_t input) {
    return checked_mul(checked_mul(g, input + hidden_size + 2, "parameter count"), directions(),
                       "parameter count");
  };
  const int64_t upper = checked_mul(per_layer(layer_input_size(1)), layers - 1, "parameter count");
  int64_t total = 0;
  if (__builtin_add_overflow(per_layer(input_size), upper, &total)) fail("parameter count overflows");
  return total;
}

void ModelSpec::validate() const {
  check_dimension("input size", input_size);
  check_dimension("hidden size", hidden_size);
  check_dimension("layers", layers);
  const int cell_index = static_cast<int>(cell);
  if (cell_index < 0 || cell_index >= kCellKindCount) fail("invalid cell kind ", cell_index);
  check_fits_in_memory(static_cast<double>(parameter_count()) * 4.0,
                       cat("model ", describe(*this), " (", parameter_count(), " parameters)"));
}

std::string param_name(ParamKind kind, int64_t layer, int64_t direction) {
  static constexpr std::string_view kNames[kParamKindCount] = {"weight_ih", "weight_hh",
                                                               "bias_ih", "bias_hh"};
  return cat(kNames[static_cast<int>(kind)], "_l", layer, direction == 1 ? "_reverse" : "");
}

std::vector<ParamInfo> parameter_list(const ModelSpec& spec) {
  std::vector<ParamInfo> list;
  const int64_t rows = spec.gates() * spec.hidden_size;
  for (int64_t layer = 0; layer < spec.layers; ++layer) {
    for (int64_t direction = 0; direction < spec.directions(); ++direction) {
      const std::vector<int64_t> shapes[kParamKindCount] = {
          {rows, spec.layer_input_size(layer)}, {rows, spec.hidden_size}, {rows}, {rows}};
      for (int k = 0; k < kParamKindCount; ++k) {
        const auto kind = static_cast<ParamKind>(k);
        list.push_back({param_name(kind, layer, direction), layer, direction, kind, shapes[k]});
      }
    }
  }
  return list;
}

std::string describe(const ModelSpec& spec) {
  return cat(to_string(spec.cell), " l", spec.layers, " d", spec.directions(), " i",
             spec.input_size, " h", spec.hidden_size);
}

}  // namespace rnnwave
