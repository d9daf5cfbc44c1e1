// Inverted dropout between the layers of a stack (the `dropout` of torch.nn.RNN and kin).
#pragma once

#include <cstdint>

#include "graph/cell_ops.h"

namespace rnnwave {

/// Layer l's input after dropout, steps [t0, t1), all rows: dropped(l, t) =
/// h(l-1, t) * mask / (1 - p). The mask element of (l, t, row n of the caller's batch,
/// unit j) is dropout_keep(seed, ((l*T + t)*N + n)*D*Hs + j, p) (rnnwave/dropout.h).
template <class T>
void apply_dropout(Pass<T>& pass, int64_t l, int64_t t0, int64_t t1);

/// The same mask on the gradient flowing to layer l-1: dh_above(l-1, t) *= mask / (1 - p).
template <class T>
void apply_dropout_grad(Pass<T>& pass, int64_t l, int64_t t0, int64_t t1);

}  // namespace rnnwave
