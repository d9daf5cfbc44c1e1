// Dispatch from CellKind to the pointwise math of each kind. Adding a cell kind adds one
// header (forward/backward pointwise math) and one row here.
#pragma once

#include <array>

#include "cells/gru.h"
#include "cells/lstm.h"
#include "cells/rnn.h"
#include "cells/step_buffers.h"
#include "rnnwave/cell.h"

namespace rnnwave::cells {

template <class T>
struct CellOps {
  CellKind kind;
  void (*forward)(const StepBuffers<T>&);
  void (*backward)(const StepBuffers<T>&);
};

template <class T, class Cell>
constexpr CellOps<T> ops_of(CellKind kind) {
  return {kind, &Cell::template forward<T>, &Cell::template backward<T>};
}

template <class T>
inline constexpr std::array<CellOps<T>, kCellKindCount> kCellOps = {{
    ops_of<T, RnnCell<RnnTanh>>(CellKind::rnn_tanh),
    ops_of<T, RnnCell<RnnRelu>>(CellKind::rnn_relu),
    ops_of<T, LstmCell>(CellKind::lstm),
    ops_of<T, GruCell>(CellKind::gru),
}};

template <class T>
constexpr bool table_in_enum_order() {
  for (size_t i = 0; i < kCellOps<T>.size(); ++i) {
    if (static_cast<size_t>(kCellOps<T>[i].kind) != i) return false;
  }
  return true;
}
static_assert(table_in_enum_order<float>(), "kCellOps must list the kinds in enum order");

template <class T>
const CellOps<T>& cell_ops(CellKind kind) {
  return kCellOps<T>[static_cast<size_t>(kind)];
}

}  // namespace rnnwave::cells
