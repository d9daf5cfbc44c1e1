// Vanilla RNN cells (tanh and relu): h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh).
#pragma once

#include "cells/step_buffers.h"
#include "kernels/activations.h"

namespace rnnwave::cells {

struct RnnTanh {
  template <class T>
  static T activate(T x) { return kernels::tanh(x); }
  /// d act / d pre, written in terms of the output h = act(pre).
  template <class T>
  static T derivative_from_output(T h) { return T(1) - h * h; }
};

struct RnnRelu {
  template <class T>
  static T activate(T x) { return x > T(0) ? x : T(0); }
  template <class T>
  static T derivative_from_output(T h) { return h > T(0) ? T(1) : T(0); }
};

template <class Act>
struct RnnCell {
  template <class T>
  static void forward(const StepBuffers<T>& s) {
    const int64_t H = s.hidden;
    for (int64_t r = 0; r < s.rows; ++r) {
      const T* pre = s.gates + r * H;
      T* h = s.h_out + r * s.ld_h;
#pragma omp simd
      for (int64_t j = 0; j < s.units; ++j) h[j] = Act::activate(pre[j] + s.bias[j]);
    }
  }

  template <class T>
  static void backward(const StepBuffers<T>& s) {
    const int64_t H = s.hidden;
    for (int64_t r = 0; r < s.rows; ++r) {
      const T* h = s.h_out + r * s.ld_h;
      const T* up = s.dh_above + r * s.ld_h;
      const T* next = s.dh_next + r * H;
      T* dpre = s.gates + r * H;
      // The rows of a step never overlap: vectorise across hidden units.
#pragma omp simd
      for (int64_t j = 0; j < s.units; ++j) {
        dpre[j] = (up[j] + next[j]) * Act::derivative_from_output(h[j]);
      }
    }
  }
};

}  // namespace rnnwave::cells
