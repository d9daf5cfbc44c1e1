// The table of cell definitions: which definition runs a model.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cells/cell_def.h"
#include "rnnwave/model.h"

namespace rnnwave::cells {

/// The definition of the cell of `spec`: its kind and variant (projection, peepholes).
/// Throws Error naming the kinds that have the variant asked for, if this kind has not.
const CellDef& cell_definition(const ModelSpec& spec);

/// "weight_hr is a parameter of lstm with proj_size > 0" if `key` is the key of a
/// parameter that `spec`'s cell does not have but another row of the table has; else "".
/// `spec` must name a definition of the table.
std::string parameter_hint(const ModelSpec& spec, std::string_view key);

/// Every definition of the table, plain kinds and variants, then the same with ONNX's cell
/// clip (for tests).
std::vector<const CellDef*> all_cell_definitions();

/// "gru or gru_rb": the kinds (without variant) whose G is `gates`; "" if none.
std::string kinds_with_gates(int gates);

}  // namespace rnnwave::cells
