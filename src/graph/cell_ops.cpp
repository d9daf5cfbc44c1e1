#include "graph/cell_ops.h"

#include <algorithm>
#include <type_traits>

#include "graph/dropout.h"
#include "kernels/packed_bf16.h"
#include "kernels/packed_gemm.h"
#include "kernels/weight_grad_product.h"

namespace rnnwave {
namespace {

using cells::Where;
using kernels::gemm_packed;

/// Adds the column sums of a [rows, cols] matrix (row stride ld) to out, rows in order.
template <class T>
void add_column_sums(const T* a, int64_t rows, int64_t cols, int64_t ld, T* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = a + r * ld;
    for (int64_t j = 0; j < cols; ++j) out[j] += row[j];
  }
}

/// Adds sum_r a[r][j] * b[r][j] to out[j], rows in order.
template <class T>
void add_diagonal_sums(Mat<T> a, Mat<T> b, int64_t rows, int64_t cols, T* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* x = a.row(r);
    const T* y = b.row(r);
    for (int64_t j = 0; j < cols; ++j) out[j] += x[j] * y[j];
  }
}

/// The matrix `ref` names at step t of (l, d), from row r0 and the ref's column.
template <class T>
Mat<T> resolve(Pass<T>& pass, const cells::Ref& ref, int64_t l, int64_t d, int64_t t, int64_t r0) {
  auto& ws = pass.ws;
  const int64_t prev = ws.prev_slot_of(d, t), out = WorkspaceImpl<T>::out_slot(t);
  Mat<T> m;
  switch (ref.where) {
    case Where::none: return m;
    case Where::gates: m = ws.gates(l, d, t); break;
    case Where::state_prev: m = ws.state(ref.index, l, d, prev); break;
    case Where::state_out: m = ws.state(ref.index, l, d, out); break;
    case Where::buffer: m = ws.buffer(ref.index, l, d, t); break;
    case Where::grad_state_prev: m = ws.grad_state(ref.index, l, d, prev); break;
    case Where::grad_state_next: m = ws.grad_state(ref.index, l, d, out); break;
  }
  return {m.p + r0 * m.ld + ref.col.of(pass.desc().dims(l)), m.ld};
}

/// Mat m from row r0 and column c.
template <class T>
Mat<T> at(Mat<T> m, int64_t r0, int64_t c) {
  return {m.p + r0 * m.ld + c, m.ld};
}

/// Rows [part.r0, end) and hidden units [part.u0, part.u1) of step t of (l, d), as the
/// pointwise math sees them.
template <class T>
cells::StepView<T> step_view(Pass<T>& pass, int64_t l, int64_t d, int64_t t,
                             const StepPart& part, int64_t end, bool backward) {
  auto& ws = pass.ws;
  const ProblemDesc& p = pass.desc();
  const int64_t r0 = part.r0, u = part.u0;
  const int64_t prev = ws.prev_slot_of(d, t), out = WorkspaceImpl<T>::out_slot(t);
  cells::StepView<T> s;
  s.rows = end - r0;
  s.units = part.u1 - part.u0;
  s.hidden = p.H;
  s.output = p.Hs;
  s.gates = at(ws.gates(l, d, t), r0, u);
  for (int64_t k = 0; k < p.states; ++k) {
    s.state_prev[k] = at(ws.state(k, l, d, prev), r0, u);
    s.state_out[k] = at(ws.state(k, l, d, out), r0, u);
  }
  for (int64_t b = 0; b < p.buffers; ++b) s.buffer[b] = at(ws.buffer(b, l, d, t), r0, u);
  if (p.cell->clip_mask >= 0) {
    s.clip = static_cast<T>(p.spec.cell_clip);
    s.keep = s.buffer[p.cell->clip_mask];
  }
  for (size_t v = 0; v < p.cell->vectors.size(); ++v) {
    s.vec[v] = pass.params.vector(static_cast<int64_t>(v), l, d) + u;
  }
  if (backward) {
    s.grad_above = at(ws.dh_above(l, t), r0, d * p.Hs + u);
    for (int64_t k = 0; k < p.states; ++k) {
      s.grad_state_prev[k] = at(ws.grad_state(k, l, d, prev), r0, u);
      s.grad_state_next[k] = at(ws.grad_state(k, l, d, out), r0, u);
    }
  }
  return s;
}

/// Whether step t's products walk their panels last to first (see unit_panels).
bool walks_panels_back(int64_t t) { return t % 2 != 0; }

/// The panels of a packed matrix that hold the columns of hidden units [u0, u1) in each
/// of `groups` groups (gates) for a product of step t: all of them when the part spans
/// every unit, else those units of every group, unit by unit (so a register tile computes
/// every gate of them). Odd steps walk them backward (PanelRange::reverse), so that a
/// core running a layer's steps one after another starts each step's weights with those
/// the step before read last, still in its L2. Measured on the Intel machine against the
/// walk always forward (docs/benchmarks.md): stacks at H = 1024, N = 1, two threads,
/// 1.15-1.40x (each core's share of a layer's recurrent weights, 4-8 MiB, against a
/// 2 MiB L2), 1.07x at one thread; level at N = 64.
template <class Packed>
kernels::PanelRange unit_panels(const Packed& b, const StepPart& part, int64_t hidden,
                                int64_t groups, int64_t t) {
  kernels::PanelRange range;
  range.reverse = walks_panels_back(t);
  if (part.u0 == 0 && part.u1 == hidden) return range;
  range.begin = part.u0 / kernels::kPanelWidth;
  range.end = (part.u1 + kernels::kPanelWidth - 1) / kernels::kPanelWidth;
  range.groups = groups;
  range.stride = b.panels_per_group();
  return range;
}

/// Index of the first product of stage s among all the cell's products.
size_t first_product(const cells::CellDef& cell, size_t stage) {
  size_t first = 0;
  for (size_t s = 0; s < stage; ++s) first += cell.stages[s].products.size();
  return first;
}

/// C = A W^T (+ C) for every product of stage s, rows [part.r0, end), the units of part.
template <class T>
void products_forward(Pass<T>& pass, size_t s, int64_t l, int64_t d, int64_t t,
                      const StepPart& part, int64_t end) {
  const cells::CellDef& cell = *pass.desc().cell;
  const auto& packed = pass.params.packed(l, d).products;
  const auto& products = cell.stages[s].products;
  // Odd steps also take the products last to first (see unit_panels), so that the step
  // starts with the matrix the step before read last; not where a product adds to what
  // another wrote, whose order fixes the bits.
  const bool last_first = walks_panels_back(t) &&
                          std::none_of(products.begin(), products.end(),
                                       [](const auto& q) { return q.accumulate; });
  const size_t first = first_product(cell, s);
  for (size_t j = 0; j < products.size(); ++j) {
    const size_t k = last_first ? products.size() - 1 - j : j;
    const cells::ProductDecl& product = products[k];
    const Mat<T> a = resolve(pass, product.a, l, d, t, part.r0);
    const Mat<T> c = resolve(pass, product.c, l, d, t, part.r0);
    const size_t i = first + k;
    if (i == 0 && steps_fuse_input(pass.desc(), l)) {
      const Mat<T> x = at(pass.ws.layer_input(l, t), part.r0, 0);
      const kernels::PackedMatrix<T>& w = packed[i].forward;
      gemm_packed<T>(end - part.r0, x.p, x.ld, pass.params.packed(l, d).ih_t,
                     kernels::SecondProduct<T>{a.p, a.ld, &w}, false, c.p, c.ld,
                     unit_panels(w, part, pass.desc().H, product.groups, t));
      continue;
    }
    // Every unit's outputs need the whole of A.
    if constexpr (std::is_same_v<T, float>) {
      if (pass.desc().bf16) {
        const kernels::PackedBf16& w = pass.params.packed_bf16(l, d).products[i];
        kernels::gemm_packed_bf16(end - part.r0, a.p, a.ld, w, product.accumulate, c.p, c.ld,
                                  unit_panels(w, part, pass.desc().H, product.groups, t));
        continue;
      }
    }
    const kernels::PackedMatrix<T>& w = packed[i].forward;
    gemm_packed<T>(end - part.r0, a.p, a.ld, w, product.accumulate, c.p, c.ld,
                   unit_panels(w, part, pass.desc().H, product.groups, t));
  }
}

/// dA = dC W (+ dA) for every product of stage s, in declared order, rows [part.r0, end),
/// the units [u0, u1) of dA: they need every column of dC.
template <class T>
void products_backward(Pass<T>& pass, size_t s, int64_t l, int64_t d, int64_t t,
                       const StepPart& part, int64_t end) {
  const cells::CellDef& cell = *pass.desc().cell;
  const auto& packed = pass.params.packed(l, d).products;
  size_t index = first_product(cell, s);
  for (const cells::ProductDecl& product : cell.stages[s].products) {
    const Mat<T> dc = resolve(pass, product.grad_c, l, d, t, part.r0);
    const Mat<T> da = resolve(pass, product.grad_a, l, d, t, part.r0);
    const kernels::PackedMatrix<T>& w = packed[index++].backward;
    gemm_packed<T>(end - part.r0, dc.p, dc.ld, w, product.grad_accumulate, da.p, da.ld,
                   unit_panels(w, part, pass.desc().H, 1, t));
  }
}

/// Zeroes, for the rows of the part that have finished at step t, the units of the part
/// in the gate gradients and in every step buffer: the products over blocks of steps that
/// follow then include them harmlessly.
template <class T>
void zero_finished_rows(Pass<T>& pass, int64_t l, int64_t d, int64_t t, const StepPart& part,
                        int64_t end) {
  auto& ws = pass.ws;
  const ProblemDesc& p = pass.desc();
  const bool all_units = part.u0 == 0 && part.u1 == p.H;
  auto zero = [&](Mat<T> m, int64_t width) {
    for (int64_t r = end; r < part.r1; ++r) {
      if (all_units) {
        std::fill_n(m.row(r), width, T(0));
        continue;
      }
      for (int64_t g = 0; g < width / p.H; ++g) {
        std::fill_n(m.row(r) + g * p.H + part.u0, part.u1 - part.u0, T(0));
      }
    }
  };
  zero(ws.gates(l, d, t), p.GH());
  for (int64_t b = 0; b < p.buffers; ++b) {
    if (p.cell->buffers[b].life == cells::Life::step) zero(ws.buffer(b, l, d, t), p.buffer_width[b]);
  }
}

}  // namespace

int64_t weight_grad_terms(const ProblemDesc& desc) {
  return 1 + static_cast<int64_t>(first_product(*desc.cell, desc.cell->stages.size()) +
                                  desc.cell->sums.size());
}

namespace {

/// The panels of W_ih^T (groups of one, H whole panels) that hold the gate columns of
/// hidden units [u0, u1): every panel when that is all of them.
kernels::PanelRange input_panels(const ProblemDesc& p, int64_t u0, int64_t u1) {
  if (u0 == 0 && u1 == p.H) return {};
  const int64_t width = kernels::kPanelWidth;
  return {u0 / width, u1 / width, p.G, p.H / width};
}

}  // namespace

template <class T>
void project_input(Pass<T>& pass, int64_t l, int64_t d, int64_t t0, int64_t t1, int64_t u0,
                   int64_t u1) {
  if (steps_project_input(pass.desc(), l)) return;  // the steps do it
  auto& ws = pass.ws;
  const Mat<T> x = ws.layer_input(l, t0), gates = ws.gates(l, d, t0);
  const kernels::PanelRange units = input_panels(pass.desc(), u0, u1);
  if constexpr (std::is_same_v<T, float>) {
    if (pass.desc().bf16) {
      kernels::gemm_packed_bf16((t1 - t0) * pass.desc().N, x.p, x.ld,
                                pass.params.packed_bf16(l, d).ih_t, false, gates.p, gates.ld, units);
      return;
    }
  }
  gemm_packed<T>((t1 - t0) * pass.desc().N, x.p, x.ld, pass.params.packed(l, d).ih_t, false,
                 gates.p, gates.ld, units);
}

/// gates = x W_ih^T for rows [part.r0, end) and the units of part, in a step that projects
/// its own input apart from the cell's products (steps_project_input, not fused).
template <class T>
void project_step_input(Pass<T>& pass, int64_t l, int64_t d, int64_t t, const StepPart& part,
                        int64_t end) {
  const ProblemDesc& p = pass.desc();
  const Mat<T> x = at(pass.ws.layer_input(l, t), part.r0, 0);
  const Mat<T> gates = at(pass.ws.gates(l, d, t), part.r0, 0);
  const kernels::PanelRange units = input_panels(p, part.u0, part.u1);  // H is whole panels here
  gemm_packed<T>(end - part.r0, x.p, x.ld, pass.params.packed(l, d).ih_t, false, gates.p, gates.ld,
                 units);
}

template <class T>
void forward_step(Pass<T>& pass, int64_t l, int64_t d, int64_t t, const StepPart& part) {
  const int64_t end = pass.ws.order.active_end(t, part.r0, part.r1);
  if (end == part.r0) return;
  const cells::CellDef& cell = *pass.desc().cell;
  if (steps_project_input(pass.desc(), l) && !steps_fuse_input(pass.desc(), l)) {
    project_step_input(pass, l, d, t, part, end);
  }
  const cells::StepView<T> view = step_view(pass, l, d, t, part, end, false);
  for (size_t s = 0; s < cell.stages.size(); ++s) {
    products_forward(pass, s, l, d, t, part, end);
    if (const auto math = cell.math<T>(s).forward) math(view);
  }
}

template <class T>
void backward_pointwise(Pass<T>& pass, int64_t l, int64_t d, int64_t t, const StepPart& part) {
  const int64_t end = pass.ws.order.active_end(t, part.r0, part.r1);
  zero_finished_rows(pass, l, d, t, part, end);
  if (end == part.r0) return;
  if (const auto math = pass.desc().cell->template math<T>(0).backward) {
    math(step_view(pass, l, d, t, part, end, true));
  }
}

template <class T>
void backward_products(Pass<T>& pass, int64_t l, int64_t d, int64_t t, const StepPart& part) {
  const int64_t end = pass.ws.order.active_end(t, part.r0, part.r1);
  if (end == part.r0) return;
  products_backward(pass, 0, l, d, t, part, end);
}

template <class T>
void backward_step(Pass<T>& pass, int64_t l, int64_t d, int64_t t, const StepPart& part) {
  const int64_t end = pass.ws.order.active_end(t, part.r0, part.r1);
  zero_finished_rows(pass, l, d, t, part, end);
  if (end == part.r0) return;
  const cells::CellDef& cell = *pass.desc().cell;
  const cells::StepView<T> view = step_view(pass, l, d, t, part, end, true);
  for (size_t s = cell.stages.size(); s-- > 0;) {
    if (const auto math = cell.math<T>(s).backward) math(view);
    products_backward(pass, s, l, d, t, part, end);
  }
}

template <class T>
void input_grad(Pass<T>& pass, int64_t l, int64_t t0, int64_t t1) {
  auto& ws = pass.ws;
  const Mat<T> dx = ws.layer_input_grad(l, t0);
  for (int64_t d = 0; d < pass.desc().D; ++d) {
    const Mat<T> dgates = ws.gates(l, d, t0);
    gemm_packed<T>((t1 - t0) * pass.desc().N, dgates.p, dgates.ld, pass.params.packed(l, d).ih,
                   d > 0, dx.p, dx.ld);
  }
  if (l > 0 && ws.dropout > 0) apply_dropout_grad(pass, l, t0, t1);
}

template <class T>
void weight_grad(Pass<T>& pass, int64_t l, int64_t d, int64_t t0, int64_t t1, int64_t term) {
  auto& ws = pass.ws;
  const ProblemDesc& p = pass.desc();
  const cells::CellDef& cell = *p.cell;
  const cells::Dims dims = p.dims(l);
  const int64_t rows = (t1 - t0) * p.N;
  // The parameters of (l, d) in the gradient, by the definition's index.
  auto param = [&](int index) {
    return pass.grads->values(static_cast<size_t>((l * p.D + d) * cell.params.size() + index)).data();
  };
  // The first block writes each term's parameters, the others add to them.
  const bool first = first_weight_grad_block(p.T, p.N, p.walks_back(d), t0);
  // The blocks' matrices: consecutive steps are consecutive rows (see workspace.h).
  if (term == 0) {
    const Mat<T> dgates = ws.gates(l, d, t0), x = ws.layer_input(l, t0);
    kernels::weight_grad_product<T>(p.GH(), x.ld, rows, dgates.p, dgates.ld, x.p, x.ld, !first,
                                    param(cells::kWeightIh), x.ld);
    return;
  }
  size_t index = static_cast<size_t>(term - 1);
  for (const cells::StageDecl& stage : cell.stages) {
    if (index >= stage.products.size()) {
      index -= stage.products.size();
      continue;
    }
    const cells::ProductDecl& product = stage.products[index];
    const Mat<T> dc = resolve(pass, product.grad_c, l, d, t0, 0);
    const Mat<T> a = resolve(pass, product.a, l, d, t0, 0);
    const int64_t k = cell.params[product.param].cols.of(dims);
    kernels::weight_grad_product<T>(product.rows.of(dims), k, rows, dc.p, dc.ld, a.p, a.ld, !first,
                                    param(product.param) + product.row0.of(dims) * k, k);
    return;
  }
  const cells::SumDecl& sum = cell.sums[index];
  const Mat<T> dc = resolve(pass, sum.grad_c, l, d, t0, 0);
  T* out = param(sum.param) + sum.offset.of(dims);
  if (first) std::fill_n(out, sum.width.of(dims), T(0));
  if (sum.kind == cells::Sum::column) {
    add_column_sums(dc.p, rows, sum.width.of(dims), dc.ld, out);
  } else {
    add_diagonal_sums(dc, resolve(pass, sum.a, l, d, t0, 0), rows, sum.width.of(dims), out);
  }
}

template <class T>
void weight_grad(Pass<T>& pass, int64_t l, int64_t d, int64_t t0, int64_t t1) {
  const int64_t terms = weight_grad_terms(pass.desc());
  for (int64_t term = 0; term < terms; ++term) weight_grad(pass, l, d, t0, t1, term);
}

#define RNNWAVE_STEP_OP(T, op) \
  template void op<T>(Pass<T>&, int64_t, int64_t, int64_t, const StepPart&);
#define RNNWAVE_INSTANTIATE(T)                                                           \
  template void project_input<T>(Pass<T>&, int64_t, int64_t, int64_t, int64_t, int64_t,   \
                                 int64_t);                                               \
  RNNWAVE_STEP_OP(T, forward_step)                                                       \
  RNNWAVE_STEP_OP(T, backward_pointwise)                                                 \
  RNNWAVE_STEP_OP(T, backward_products)                                                  \
  RNNWAVE_STEP_OP(T, backward_step)                                                      \
  template void input_grad<T>(Pass<T>&, int64_t, int64_t, int64_t);                      \
  template void weight_grad<T>(Pass<T>&, int64_t, int64_t, int64_t, int64_t);              \
  template void weight_grad<T>(Pass<T>&, int64_t, int64_t, int64_t, int64_t, int64_t);
RNNWAVE_INSTANTIATE(float)
RNNWAVE_INSTANTIATE(double)
#undef RNNWAVE_INSTANTIATE
#undef RNNWAVE_STEP_OP

}  // namespace rnnwave
