#include "graph/boundary.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace rnnwave {
namespace {

/// Row n of state (l, d) of a [L*D, N, w] tensor, or null if the tensor is empty.
template <class T>
T* state_row(std::span<T> states, const ProblemDesc& p, int64_t width, int64_t l, int64_t d,
             int64_t n) {
  return states.empty() ? nullptr : states.data() + ((l * p.D + d) * p.N + n) * width;
}

template <class T>
void copy_or_zero(const T* src, T* dst, int64_t count) {
  if (src == nullptr) {
    std::fill(dst, dst + count, T(0));
  } else {
    std::memcpy(dst, src, sizeof(T) * count);
  }
}

/// Slot holding the initial state of internal row i in direction d (see workspace.h).
int64_t start_slot(const ProblemDesc& p, const BatchOrder& order, int64_t d, int64_t i) {
  return p.walks_back(d) ? order.lengths[i] + 1 : 0;
}

/// Slot holding the final state of internal row i in direction d.
int64_t final_slot(const ProblemDesc& p, const BatchOrder& order, int64_t d, int64_t i) {
  return p.walks_back(d) ? 1 : order.lengths[i];
}

/// Calls f(k, l, d, i, n, width) for every state k, layer, direction and internal row i
/// (the caller's row n).
template <class F>
void for_each_state_row(const ProblemDesc& p, const BatchOrder& order, F&& f) {
  for (int64_t k = 0; k < p.states; ++k) {
    for (int64_t l = 0; l < p.L; ++l) {
      for (int64_t d = 0; d < p.D; ++d) {
        for (int64_t i = 0; i < p.N; ++i) f(k, l, d, i, order.source[i], p.state_width[k]);
      }
    }
  }
}

/// Zeroes the state rows no step writes: those past each sequence's end, and the last
/// slot. They are read as the input of the layer above and as previous states by the
/// weight-gradient products (times a zero gradient), so they must hold finite values.
template <class T>
void zero_unwritten_states(WorkspaceImpl<T>& ws) {
  const ProblemDesc& p = ws.desc;
  for (int64_t l = 0; l < p.L; ++l) {
    for (int64_t t = 0; t <= p.T; ++t) {
      const int64_t slot = t + 1, first = t < p.T ? ws.order.active[t] : 0;
      std::fill(ws.h(l, slot) + first * p.ld_h(), ws.h(l, slot) + p.N * p.ld_h(), T(0));
      for (int64_t k = 1; k < p.states; ++k) {
        for (int64_t d = 0; d < p.D; ++d) {
          const Mat<T> m = ws.state(k, l, d, slot);
          std::fill(m.row(first), m.row(p.N), T(0));
        }
      }
    }
  }
}

}  // namespace

template <class T>
void load_input(WorkspaceImpl<T>& ws, std::span<const T> input, bool streamed) {
  if (!ws.desc.copies_input()) {
    ws.input_ptr = input.data();
    return;
  }
  if (!streamed) gather_rows(ws.order, ws.desc.T, ws.desc.I, input.data(), ws.input());
  ws.input_ptr = ws.input();
}

template <class T>
void load_output_grad_steps(WorkspaceImpl<T>& ws, std::span<const T> grad_output, int64_t t0, int64_t t1) {
  const ProblemDesc& p = ws.desc;
  if (p.identity_order) return;  // the pass reads the caller's buffer
  const int64_t step = p.N * p.ld_h();
  gather_rows(ws.order, t1 - t0, p.ld_h(), grad_output.data() + t0 * step, ws.grad_output() + t0 * step);
}

template <class T>
void store_input_grad_steps(WorkspaceImpl<T>& ws, std::span<T> grad_input, int64_t t0, int64_t t1) {
  const ProblemDesc& p = ws.desc;
  if (p.identity_order) return;  // the pass wrote the caller's buffer
  const int64_t step = p.N * p.I;
  scatter_rows(ws.order, t1 - t0, p.I, ws.grad_input() + t0 * step, grad_input.data() + t0 * step);
}

template <class T>
void load_input_steps(WorkspaceImpl<T>& ws, std::span<const T> input, int64_t t0, int64_t t1) {
  if (!ws.desc.copies_input()) return;  // the pass reads the caller's buffer
  const int64_t step = ws.desc.N * ws.desc.I;
  gather_rows(ws.order, t1 - t0, ws.desc.I, input.data() + t0 * step, ws.input() + t0 * step);
}

template <class T>
void load_initial_states(WorkspaceImpl<T>& ws, const StateSpans<const T>& initial) {
  zero_unwritten_states<T>(ws);
  const ProblemDesc& p = ws.desc;
  for_each_state_row(p, ws.order, [&](int64_t k, int64_t l, int64_t d, int64_t i, int64_t n,
                                      int64_t w) {
    copy_or_zero<T>(state_row(initial[k], p, w, l, d, n),
                    ws.state(k, l, d, start_slot(p, ws.order, d, i)).row(i), w);
  });
}

template <class T>
void place_output(WorkspaceImpl<T>& ws, std::span<T> output,
                  std::initializer_list<std::span<const T>> others) {
  const ProblemDesc& p = ws.desc;
  ws.direct_output = nullptr;
  const bool full = ws.order.active.empty() || ws.order.active.back() == p.N;
  if (p.training || !ws.order.identity || !full || output.empty()) return;
  const auto begin = reinterpret_cast<uintptr_t>(output.data());
  const auto end = reinterpret_cast<uintptr_t>(output.data() + output.size());
  for (const std::span<const T> other : others) {
    const auto o = reinterpret_cast<uintptr_t>(other.data());
    if (!other.empty() && o < end && begin < o + other.size() * sizeof(T)) return;
  }
  ws.direct_output = output.data();
}

template <class T>
void store_output_steps(WorkspaceImpl<T>& ws, std::span<T> output, int64_t t0, int64_t t1) {
  const ProblemDesc& p = ws.desc;
  if (output.data() == ws.direct_output) return;  // the steps wrote it
  const int64_t DH = p.ld_h(), top = p.L - 1;
  for (int64_t t = t0; t < t1; ++t) {
    const T* states = ws.h(top, WorkspaceImpl<T>::out_slot(t));
    for (int64_t i = 0; i < p.N; ++i) {
      T* dst = output.data() + (t * p.N + ws.order.source[i]) * DH;
      copy_or_zero<T>(i < ws.order.active[t] ? states + i * DH : nullptr, dst, DH);
    }
  }
}

template <class T>
void store_final_states(WorkspaceImpl<T>& ws, const StateSpans<T>& final_states) {
  const ProblemDesc& p = ws.desc;
  for_each_state_row(p, ws.order, [&](int64_t k, int64_t l, int64_t d, int64_t i, int64_t n,
                                      int64_t w) {
    if (final_states[k].empty()) return;
    copy_or_zero<T>(ws.state(k, l, d, final_slot(p, ws.order, d, i)).row(i),
                    state_row(final_states[k], p, w, l, d, n), w);
  });
}

template <class T>
void load_output_grads(WorkspaceImpl<T>& ws, std::span<const T> grad_output,
                       const StateSpans<const T>& grad_final, std::span<T> grad_input, bool streamed) {
  const ProblemDesc& p = ws.desc;
  if (p.identity_order) {
    ws.grad_output_ptr = grad_output.data();
    ws.grad_input_ptr = grad_input.data();
  } else {
    if (!streamed) gather_rows(ws.order, p.T, p.ld_h(), grad_output.data(), ws.grad_output());
    ws.grad_output_ptr = ws.grad_output();
    ws.grad_input_ptr = ws.grad_input();
  }
  // The gradient into a final state enters where that state was written: the backward
  // step that produced it reads it as "gradient from the next step".
  for_each_state_row(p, ws.order, [&](int64_t k, int64_t l, int64_t d, int64_t i, int64_t n,
                                      int64_t w) {
    copy_or_zero<T>(state_row(grad_final[k], p, w, l, d, n),
                    ws.grad_state(k, l, d, final_slot(p, ws.order, d, i)).row(i), w);
  });
}

template <class T>
void store_input_grads(WorkspaceImpl<T>& ws, std::span<T> grad_input,
                       const StateSpans<T>& grad_initial, bool streamed) {
  const ProblemDesc& p = ws.desc;
  if (!grad_input.empty() && !p.identity_order && !streamed) {
    scatter_rows(ws.order, p.T, p.I, ws.grad_input(), grad_input.data());
  }
  for_each_state_row(p, ws.order, [&](int64_t k, int64_t l, int64_t d, int64_t i, int64_t n,
                                      int64_t w) {
    if (grad_initial[k].empty()) return;
    copy_or_zero<T>(ws.grad_state(k, l, d, start_slot(p, ws.order, d, i)).row(i),
                    state_row(grad_initial[k], p, w, l, d, n), w);
  });
}

#define RNNWAVE_INSTANTIATE(T)                                                                \
  template void load_input<T>(WorkspaceImpl<T>&, std::span<const T>, bool);                   \
  template void load_input_steps<T>(WorkspaceImpl<T>&, std::span<const T>, int64_t, int64_t);  \
  template void load_initial_states<T>(WorkspaceImpl<T>&, const StateSpans<const T>&);        \
  template void store_output_steps<T>(WorkspaceImpl<T>&, std::span<T>, int64_t, int64_t);     \
  template void place_output<T>(WorkspaceImpl<T>&, std::span<T>,                              \
                                std::initializer_list<std::span<const T>>);                  \
  template void store_final_states<T>(WorkspaceImpl<T>&, const StateSpans<T>&);               \
  template void load_output_grads<T>(WorkspaceImpl<T>&, std::span<const T>,                   \
                                     const StateSpans<const T>&, std::span<T>, bool);         \
  template void store_input_grads<T>(WorkspaceImpl<T>&, std::span<T>, const StateSpans<T>&,   \
                                     bool);                                                   \
  template void load_output_grad_steps<T>(WorkspaceImpl<T>&, std::span<const T>, int64_t,     \
                                          int64_t);                                           \
  template void store_input_grad_steps<T>(WorkspaceImpl<T>&, std::span<T>, int64_t, int64_t);
RNNWAVE_INSTANTIATE(float)
RNNWAVE_INSTANTIATE(double)
#undef RNNWAVE_INSTANTIATE

}  // namespace rnnwave
