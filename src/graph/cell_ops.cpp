#include "graph/cell_ops.h"

#include <algorithm>
#include <cstring>

#include "cells/cell_table.h"
#include "graph/dropout.h"
#include "kernels/gemm.h"
#include "kernels/packed_gemm.h"

namespace rnnwave {
namespace {

using kernels::gemm;
using kernels::gemm_packed;
using kernels::Trans;

template <class T>
using WorkspaceImpl = typename BasicWorkspace<T>::Impl;

/// Adds the column sums of a [rows, cols] matrix (row stride ld) to out, rows in order.
template <class T>
void add_column_sums(const T* a, int64_t rows, int64_t cols, int64_t ld, T* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = a + r * ld;
    for (int64_t j = 0; j < cols; ++j) out[j] += row[j];
  }
}

/// Rows [part.r0, end) and hidden units [part.u0, part.u1) of step t of (l, d), as the
/// pointwise math sees them.
template <class T>
StepBuffers<T> step_buffers(Pass<T>& pass, int64_t l, int64_t d, int64_t t, const StepPart& part,
                            int64_t end, bool backward) {
  auto& ws = pass.ws;
  const int64_t H = ws.H, GH = ws.G * ws.H, ldh = ws.ld_h(), r0 = part.r0, u = part.u0;
  const int64_t prev = WorkspaceImpl<T>::prev_slot(d, t), out = WorkspaceImpl<T>::out_slot(t);
  const CellKind kind = ws.spec.cell;
  StepBuffers<T> s;
  s.rows = end - r0;
  s.hidden = H;
  s.units = part.u1 - part.u0;
  s.ld_h = ldh;
  s.gates = ws.gates(l, d, t) + r0 * GH + u;
  s.bias = pass.params.step_bias(l, d) + u;
  s.h_prev = ws.h(l, prev) + r0 * ldh + d * H + u;
  s.h_out = ws.h(l, out) + r0 * ldh + d * H + u;
  if (kind == CellKind::lstm) {
    s.c_prev = ws.c(l, d, prev) + r0 * H + u;
    s.c_out = ws.c(l, d, out) + r0 * H + u;
  }
  if (kind == CellKind::gru) {
    s.recurrent = ws.gru_recurrent(l, d) + r0 * GH + u;
    s.gru_hn = ws.gru_hn(l, d, t) + r0 * H + u;
    s.bias_hh = pass.params.b_hh(l, d) + u;
  }
  if (backward) {
    s.dh_above = ws.dh_above(l, t) + r0 * ldh + d * H + u;
    s.dh_next = ws.drec_h(l, d, out) + r0 * H + u;
    s.dh_prev = ws.drec_h(l, d, prev) + r0 * H + u;
    if (kind == CellKind::lstm) {
      s.dc_next = ws.drec_c(l, d, out) + r0 * H + u;
      s.dc_prev = ws.drec_c(l, d, prev) + r0 * H + u;
    }
  }
  return s;
}

/// The panels of a packed matrix that hold the columns of hidden units [u0, u1) in each
/// of `groups` groups (gates), and the calls that cover them: one per group, or a single
/// one when the part spans every unit.
template <class T, class F>
void for_unit_panels(const kernels::PackedMatrix<T>& b, const StepPart& part, int64_t hidden,
                     int64_t groups, F&& gemm_over) {
  if (part.u0 == 0 && part.u1 == hidden) {
    gemm_over(kernels::PanelRange{});
    return;
  }
  const int64_t first = part.u0 / kernels::kPanelWidth;
  const int64_t last = (part.u1 + kernels::kPanelWidth - 1) / kernels::kPanelWidth;
  for (int64_t g = 0; g < groups; ++g) {
    gemm_over(kernels::PanelRange{g * b.panels_per_group() + first, g * b.panels_per_group() + last});
  }
}

}  // namespace

template <class T>
void project_input(Pass<T>& pass, int64_t l, int64_t d, int64_t t0, int64_t t1) {
  auto& ws = pass.ws;
  gemm_packed<T>((t1 - t0) * ws.N, ws.layer_input(l, t0), ws.layer_input_size(l),
                 pass.params.packed(l, d).ih_t, false, ws.gates(l, d, t0), ws.G * ws.H);
}

template <class T>
void forward_recurrent_gemm(Pass<T>& pass, int64_t l, int64_t d, int64_t t, const StepPart& part) {
  auto& ws = pass.ws;
  const int64_t end = ws.order.active_end(t, part.r0, part.r1);
  if (end == part.r0) return;
  const int64_t H = ws.H, GH = ws.G * H, ldh = ws.ld_h();
  // Every unit's gates need the whole previous state.
  const T* h_prev = ws.h(l, WorkspaceImpl<T>::prev_slot(d, t)) + part.r0 * ldh + d * H;
  // GRU keeps h W_hh^T apart: its n gate needs W_hn h + b_hn inside the reset product.
  const bool gru = ws.spec.cell == CellKind::gru;
  T* c = gru ? ws.gru_recurrent(l, d) + part.r0 * GH : ws.gates(l, d, t) + part.r0 * GH;
  const auto& w = pass.params.packed(l, d).hh_t;
  for_unit_panels(w, part, H, ws.G, [&](kernels::PanelRange panels) {
    gemm_packed<T>(end - part.r0, h_prev, ldh, w, !gru, c, GH, panels);
  });
}

template <class T>
void forward_pointwise(Pass<T>& pass, int64_t l, int64_t d, int64_t t, const StepPart& part) {
  const int64_t end = pass.ws.order.active_end(t, part.r0, part.r1);
  if (end == part.r0) return;
  cells::cell_ops<T>(pass.ws.spec.cell).forward(step_buffers(pass, l, d, t, part, end, false));
}

template <class T>
void forward_step(Pass<T>& pass, int64_t l, int64_t d, int64_t t, const StepPart& part) {
  forward_recurrent_gemm(pass, l, d, t, part);
  forward_pointwise(pass, l, d, t, part);
}

template <class T>
void backward_pointwise(Pass<T>& pass, int64_t l, int64_t d, int64_t t, const StepPart& part) {
  auto& ws = pass.ws;
  const int64_t end = ws.order.active_end(t, part.r0, part.r1);
  const int64_t H = ws.H, GH = ws.G * ws.H, units = part.u1 - part.u0;
  // Finished rows contribute nothing to the GEMMs over blocks of steps that follow.
  for (int64_t r = end; r < part.r1; ++r) {
    for (int64_t g = 0; g < ws.G; ++g) {
      std::fill_n(ws.gates(l, d, t) + r * GH + g * H + part.u0, units, T(0));
    }
    if (ws.spec.cell == CellKind::gru) std::fill_n(ws.gru_hn(l, d, t) + r * H + part.u0, units, T(0));
  }
  if (end == part.r0) return;
  cells::cell_ops<T>(ws.spec.cell).backward(step_buffers(pass, l, d, t, part, end, true));
}

template <class T>
void backward_recurrent_gemm(Pass<T>& pass, int64_t l, int64_t d, int64_t t, const StepPart& part) {
  auto& ws = pass.ws;
  const int64_t end = ws.order.active_end(t, part.r0, part.r1);
  if (end == part.r0) return;
  const int64_t H = ws.H, GH = ws.G * H, rows = end - part.r0;
  // The gradient of units [u0, u1) of the previous state needs every gate's gradient.
  const T* dgates = ws.gates(l, d, t) + part.r0 * GH;
  T* dh_prev = ws.drec_h(l, d, WorkspaceImpl<T>::prev_slot(d, t)) + part.r0 * H;
  const PackedWeights<T>& w = pass.params.packed(l, d);
  if (ws.spec.cell == CellKind::gru) {
    // dh_prev = dh*z (written by the pointwise step) + [dr, dz] W_h{r,z} + (dn*r) W_hn
    const T* dn = ws.gru_hn(l, d, t) + part.r0 * H;
    for_unit_panels(w.hh, part, H, 1, [&](kernels::PanelRange panels) {
      gemm_packed<T>(rows, dgates, GH, w.hh, true, dh_prev, H, panels);
      gemm_packed<T>(rows, dn, H, w.hh_n, true, dh_prev, H, panels);
    });
  } else {
    for_unit_panels(w.hh, part, H, 1, [&](kernels::PanelRange panels) {
      gemm_packed<T>(rows, dgates, GH, w.hh, false, dh_prev, H, panels);
    });
  }
}

template <class T>
void backward_step(Pass<T>& pass, int64_t l, int64_t d, int64_t t, const StepPart& part) {
  backward_pointwise(pass, l, d, t, part);
  backward_recurrent_gemm(pass, l, d, t, part);
}

template <class T>
void input_grad(Pass<T>& pass, int64_t l, int64_t t0, int64_t t1) {
  auto& ws = pass.ws;
  const int64_t in = ws.layer_input_size(l), GH = ws.G * ws.H;
  for (int64_t d = 0; d < ws.D; ++d) {
    gemm_packed<T>((t1 - t0) * ws.N, ws.gates(l, d, t0), GH, pass.params.packed(l, d).ih, d > 0,
                   ws.layer_input_grad(l, t0), in);
  }
  if (l > 0 && ws.dropout > 0) apply_dropout_grad(pass, l, t0, t1);
}

template <class T>
void weight_grad(Pass<T>& pass, int64_t l, int64_t d, int64_t t0, int64_t t1, WeightGradSide side) {
  auto& ws = pass.ws;
  BasicWeights<T>& g = *pass.grads;
  const int64_t in = ws.layer_input_size(l), H = ws.H, GH = ws.G * ws.H, ldh = ws.ld_h();
  const int64_t rows = (t1 - t0) * ws.N;
  const T* dgates = ws.gates(l, d, t0);
  if (side == WeightGradSide::input) {
    gemm<T>(Trans::yes, Trans::no, GH, in, rows, T(1), dgates, GH, ws.layer_input(l, t0), in,
            T(1), g.get(ParamKind::weight_ih, l, d).data(), in);
    add_column_sums(dgates, rows, GH, GH, g.get(ParamKind::bias_ih, l, d).data());
    return;
  }
  // The previous states of steps t0..t1-1 are consecutive slots (see workspace.h).
  const T* h_prev = ws.h(l, WorkspaceImpl<T>::prev_slot(d, t0)) + d * H;
  T* dw_hh = g.get(ParamKind::weight_hh, l, d).data();
  T* db_hh = g.get(ParamKind::bias_hh, l, d).data();
  if (ws.spec.cell == CellKind::gru) {
    // The hidden side differs from the input side in the n gate only: dn*r, kept in gru_hn.
    const T* dhn = ws.gru_hn(l, d, t0);
    gemm<T>(Trans::yes, Trans::no, 2 * H, H, rows, T(1), dgates, GH, h_prev, ldh, T(1), dw_hh, H);
    gemm<T>(Trans::yes, Trans::no, H, H, rows, T(1), dhn, H, h_prev, ldh, T(1), dw_hh + 2 * H * H,
            H);
    add_column_sums(dgates, rows, 2 * H, GH, db_hh);
    add_column_sums(dhn, rows, H, H, db_hh + 2 * H);
  } else {
    gemm<T>(Trans::yes, Trans::no, GH, H, rows, T(1), dgates, GH, h_prev, ldh, T(1), dw_hh, H);
    add_column_sums(dgates, rows, GH, GH, db_hh);
  }
}

template <class T>
void weight_grad(Pass<T>& pass, int64_t l, int64_t d, int64_t t0, int64_t t1) {
  for (WeightGradSide side : kWeightGradSides) weight_grad(pass, l, d, t0, t1, side);
}

#define RNNWAVE_STEP_OP(T, op) \
  template void op<T>(Pass<T>&, int64_t, int64_t, int64_t, const StepPart&);
#define RNNWAVE_INSTANTIATE(T)                                                           \
  template void project_input<T>(Pass<T>&, int64_t, int64_t, int64_t, int64_t);          \
  RNNWAVE_STEP_OP(T, forward_recurrent_gemm)                                             \
  RNNWAVE_STEP_OP(T, forward_pointwise)                                                  \
  RNNWAVE_STEP_OP(T, forward_step)                                                       \
  RNNWAVE_STEP_OP(T, backward_pointwise)                                                 \
  RNNWAVE_STEP_OP(T, backward_recurrent_gemm)                                            \
  RNNWAVE_STEP_OP(T, backward_step)                                                      \
  template void input_grad<T>(Pass<T>&, int64_t, int64_t, int64_t);                      \
  template void weight_grad<T>(Pass<T>&, int64_t, int64_t, int64_t, int64_t);              \
  template void weight_grad<T>(Pass<T>&, int64_t, int64_t, int64_t, int64_t, WeightGradSide);
RNNWAVE_INSTANTIATE(float)
RNNWAVE_INSTANTIATE(double)
#undef RNNWAVE_INSTANTIATE
#undef RNNWAVE_STEP_OP

}  // namespace rnnwave
