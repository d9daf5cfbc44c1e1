// The table of cell definitions. Adding a cell kind or variant adds a row here (and, for a
// new kind, its value in rnnwave::CellKind).
#include "cells/cell_table.h"

#include <array>

#include "cells/gru.h"
#include "cells/gru_rb.h"
#include "cells/lstm.h"
#include "cells/lstm_peephole.h"
#include "cells/lstm_proj.h"
#include "cells/rnn.h"
#include "common/strings.h"
#include "rnnwave/cell.h"

namespace rnnwave::cells {
namespace {

/// The degrees of freedom of ModelSpec that select a variant of a kind's cell.
enum class Variant : uint8_t { plain, projection, peepholes };
constexpr std::string_view kVariantNames[] = {"", "proj_size > 0", "peepholes"};

struct CellRow {
  CellKind kind;
  std::string_view name;  // the kind's name in the CLI and in files
  Variant variant;
  CellDef def;
  CellDef clipped;  // the same with ONNX's cell clip (ModelSpec::cell_clip > 0)
};

template <class Cell>
constexpr CellRow row(CellKind kind, std::string_view name, Variant variant) {
  return {kind, name, variant, define_cell<Cell, false>(), define_cell<Cell, true>()};
}

constexpr std::array kCellRows = {
    row<RnnCell<RnnTanh>>(CellKind::rnn_tanh, "rnn_tanh", Variant::plain),
    row<RnnCell<RnnRelu>>(CellKind::rnn_relu, "rnn_relu", Variant::plain),
    row<LstmCell>(CellKind::lstm, "lstm", Variant::plain),
    row<GruCell>(CellKind::gru, "gru", Variant::plain),
    row<GruResetBeforeCell>(CellKind::gru_rb, "gru_rb", Variant::plain),
    row<LstmProjectionCell>(CellKind::lstm, "lstm", Variant::projection),
    row<LstmPeepholeCell>(CellKind::lstm, "lstm", Variant::peepholes),
};

/// Every definition, with its clip mask, fits in the buffers a step can pass.
constexpr bool buffers_fit() {
  for (const CellRow& r : kCellRows) {
    if (r.clipped.buffers.size() > static_cast<size_t>(kMaxBuffers)) return false;
  }
  return true;
}
static_assert(buffers_fit(), "a definition with its clip mask has more than kMaxBuffers buffers");

/// The plain rows come first, in the order of CellKind: row k is kind k.
constexpr bool plain_rows_in_enum_order() {
  for (size_t i = 0; i < kCellKindCount; ++i) {
    if (static_cast<size_t>(kCellRows[i].kind) != i || kCellRows[i].variant != Variant::plain) {
      return false;
    }
  }
  return kCellRows.size() >= kCellKindCount;
}
static_assert(plain_rows_in_enum_order(), "kCellRows must start with one plain row per kind, in enum order");

/// Every definition starts with PyTorch's four parameters (ParamKind's order).
constexpr bool pytorch_params_first() {
  for (const CellRow& row : kCellRows) {
    const auto common = pytorch_params(row.def.gates);
    if (row.def.params.size() < common.size()) return false;
    for (size_t i = 0; i < common.size(); ++i) {
      if (row.def.params[i].key != common[i].key) return false;
    }
  }
  return true;
}
static_assert(pytorch_params_first(), "every definition starts with weight_ih, weight_hh, bias_ih, bias_hh");

const CellRow& plain_row(CellKind kind) {
  const auto index = static_cast<size_t>(kind);
  if (index >= kCellKindCount) fail("invalid cell kind ", index);
  return kCellRows[index];
}

Variant variant_of(const ModelSpec& spec) {
  if (spec.proj_size > 0 && spec.peepholes) {
    fail("a cell with both a projection (proj_size = ", spec.proj_size,
         ") and peepholes is not supported");
  }
  if (spec.proj_size > 0) return Variant::projection;
  return spec.peepholes ? Variant::peepholes : Variant::plain;
}

/// "lstm" or "lstm or gru": the kinds that have `variant`.
std::string kinds_with(Variant variant) {
  std::string names;
  for (const CellRow& row : kCellRows) {
    if (row.variant == variant) names += cat(names.empty() ? "" : " or ", row.name);
  }
  return names;
}

}  // namespace

const CellDef& cell_definition(const ModelSpec& spec) {
  const CellRow& plain = plain_row(spec.cell);
  const Variant variant = variant_of(spec);
  for (const CellRow& row : kCellRows) {
    if (row.kind == spec.cell && row.variant == variant) {
      return spec.cell_clip > 0 ? row.clipped : row.def;
    }
  }
  const std::string having = kinds_with(variant);
  fail("a ", plain.name, " cell has no ", kVariantNames[static_cast<size_t>(variant)],
       " variant (", having.empty() ? "no cell has" : cat("only ", having, " has"), ")");
}

std::string parameter_hint(const ModelSpec& spec, std::string_view key) {
  for (const ParamDecl& p : cell_definition(spec).params) {
    if (p.key == key) return "";  // the model's own: misnamed otherwise, not misplaced
  }
  for (const CellRow& row : kCellRows) {
    if (row.variant == variant_of(spec)) continue;
    for (const ParamDecl& p : row.def.params) {
      if (p.key == key) {
        return cat(key, " is a parameter of ", row.name, " with ",
                   kVariantNames[static_cast<size_t>(row.variant)]);
      }
    }
  }
  return "";
}

std::vector<const CellDef*> all_cell_definitions() {
  std::vector<const CellDef*> all;
  for (const CellRow& row : kCellRows) all.push_back(&row.def);
  for (const CellRow& row : kCellRows) all.push_back(&row.clipped);
  return all;
}

std::string kinds_with_gates(int gates) {
  std::string names;
  for (size_t i = 0; i < kCellKindCount; ++i) {
    if (kCellRows[i].def.gates == gates) names += cat(names.empty() ? "" : " or ", kCellRows[i].name);
  }
  return names;
}

}  // namespace rnnwave::cells

namespace rnnwave {

std::string_view to_string(CellKind kind) { return cells::plain_row(kind).name; }
int gate_count(CellKind kind) { return cells::plain_row(kind).def.gates; }
bool has_cell_state(CellKind kind) { return cells::plain_row(kind).def.states.size() > 1; }

CellKind parse_cell_kind(std::string_view name) {
  std::string valid;
  for (CellKind kind : kAllCellKinds) {
    if (to_string(kind) == name) return kind;
    valid += valid.empty() ? "" : ", ";
    valid += to_string(kind);
  }
  fail("unknown cell kind '", name, "' (valid: ", valid, ")");
}

}  // namespace rnnwave
