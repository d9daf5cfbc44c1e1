// GRU cell, PyTorch's gate order r, z, n and "linear before reset":
//   r,z = sigmoid(x W_i*^T + b_i* + h W_h*^T + b_h*)
//   n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)),  h' = (1-z)*n + z*h
//
// The n gate needs the hidden side W_hn h + b_hn apart from the input side, so the
// recurrent product is two: h W_h{r,z}^T into a scratch buffer, and h W_hn^T into `hn`,
// a buffer kept per step (the backward pass needs W_hn h + b_hn, then holds there the
// gradient of the hidden-side n pre-activation, dn*r). b_ih and b_hh stay apart.
#pragma once

#include "cells/cell_def.h"
#include "kernels/activations.h"

namespace rnnwave::cells {

struct GruCell {
  static constexpr std::string_view kName = "gru";
  static constexpr int kGates = 3;
  static constexpr auto kParams = pytorch_params(kGates);
  static constexpr StateDecl kStates[] = {{"h", {1, Size::output}}};
  static constexpr int kHn = 0, kHrz = 1;
  static constexpr BufferDecl kBuffers[] = {{"hn", {1, Size::hidden}, Life::step},
                                            {"hrz", {2, Size::hidden}, Life::scratch}};
  static constexpr VectorDecl kVectors[] = {{kBiasIh}, {kBiasHh}};  // vec[0] = b_ih, vec[1] = b_hh
  static constexpr ProductDecl kRecurrent[] = {
      // hrz = h W_h{r,z}^T; backward: dh_prev += [dr, dz] W_h{r,z}
      {kWeightHh, kNone, {2, Size::hidden}, 2, kPrevH, {Where::buffer, kHrz}, false,
       kGatesRef, kGradPrevH, true},
      // hn = h W_hn^T; backward: dh_prev += (dn*r) W_hn
      {kWeightHh, {2, Size::hidden}, {1, Size::hidden}, 1, kPrevH, {Where::buffer, kHn}, false,
       {Where::buffer, kHn}, kGradPrevH, true}};
  static constexpr StageDecl kStages[] = {{kRecurrent}};
  static constexpr SumDecl kSums[] = {
      {kBiasIh, kNone, {3, Size::hidden}, Sum::column, kGatesRef, {}},
      {kBiasHh, kNone, {2, Size::hidden}, Sum::column, kGatesRef, {}},
      {kBiasHh, {2, Size::hidden}, {1, Size::hidden}, Sum::column, {Where::buffer, kHn}, {}}};

  /// r, z and n's whole argument are clipped with ONNX's cell clip.
  template <class T, bool kClip>
  static void forward(const StepView<T>& s) {
    using kernels::sigmoid;
    using kernels::tanh;
    const int64_t H = s.hidden;
    const T* bi = s.vec[0];
    const T* bh = s.vec[1];
    for (int64_t r = 0; r < s.rows; ++r) {
      T* gr = s.gates.row(r);
      T* gz = gr + H;
      T* gn = gz + H;
      const T* hr = s.buffer[kHrz].row(r);
      const T* hz = hr + H;
      T* hn = s.buffer[kHn].row(r);
      const T* h_prev = s.state_prev[0].row(r);
      T* h = s.state_out[0].row(r);
      T* keep = keep_row<kClip>(s, r);
      // The rows of a step never overlap: vectorise across hidden units.
#pragma omp simd
      for (int64_t j = 0; j < s.units; ++j) {
        const T rv = sigmoid(clip_pre<kClip>(gr[j] + bi[j] + hr[j] + bh[j], s, keep, j));
        const T zv =
            sigmoid(clip_pre<kClip>(gz[j] + bi[H + j] + hz[j] + bh[H + j], s, keep, H + j));
        const T hnv = hn[j] + bh[2 * H + j];
        const T nv = tanh(clip_pre<kClip>(gn[j] + bi[2 * H + j] + rv * hnv, s, keep, 2 * H + j));
        gr[j] = rv;
        gz[j] = zv;
        gn[j] = nv;
        hn[j] = hnv;
        h[j] = (T(1) - zv) * nv + zv * h_prev[j];
      }
    }
  }

  /// Leaves in gates the gradient of the input-side pre-activations [dr, dz, dn] and in
  /// hn the n-part of the hidden side, dn*r; dh_prev receives the direct term dh*z (the
  /// products add the rest).
  template <class T, bool kClip>
  static void backward(const StepView<T>& s) {
    const int64_t H = s.hidden;
    for (int64_t r = 0; r < s.rows; ++r) {
      T* gr = s.gates.row(r);
      T* gz = gr + H;
      T* gn = gz + H;
      T* hn = s.buffer[kHn].row(r);
      const T* h_prev = s.state_prev[0].row(r);
      const T* up = s.grad_above.row(r);
      const T* dh_next = s.grad_state_next[0].row(r);
      T* dh_prev = s.grad_state_prev[0].row(r);
      const T* keep = keep_row<kClip>(s, r);
      // The rows of a step never overlap: vectorise across hidden units.
#pragma omp simd
      for (int64_t j = 0; j < s.units; ++j) {
        const T rv = gr[j], zv = gz[j], nv = gn[j], hnv = hn[j];
        const T dh = up[j] + dh_next[j];
        const T dn = clip_grad<kClip>(dh * (T(1) - zv) * (T(1) - nv * nv), keep, 2 * H + j);
        const T dz = clip_grad<kClip>(dh * (h_prev[j] - nv) * zv * (T(1) - zv), keep, H + j);
        const T dr = clip_grad<kClip>(dn * hnv * rv * (T(1) - rv), keep, j);
        dh_prev[j] = dh * zv;
        gr[j] = dr;
        gz[j] = dz;
        gn[j] = dn;
        hn[j] = dn * rv;
      }
    }
  }

  template <class T, bool kClip>
  static constexpr void set_math(std::array<StageMath<T>, kMaxStages>& math) {
    math[0] = {&forward<T, kClip>, &backward<T, kClip>};
  }
};

}  // namespace rnnwave::cells
