#include "rnnwave/model.h"

#include <cmath>
#include <limits>

#include "cells/cell_table.h"
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

constexpr std::string_view kCommonKeys[kParamKindCount] = {"weight_ih", "weight_hh", "bias_ih",
                                                           "bias_hh"};

/// Elements of the parameters of one (layer, direction) whose input has `input` features.
int64_t params_per_direction(const cells::CellDef& cell, const cells::Dims& dims) {
  int64_t total = 0;
  for (const cells::ParamDecl& p : cell.params) {
    const int64_t size = checked_mul(p.rows.of(dims), p.is_vector() ? 1 : p.cols.of(dims),
                                     "parameter count");
    if (__builtin_add_overflow(total, size, &total)) fail("parameter count overflows");
  }
  return total;
}

cells::Dims dims_of(const ModelSpec& spec, int64_t layer) {
  return {spec.hidden_size, spec.output_size(), spec.layer_input_size(layer)};
}

}  // namespace

int64_t ModelSpec::parameter_count() const {
  // Layers above the first are identical: constant time, whatever the layer count.
  const cells::CellDef& definition = cells::cell_definition(*this);
  auto per_layer = [&](int64_t layer) {
    return checked_mul(params_per_direction(definition, dims_of(*this, layer)), directions(),
                       "parameter count");
  };
  const int64_t upper = layers > 1 ? checked_mul(per_layer(1), layers - 1, "parameter count") : 0;
  int64_t total = 0;
  if (__builtin_add_overflow(per_layer(0), upper, &total)) fail("parameter count overflows");
  return total;
}

void ModelSpec::validate() const {
  check_dimension("input size", input_size);
  check_dimension("hidden size", hidden_size);
  check_dimension("layers", layers);
  const int cell_index = static_cast<int>(cell);
  if (cell_index < 0 || cell_index >= kCellKindCount) fail("invalid cell kind ", cell_index);
  if (proj_size < 0 || (proj_size > 0 && proj_size >= hidden_size)) {
    fail("proj_size must be 0 (none) or in [1, hidden size ", hidden_size, "), got ", proj_size);
  }
  if (reverse && bidirectional) {
    fail("reverse is one direction walking backward in time; a bidirectional model already "
         "has one beside the forward one");
  }
  if (!(cell_clip == 0 || (std::isfinite(cell_clip) && cell_clip > 0))) {
    fail("cell_clip must be 0 (off) or a finite number > 0, got ", cell_clip);
  }
  // A float model compares with the bound rounded to float: one that would round to 0 or
  // to infinity would clip everything to 0, or nothing, silently.
  if (cell_clip != 0 && (cell_clip < std::numeric_limits<float>::min() || cell_clip > std::numeric_limits<float>::max())) {
    fail("cell_clip ", cell_clip, " is outside the range of a float's normal numbers [",
         std::numeric_limits<float>::min(), ", ", std::numeric_limits<float>::max(), "]");
  }
  cells::cell_definition(*this);  // throws for a variant the cell does not have
  check_fits_in_memory(static_cast<double>(parameter_count()) * 4.0,
                       cat("model ", describe(*this), " (", parameter_count(), " parameters)"));
}

std::string param_name(std::string_view key, int64_t layer, int64_t direction) {
  return cat(key, "_l", layer, direction == 1 ? "_reverse" : "");
}

std::string param_name(ParamKind kind, int64_t layer, int64_t direction) {
  const int index = static_cast<int>(kind);
  if (index < 0 || index >= kParamKindCount) {
    fail("param_name: ParamKind::other has no name of its own; use the parameter's key");
  }
  return param_name(kCommonKeys[index], layer, direction);
}

std::vector<ParamInfo> parameter_list(const ModelSpec& spec) {
  const cells::CellDef& cell = cells::cell_definition(spec);
  std::vector<ParamInfo> list;
  for (int64_t layer = 0; layer < spec.layers; ++layer) {
    const cells::Dims dims = dims_of(spec, layer);
    for (int64_t direction = 0; direction < spec.directions(); ++direction) {
      for (size_t i = 0; i < cell.params.size(); ++i) {
        const cells::ParamDecl& p = cell.params[i];
        ParamInfo info;
        info.name = param_name(p.key, layer, spec.reverse ? 1 : direction);
        info.layer = layer;
        info.direction = direction;
        info.kind = i < kParamKindCount ? static_cast<ParamKind>(i) : ParamKind::other;
        info.shape = p.is_vector() ? std::vector<int64_t>{p.rows.of(dims)}
                                   : std::vector<int64_t>{p.rows.of(dims), p.cols.of(dims)};
        info.key = std::string(p.key);
        info.index = static_cast<int64_t>(i);
        list.push_back(std::move(info));
      }
    }
  }
  return list;
}

std::string describe(const ModelSpec& spec) {
  return cat(to_string(spec.cell), " l", spec.layers, " d", spec.directions(), " i",
             spec.input_size, " h", spec.hidden_size,
             spec.proj_size > 0 ? cat(" p", spec.proj_size) : std::string(),
             spec.peepholes ? " peepholes" : "",
             spec.cell_clip != 0 ? cat(" clip", spec.cell_clip) : std::string(),
             spec.reverse ? " reverse" : "");
}

}  // namespace rnnwave
