#include "graph/cell_ops.h"

#include <algorithm>
#include <cstring>

#include "cells/cell_table.h"
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

/// The rows [r0, end) of step t of (l, d) as the pointwise math sees them.
template <class T>
StepBuffers<T> step_buffers(Pass<T>& pass, int64_t l, int64_t d, int64_t t, int64_t r0,
                            int64_t end, bool backward) {
  auto& ws = pass.ws;
  const int64_t H = ws.H, GH = ws.G * ws.H, ldh = ws.ld_h();
  const int64_t prev = WorkspaceImpl<T>::prev_slot(d, t), out = WorkspaceImpl<T>::out_slot(t);
  const CellKind kind = ws.spec.cell;
  StepBuffers<T> s;
  s.rows = end - r0;
  s.hidden = H;
  s.units = H;
  s.ld_h = ldh;
  s.gates = ws.gates(l, d, t) + r0 * GH;
  s.bias = pass.params.step_bias(l, d);
  s.h_prev = ws.h(l, prev) + r0 * ldh + d * H;
  s.h_out = ws.h(l, out) + r0 * ldh + d * H;
  if (kind == CellKind::lstm) {
    s.c_prev = ws.c(l, d, prev) + r0 * H;
    s.c_out = ws.c(l, d, out) + r0 * H;
  }
  if (kind == CellKind::gru) {
    s.recurrent = ws.gru_recurrent(l, d) + r0 * GH;
    s.gru_hn = ws.gru_hn(l, d, t) + r0 * H;
    s.bias_hh = pass.params.b_hh(l, d);
  }
  if (backward) {
    s.dh_above = ws.dh_above(l, t) + r0 * ldh + d * H;
    s.dh_next = ws.drec_h(l, d, out) + r0 * H;
    s.dh_prev = ws.drec_h(l, d, prev) + r0 * H;
    if (kind == CellKind::lstm) {
      s.dc_next = ws.drec_c(l, d, out) + r0 * H;
      s.dc_prev = ws.drec_c(l, d, prev) + r0 * H;
    }
  }
  return s;
}

}  // namespace

template <class T>
void project_input(Pass<T>& pass, int64_t l, int64_t d, int64_t t0, int64_t t1) {
  auto& ws = pass.ws;
  gemm_packed<T>((t1 - t0) * ws.N, ws.layer_input(l, t0), ws.layer_input_size(l),
                 pass.params.packed(l, d).ih_t, false, ws.gates(l, d, t0), ws.G * ws.H);
}

template <class T>
void forward_recurrent_gemm(Pass<T>& pass, int64_t l, int64_t d, int64_t t, int64_t r0,
                            int64_t r1) {
  const int64_t end = pass.ws.order.active_end(t, r0, r1);
  if (end == r0) return;
  const StepBuffers<T> s = step_buffers(pass, l, d, t, r0, end, false);
  // GRU keeps h W_hh^T apart: its n gate needs W_hn h + b_hn inside the reset product.
  const bool gru = pass.ws.spec.cell == CellKind::gru;
  gemm_packed<T>(s.rows, s.h_prev, s.ld_h, pass.params.packed(l, d).hh_t, !gru,
                 gru ? const_cast<T*>(s.recurrent) : s.gates, pass.ws.G * s.hidden);
}

template <class T>
void forward_pointwise(Pass<T>& pass, int64_t l, int64_t d, int64_t t, int64_t r0, int64_t r1) {
  const int64_t end = pass.ws.order.active_end(t, r0, r1);
  if (end == r0) return;
  cells::cell_ops<T>(pass.ws.spec.cell).forward(step_buffers(pass, l, d, t, r0, end, false));
}

template <class T>
void forward_step(Pass<T>& pass, int64_t l, int64_t d, int64_t t, int64_t r0, int64_t r1) {
  forward_recurrent_gemm(pass, l, d, t, r0, r1);
  forward_pointwise(pass, l, d, t, r0, r1);
}

template <class T>
void backward_pointwise(Pass<T>& pass, int64_t l, int64_t d, int64_t t, int64_t r0, int64_t r1) {
  auto& ws = pass.ws;
  const int64_t end = ws.order.active_end(t, r0, r1);
  const int64_t H = ws.H, GH = ws.G * ws.H;
  // Finished rows contribute nothing to the GEMMs over blocks of steps that follow.
  std::memset(ws.gates(l, d, t) + end * GH, 0, sizeof(T) * (r1 - end) * GH);
  if (ws.spec.cell == CellKind::gru) {
    std::memset(ws.gru_hn(l, d, t) + end * H, 0, sizeof(T) * (r1 - end) * H);
  }
  if (end == r0) return;
  cells::cell_ops<T>(ws.spec.cell).backward(step_buffers(pass, l, d, t, r0, end, true));
}

template <class T>
void backward_recurrent_gemm(Pass<T>& pass, int64_t l, int64_t d, int64_t t, int64_t r0,
                             int64_t r1) {
  const int64_t end = pass.ws.order.active_end(t, r0, r1);
  if (end == r0) return;
  const StepBuffers<T> s = step_buffers(pass, l, d, t, r0, end, true);
  const int64_t H = s.hidden, GH = pass.ws.G * H;
  const PackedWeights<T>& w = pass.params.packed(l, d);
  if (pass.ws.spec.cell == CellKind::gru) {
    // dh_prev = dh*z (written by the pointwise step) + [dr, dz] W_h{r,z} + (dn*r) W_hn
    gemm_packed<T>(s.rows, s.gates, GH, w.hh, true, s.dh_prev, H);
    gemm_packed<T>(s.rows, s.gru_hn, H, w.hh_n, true, s.dh_prev, H);
  } else {
    gemm_packed<T>(s.rows, s.gates, GH, w.hh, false, s.dh_prev, H);
  }
}

template <class T>
void backward_step(Pass<T>& pass, int64_t l, int64_t d, int64_t t, int64_t r0, int64_t r1) {
  backward_pointwise(pass, l, d, t, r0, r1);
  backward_recurrent_gemm(pass, l, d, t, r0, r1);
}

template <class T>
void input_grad(Pass<T>& pass, int64_t l, int64_t t0, int64_t t1) {
  auto& ws = pass.ws;
  const int64_t in = ws.layer_input_size(l), GH = ws.G * ws.H;
  for (int64_t d = 0; d < ws.D; ++d) {
    gemm_packed<T>((t1 - t0) * ws.N, ws.gates(l, d, t0), GH, pass.params.packed(l, d).ih, d > 0,
                   ws.layer_input_grad(l, t0), in);
  }
}

template <class T>
void weight_grad(Pass<T>& pass, int64_t l, int64_t d, int64_t t0, int64_t t1) {
  auto& ws = pass.ws;
  BasicWeights<T>& g = *pass.grads;
  const int64_t in = ws.layer_input_size(l), H = ws.H, GH = ws.G * ws.H, ldh = ws.ld_h();
  const int64_t rows = (t1 - t0) * ws.N;
  const T* dgates = ws.gates(l, d, t0);
  // The previous states of steps t0..t1-1 are consecutive slots (see workspace.h).
  const T* h_prev = ws.h(l, WorkspaceImpl<T>::prev_slot(d, t0)) + d * H;
  T* dw_ih = g.get(ParamKind::weight_ih, l, d).data();
  T* dw_hh = g.get(ParamKind::weight_hh, l, d).data();
  T* db_ih = g.get(ParamKind::bias_ih, l, d).data();
  T* db_hh = g.get(ParamKind::bias_hh, l, d).data();

  gemm<T>(Trans::yes, Trans::no, GH, in, rows, T(1), dgates, GH, ws.layer_input(l, t0), in, T(1),
          dw_ih, in);
  add_column_sums(dgates, rows, GH, GH, db_ih);
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

#define RNNWAVE_STEP_OP(T, op) \
  template void op<T>(Pass<T>&, int64_t, int64_t, int64_t, int64_t, int64_t);
#define RNNWAVE_INSTANTIATE(T)                                                           \
  template void project_input<T>(Pass<T>&, int64_t, int64_t, int64_t, int64_t);          \
  RNNWAVE_STEP_OP(T, forward_recurrent_gemm)                                             \
  RNNWAVE_STEP_OP(T, forward_pointwise)                                                  \
  RNNWAVE_STEP_OP(T, forward_step)                                                       \
  RNNWAVE_STEP_OP(T, backward_pointwise)                                                 \
  RNNWAVE_STEP_OP(T, backward_recurrent_gemm)                                            \
  RNNWAVE_STEP_OP(T, backward_step)                                                      \
  template void input_grad<T>(Pass<T>&, int64_t, int64_t, int64_t);                      \
  template void weight_grad<T>(Pass<T>&, int64_t, int64_t, int64_t, int64_t);
RNNWAVE_INSTANTIATE(float)
RNNWAVE_INSTANTIATE(double)
#undef RNNWAVE_INSTANTIATE
#undef RNNWAVE_STEP_OP

}  // namespace rnnwave
