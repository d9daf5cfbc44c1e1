// GRU cell, PyTorch's gate order r, z, n and "linear before reset":
//   r,z = sigmoid(x W_i*^T + b_i* + h W_h*^T + b_h*)
//   n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)),  h' = (1-z)*n + z*h
#pragma once

#include "cells/step_buffers.h"
#include "kernels/activations.h"

namespace rnnwave::cells {

struct GruCell {
  template <class T>
  static void forward(const StepBuffers<T>& s) {
    using kernels::sigmoid;
    using kernels::tanh;
    const int64_t H = s.hidden;
    const T* bi = s.bias;
    const T* bh = s.bias_hh;
    for (int64_t r = 0; r < s.rows; ++r) {
      T* gr = s.gates + r * 3 * H;
      T* gz = gr + H;
      T* gn = gz + H;
      const T* hr = s.recurrent + r * 3 * H;
      const T* hz = hr + H;
      const T* hn = hz + H;
      T* saved_hn = s.gru_hn + r * H;
      const T* h_prev = s.h_prev + r * s.ld_h;
      T* h = s.h_out + r * s.ld_h;
      // The rows of a step never overlap: vectorise across hidden units.
#pragma omp simd
      for (int64_t j = 0; j < s.units; ++j) {
        const T rv = sigmoid(gr[j] + bi[j] + hr[j] + bh[j]);
        const T zv = sigmoid(gz[j] + bi[H + j] + hz[j] + bh[H + j]);
        const T hnv = hn[j] + bh[2 * H + j];
        const T nv = tanh(gn[j] + bi[2 * H + j] + rv * hnv);
        gr[j] = rv;
        gz[j] = zv;
        gn[j] = nv;
        saved_hn[j] = hnv;
        h[j] = (T(1) - zv) * nv + zv * h_prev[j];
      }
    }
  }

  /// Leaves in gates the gradient of the input-side pre-activations [dr, dz, dn] and in
  /// gru_hn the n-part of the hidden side, dn*r; dh_prev receives the direct term dh*z.
  template <class T>
  static void backward(const StepBuffers<T>& s) {
    const int64_t H = s.hidden;
    for (int64_t r = 0; r < s.rows; ++r) {
      T* gr = s.gates + r * 3 * H;
      T* gz = gr + H;
      T* gn = gz + H;
      T* hn = s.gru_hn + r * H;
      const T* h_prev = s.h_prev + r * s.ld_h;
      const T* up = s.dh_above + r * s.ld_h;
      const T* dh_next = s.dh_next + r * H;
      T* dh_prev = s.dh_prev + r * H;
      // The rows of a step never overlap: vectorise across hidden units.
#pragma omp simd
      for (int64_t j = 0; j < s.units; ++j) {
        const T rv = gr[j], zv = gz[j], nv = gn[j], hnv = hn[j];
        const T dh = up[j] + dh_next[j];
        const T dn = dh * (T(1) - zv) * (T(1) - nv * nv);
        const T dz = dh * (h_prev[j] - nv) * zv * (T(1) - zv);
        const T dr = dn * hnv * rv * (T(1) - rv);
        dh_prev[j] = dh * zv;
        gr[j] = dr;
        gz[j] = dz;
        gn[j] = dn;
        hn[j] = dn * rv;
      }
    }
  }
};

}  // namespace rnnwave::cells
