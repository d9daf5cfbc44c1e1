// The table of cell kinds: names and gate counts. Adding a kind adds a row here.
#include <array>

#include "common/strings.h"
#include "rnnwave/cell.h"

namespace rnnwave {
namespace {

struct CellRow {
  CellKind kind;
  std::string_view name;
  int gates;
  bool cell_state;
};

constexpr std::array<CellRow, kCellKindCount> kCellRows = {{
    {CellKind::rnn_tanh, "rnn_tanh", 1, false},
    {CellKind::rnn_relu, "rnn_relu", 1, false},
    {CellKind::lstm, "lstm", 4, true},
    {CellKind::gru, "gru", 3, false},
}};

constexpr bool rows_match_enum() {
  for (size_t i = 0; i < kCellRows.size(); ++i) {
    if (static_cast<size_t>(kCellRows[i].kind) != i) return false;
  }
  return true;
}
static_assert(rows_match_enum(), "kCellRows must list the kinds in enum order");

const CellRow& row(CellKind kind) {
  const auto index = static_cast<size_t>(kind);
  if (index >= kCellRows.size()) fail("invalid cell kind ", index);
  return kCellRows[index];
}

}  // namespace

std::string_view to_string(CellKind kind) { return row(kind).name; }
int gate_count(CellKind kind) { return row(kind).gates; }
bool has_cell_state(CellKind kind) { return row(kind).cell_state; }

CellKind parse_cell_kind(std::string_view name) {
  std::string valid;
  for (const CellRow& r : kCellRows) {
    if (r.name == name) return r.kind;
    valid += valid.empty() ? "" : ", ";
    valid += r.name;
  }
  fail("unknown cell kind '", name, "' (valid: ", valid, ")");
}

}  // namespace rnnwave
