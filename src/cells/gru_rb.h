// GRU with the reset gate applied before the recurrent product (ONNX's
// linear_before_reset = 0, Keras's reset_after = False, oneDNN's gru), PyTorch's
// parameter names and gate order r, z, n:
//   r,z = sigmoid(x W_i*^T + b_i* + h W_h*^T + b_h*)
//   n = tanh(x W_in^T + b_in + (r * h) W_hn^T + b_hn),  h' = (1-z)*n + z*h
//
// The product for n needs r, which needs the product for r: the step has two stages.
//   stage 0: gates[r,z] += h W_h{r,z}^T; pointwise r, z and rh = r * h (kept per step:
//            the gradient of W_hn is dn^T rh)
//   stage 1: gates[n] += rh W_hn^T;      pointwise n and h'
// Every bias is added unchanged, so b_ih + b_hh is folded. A step cannot be split by
// hidden units (stage 1 needs every unit of rh).
#pragma once

#include "cells/cell_def.h"
#include "kernels/activations.h"

namespace rnnwave::cells {

struct GruResetBeforeCell {
  static constexpr std::string_view kName = "gru_rb";
  static constexpr int kGates = 3;
  static constexpr auto kParams = pytorch_params(kGates);
  static constexpr StateDecl kStates[] = {{"h", {1, Size::output}}};
  static constexpr int kRh = 0, kGradRh = 1;
  static constexpr BufferDecl kBuffers[] = {{"rh", {1, Size::hidden}, Life::step},
                                            {"grad_rh", {1, Size::hidden}, Life::scratch}};
  static constexpr VectorDecl kVectors[] = {{kBiasIh, kBiasHh}};  // vec[0] = b_ih + b_hh
  static constexpr Ref kGatesN{Where::gates, 0, {2, Size::hidden}};
  static constexpr ProductDecl kUpdateReset[] = {
      // gates[r,z] += h W_h{r,z}^T; backward: dh_prev += [dr, dz] W_h{r,z}
      {kWeightHh, kNone, {2, Size::hidden}, 2, kPrevH, kGatesRef, true, kGatesRef, kGradPrevH,
       true}};
  static constexpr ProductDecl kCandidate[] = {
      // gates[n] += rh W_hn^T; backward: d(rh) = dn W_hn
      {kWeightHh, {2, Size::hidden}, {1, Size::hidden}, 1, {Where::buffer, kRh}, kGatesN, true,
       kGatesN, {Where::buffer, kGradRh}, false}};
  static constexpr StageDecl kStages[] = {{kUpdateReset}, {kCandidate}};
  static constexpr auto kSums = folded_bias_sums(kGates);

  /// r, z, and rh = r * h_prev; r's and z's pre-activations clipped with ONNX's cell clip.
  template <class T, bool kClip>
  static void forward_gates(const StepView<T>& s) {
    using kernels::sigmoid;
    const int64_t H = s.hidden;
    const T* b = s.vec[0];
    for (int64_t r = 0; r < s.rows; ++r) {
      T* gr = s.gates.row(r);
      T* gz = gr + H;
      const T* h_prev = s.state_prev[0].row(r);
      T* rh = s.buffer[kRh].row(r);
      T* keep = keep_row<kClip>(s, r);
#pragma omp simd
      for (int64_t j = 0; j < s.units; ++j) {
        const T rv = sigmoid(clip_pre<kClip>(gr[j] + b[j], s, keep, j));
        gr[j] = rv;
        gz[j] = sigmoid(clip_pre<kClip>(gz[j] + b[H + j], s, keep, H + j));
        rh[j] = rv * h_prev[j];
      }
    }
  }

  /// n and h' = (1-z)*n + z*h_prev; n's pre-activation clipped with ONNX's cell clip.
  template <class T, bool kClip>
  static void forward_candidate(const StepView<T>& s) {
    using kernels::tanh;
    const int64_t H = s.hidden;
    const T* b = s.vec[0];
    for (int64_t r = 0; r < s.rows; ++r) {
      const T* gz = s.gates.row(r) + H;
      T* gn = s.gates.row(r) + 2 * H;
      const T* h_prev = s.state_prev[0].row(r);
      T* h = s.state_out[0].row(r);
      T* keep = keep_row<kClip>(s, r);
#pragma omp simd
      for (int64_t j = 0; j < s.units; ++j) {
        const T nv = tanh(clip_pre<kClip>(gn[j] + b[2 * H + j], s, keep, 2 * H + j));
        gn[j] = nv;
        h[j] = (T(1) - gz[j]) * nv + gz[j] * h_prev[j];
      }
    }
  }

  /// Backward of stage 1 (first): dh = from above + from the next step; leaves dz and dn in
  /// the gates and dh*z in dh_prev.
  template <class T, bool kClip>
  static void backward_candidate(const StepView<T>& s) {
    const int64_t H = s.hidden;
    for (int64_t r = 0; r < s.rows; ++r) {
      T* gz = s.gates.row(r) + H;
      T* gn = gz + H;
      const T* h_prev = s.state_prev[0].row(r);
      const T* up = s.grad_above.row(r);
      const T* dh_next = s.grad_state_next[0].row(r);
      T* dh_prev = s.grad_state_prev[0].row(r);
      const T* keep = keep_row<kClip>(s, r);
#pragma omp simd
      for (int64_t j = 0; j < s.units; ++j) {
        const T zv = gz[j], nv = gn[j];
        const T dh = up[j] + dh_next[j];
        gn[j] = clip_grad<kClip>(dh * (T(1) - zv) * (T(1) - nv * nv), keep, 2 * H + j);
        gz[j] = clip_grad<kClip>(dh * (h_prev[j] - nv) * zv * (T(1) - zv), keep, H + j);
        dh_prev[j] = dh * zv;
      }
    }
  }

  /// Backward of stage 0, given d(rh) = dn W_hn: dr into the gates, d(rh) * r into dh_prev.
  template <class T, bool kClip>
  static void backward_gates(const StepView<T>& s) {
    for (int64_t r = 0; r < s.rows; ++r) {
      T* gr = s.gates.row(r);
      const T* h_prev = s.state_prev[0].row(r);
      const T* drh = s.buffer[kGradRh].row(r);
      T* dh_prev = s.grad_state_prev[0].row(r);
      const T* keep = keep_row<kClip>(s, r);
#pragma omp simd
      for (int64_t j = 0; j < s.units; ++j) {
        const T rv = gr[j];
        gr[j] = clip_grad<kClip>(drh[j] * h_prev[j] * rv * (T(1) - rv), keep, j);
        dh_prev[j] += drh[j] * rv;
      }
    }
  }

  template <class T, bool kClip>
  static constexpr void set_math(std::array<StageMath<T>, kMaxStages>& math) {
    math[0] = {&forward_gates<T, kClip>, &backward_gates<T, kClip>};
    math[1] = {&forward_candidate<T, kClip>, &backward_candidate<T, kClip>};
  }
};

}  // namespace rnnwave::cells
