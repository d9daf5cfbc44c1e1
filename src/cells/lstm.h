// LSTM cell, PyTorch's gate order i, f, g, o:
//   i,f,o = sigmoid(.), g = tanh(.), c' = f*c + i*g, h' = o*tanh(c')
#pragma once

#include "cells/step_buffers.h"
#include "kernels/activations.h"

namespace rnnwave::cells {

struct LstmCell {
  template <class T>
  static void forward(const StepBuffers<T>& s) {
    using kernels::sigmoid;
    using kernels::tanh;
    const int64_t H = s.hidden;
    const T* b = s.bias;
    for (int64_t r = 0; r < s.rows; ++r) {
      T* gi = s.gates + r * 4 * H;
      T* gf = gi + H;
      T* gg = gf + H;
      T* go = gg + H;
      const T* c_prev = s.c_prev + r * H;
      T* c = s.c_out + r * H;
      T* h = s.h_out + r * s.ld_h;
      // The rows of a step never overlap: vectorise across hidden units.
#pragma omp simd
      for (int64_t j = 0; j < s.units; ++j) {
        const T i = sigmoid(gi[j] + b[j]);
        const T f = sigmoid(gf[j] + b[H + j]);
        const T g = tanh(gg[j] + b[2 * H + j]);
        const T o = sigmoid(go[j] + b[3 * H + j]);
        gi[j] = i;
        gf[j] = f;
        gg[j] = g;
        go[j] = o;
        c[j] = f * c_prev[j] + i * g;
        h[j] = o * tanh(c[j]);
      }
    }
  }

  template <class T>
  static void backward(const StepBuffers<T>& s) {
    using kernels::tanh;
    const int64_t H = s.hidden;
    for (int64_t r = 0; r < s.rows; ++r) {
      T* gi = s.gates + r * 4 * H;
      T* gf = gi + H;
      T* gg = gf + H;
      T* go = gg + H;
      const T* c_prev = s.c_prev + r * H;
      const T* c = s.c_out + r * H;
      const T* up = s.dh_above + r * s.ld_h;
      const T* dh_next = s.dh_next + r * H;
      const T* dc_next = s.dc_next + r * H;
      T* dc_prev = s.dc_prev + r * H;
      // The rows of a step never overlap: vectorise across hidden units.
#pragma omp simd
      for (int64_t j = 0; j < s.units; ++j) {
        const T i = gi[j], f = gf[j], g = gg[j], o = go[j];
        const T dh = up[j] + dh_next[j];
        const T tc = tanh(c[j]);
        const T dc = dc_next[j] + dh * o * (T(1) - tc * tc);
        dc_prev[j] = dc * f;
        gi[j] = dc * g * i * (T(1) - i);
        gf[j] = dc * c_prev[j] * f * (T(1) - f);
        gg[j] = dc * i * (T(1) - g * g);
        go[j] = dh * tc * o * (T(1) - o);
      }
    }
  }
};

}  // namespace rnnwave::cells
