#include "graph/boundary.h"

#include <algorithm>
#include <cstring>

namespace rnnwave {
namespace {

template <class T>
using Impl = typename BasicWorkspace<T>::Impl;

/// Row n of state (l, d) of a [L*D, N, H] tensor, or null if the tensor is empty.
template <class T>
T* state_row(std::span<T> states, const Impl<std::remove_const_t<T>>& ws, int64_t l, int64_t d,
             int64_t n) {
  return states.empty() ? nullptr : states.data() + ((l * ws.D + d) * ws.N + n) * ws.H;
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
int64_t start_slot(const BatchOrder& order, int64_t d, int64_t i) {
  return d == 0 ? 0 : order.lengths[i] + 1;
}

/// Slot holding the final state of internal row i in direction d.
int64_t final_slot(const BatchOrder& order, int64_t d, int64_t i) {
  return d == 0 ? order.lengths[i] : 1;
}

}  // namespace

template <class T>
void load_input(Impl<T>& ws, std::span<const T> input, bool keep) {
  if (ws.order.identity && !keep) {
    ws.input_ptr = input.data();
    return;
  }
  gather_rows(ws.order, ws.T_, ws.I, input.data(), ws.input());
  ws.input_ptr = ws.input();
}

/// Zeroes the state rows no step writes: those past each sequence's end, and the last
/// slot. They are read as the input of the layer above and as previous states by the
/// weight-gradient GEMMs (times a zero gradient), so they must hold finite values.
template <class T>
void zero_unwritten_states(Impl<T>& ws) {
  const int64_t H = ws.H, DH = ws.ld_h(), N = ws.N;
  const bool lstm = ws.spec.cell == CellKind::lstm;
  for (int64_t l = 0; l < ws.L; ++l) {
    for (int64_t t = 0; t <= ws.T_; ++t) {
      const int64_t slot = t + 1, first = t < ws.T_ ? ws.order.active[t] : 0;
      std::fill(ws.h(l, slot) + first * DH, ws.h(l, slot) + N * DH, T(0));
      if (!lstm) continue;
      for (int64_t d = 0; d < ws.D; ++d) {
        std::fill(ws.c(l, d, slot) + first * H, ws.c(l, d, slot) + N * H, T(0));
      }
    }
  }
}

template <class T>
void load_initial_states(Impl<T>& ws, std::span<const T> h0, std::span<const T> c0) {
  zero_unwritten_states<T>(ws);
  const int64_t H = ws.H;
  for (int64_t l = 0; l < ws.L; ++l) {
    for (int64_t d = 0; d < ws.D; ++d) {
      for (int64_t i = 0; i < ws.N; ++i) {
        const int64_t n = ws.order.source[i], slot = start_slot(ws.order, d, i);
        copy_or_zero<T>(state_row(h0, ws, l, d, n), ws.h(l, slot) + i * ws.ld_h() + d * H, H);
        if (ws.spec.cell == CellKind::lstm) {
          copy_or_zero<T>(state_row(c0, ws, l, d, n), ws.c(l, d, slot) + i * H, H);
        }
      }
    }
  }
}

template <class T>
void store_output_steps(Impl<T>& ws, std::span<T> output, int64_t t0, int64_t t1) {
  const int64_t DH = ws.ld_h(), top = ws.L - 1;
  for (int64_t t = t0; t < t1; ++t) {
    const T* states = ws.h(top, Impl<T>::out_slot(t));
    for (int64_t i = 0; i < ws.N; ++i) {
      T* dst = output.data() + (t * ws.N + ws.order.source[i]) * DH;
      copy_or_zero<T>(i < ws.order.active[t] ? states + i * DH : nullptr, dst, DH);
    }
  }
}

template <class T>
void store_final_states(Impl<T>& ws, std::span<T> hn, std::span<T> cn) {
  const int64_t H = ws.H, DH = ws.ld_h();
  for (int64_t l = 0; l < ws.L; ++l) {
    for (int64_t d = 0; d < ws.D; ++d) {
      for (int64_t i = 0; i < ws.N; ++i) {
        const int64_t n = ws.order.source[i], slot = final_slot(ws.order, d, i);
        if (!hn.empty()) {
          copy_or_zero<T>(ws.h(l, slot) + i * DH + d * H, state_row(hn, ws, l, d, n), H);
        }
        if (!cn.empty()) copy_or_zero<T>(ws.c(l, d, slot) + i * H, state_row(cn, ws, l, d, n), H);
      }
    }
  }
}

template <class T>
void load_output_grads(Impl<T>& ws, std::span<const T> grad_output, std::span<const T> grad_hn,
                       std::span<const T> grad_cn, std::span<T> grad_input) {
  if (ws.order.identity) {
    ws.grad_output_ptr = grad_output.data();
    ws.grad_input_ptr = grad_input.data();
  } else {
    gather_rows(ws.order, ws.T_, ws.ld_h(), grad_output.data(), ws.grad_output());
    ws.grad_output_ptr = ws.grad_output();
    ws.grad_input_ptr = ws.grad_input();
  }
  // The gradient into a final state enters where that state was written: the backward
  // step that produced it reads it as "gradient from the next step".
  const int64_t H = ws.H;
  for (int64_t l = 0; l < ws.L; ++l) {
    for (int64_t d = 0; d < ws.D; ++d) {
      for (int64_t i = 0; i < ws.N; ++i) {
        const int64_t n = ws.order.source[i], slot = final_slot(ws.order, d, i);
        copy_or_zero<T>(state_row(grad_hn, ws, l, d, n), ws.drec_h(l, d, slot) + i * H, H);
        if (ws.spec.cell == CellKind::lstm) {
          copy_or_zero<T>(state_row(grad_cn, ws, l, d, n), ws.drec_c(l, d, slot) + i * H, H);
        }
      }
    }
  }
}

template <class T>
void store_input_grads(Impl<T>& ws, std::span<T> grad_input, std::span<T> grad_h0,
                       std::span<T> grad_c0) {
  if (!grad_input.empty() && !ws.order.identity) {
    scatter_rows(ws.order, ws.T_, ws.I, ws.grad_input(), grad_input.data());
  }
  const int64_t H = ws.H;
  for (int64_t l = 0; l < ws.L; ++l) {
    for (int64_t d = 0; d < ws.D; ++d) {
      for (int64_t i = 0; i < ws.N; ++i) {
        const int64_t n = ws.order.source[i], slot = start_slot(ws.order, d, i);
        if (!grad_h0.empty()) {
          copy_or_zero<T>(ws.drec_h(l, d, slot) + i * H, state_row(grad_h0, ws, l, d, n), H);
        }
        if (!grad_c0.empty()) {
          copy_or_zero<T>(ws.drec_c(l, d, slot) + i * H, state_row(grad_c0, ws, l, d, n), H);
        }
      }
    }
  }
}

#define RNNWAVE_INSTANTIATE(T)                                                                 \
  template void load_input<T>(Impl<T>&, std::span<const T>, bool);                             \
  template void load_initial_states<T>(Impl<T>&, std::span<const T>, std::span<const T>);      \
  template void store_output_steps<T>(Impl<T>&, std::span<T>, int64_t, int64_t);              \
  template void store_final_states<T>(Impl<T>&, std::span<T>, std::span<T>);                   \
  template void load_output_grads<T>(Impl<T>&, std::span<const T>, std::span<const T>,         \
                                     std::span<const T>, std::span<T>);                        \
  template void store_input_grads<T>(Impl<T>&, std::span<T>, std::span<T>, std::span<T>);
RNNWAVE_INSTANTIATE(float)
RNNWAVE_INSTANTIATE(double)
#undef RNNWAVE_INSTANTIATE

}  // namespace rnnwave
