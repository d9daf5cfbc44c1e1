// LSTM with peephole connections (ONNX LSTM's input P; weight_ph_l{k}[_reverse], [3, H],
// rows i, f, o): PyTorch's gate order i, f, g, o and
//   i = sigmoid(. + p_i * c_prev),  f = sigmoid(. + p_f * c_prev),  g = tanh(.)
//   c' = f*c + i*g,  o = sigmoid(. + p_o * c'),  h' = o*tanh(c')
// The peephole weights are read by the pointwise math; their gradients are sums over the
// rows of a block of steps of the gate gradients times c (diagonal sums).
#pragma once

#include "cells/cell_def.h"
#include "kernels/activations.h"

namespace rnnwave::cells {

struct LstmPeepholeCell {
  static constexpr std::string_view kName = "lstm_peephole";
  static constexpr int kGates = 4;
  static constexpr int kWeightPh = 4;
  static constexpr auto kParams =
      pytorch_params_and(kGates, {"weight_ph", {3, Size::one}, {1, Size::hidden}});
  static constexpr StateDecl kStates[] = {{"h", {1, Size::output}}, {"c", {1, Size::hidden}}};
  static constexpr std::span<const BufferDecl> kBuffers = {};
  // vec[0] = b_ih + b_hh; vec[1] = the peephole weights p_i, p_f, p_o, H each.
  static constexpr VectorDecl kVectors[] = {{kBiasIh, kBiasHh}, {kWeightPh}};
  static constexpr ProductDecl kRecurrent[] = {recurrent_into_gates(kGates)};
  static constexpr StageDecl kStages[] = {{kRecurrent}};
  static constexpr Ref kPrevC{Where::state_prev, 1}, kOutC{Where::state_out, 1};
  static constexpr SumDecl kSums[] = {
      {kBiasIh, kNone, {4, Size::hidden}, Sum::column, kGatesRef, {}},
      {kBiasHh, kNone, {4, Size::hidden}, Sum::column, kGatesRef, {}},
      // dp_i += di * c_prev, dp_f += df * c_prev, dp_o += do * c
      {kWeightPh, kNone, {1, Size::hidden}, Sum::diagonal, kGatesRef, kPrevC},
      {kWeightPh, {1, Size::hidden}, {1, Size::hidden}, Sum::diagonal,
       {Where::gates, 0, {1, Size::hidden}}, kPrevC},
      {kWeightPh, {2, Size::hidden}, {1, Size::hidden}, Sum::diagonal,
       {Where::gates, 0, {3, Size::hidden}}, kOutC}};

  /// The gates' pre-activations, peephole terms included, are clipped with ONNX's clip.
  template <class T, bool kClip>
  static void forward(const StepView<T>& s) {
    using kernels::sigmoid;
    using kernels::tanh;
    const int64_t H = s.hidden;
    const T* b = s.vec[0];
    const T* p = s.vec[1];
    for (int64_t r = 0; r < s.rows; ++r) {
      T* gi = s.gates.row(r);
      T* gf = gi + H;
      T* gg = gf + H;
      T* go = gg + H;
      const T* c_prev = s.state_prev[1].row(r);
      T* c = s.state_out[1].row(r);
      T* h = s.state_out[0].row(r);
      T* keep = keep_row<kClip>(s, r);
#pragma omp simd
      for (int64_t j = 0; j < s.units; ++j) {
        const T i = sigmoid(clip_pre<kClip>(gi[j] + b[j] + p[j] * c_prev[j], s, keep, j));
        const T f =
            sigmoid(clip_pre<kClip>(gf[j] + b[H + j] + p[H + j] * c_prev[j], s, keep, H + j));
        const T g = tanh(clip_pre<kClip>(gg[j] + b[2 * H + j], s, keep, 2 * H + j));
        const T cv = mul_add(f, c_prev[j], i * g);
        const T o =
            sigmoid(clip_pre<kClip>(go[j] + b[3 * H + j] + p[2 * H + j] * cv, s, keep, 3 * H + j));
        gi[j] = i;
        gf[j] = f;
        gg[j] = g;
        go[j] = o;
        c[j] = cv;
        h[j] = o * tanh(cv);
      }
    }
  }

  template <class T, bool kClip>
  static void backward(const StepView<T>& s) {
    using kernels::tanh;
    const int64_t H = s.hidden;
    const T* p = s.vec[1];
    for (int64_t r = 0; r < s.rows; ++r) {
      T* gi = s.gates.row(r);
      T* gf = gi + H;
      T* gg = gf + H;
      T* go = gg + H;
      const T* c_prev = s.state_prev[1].row(r);
      const T* c = s.state_out[1].row(r);
      const T* up = s.grad_above.row(r);
      const T* dh_next = s.grad_state_next[0].row(r);
      const T* dc_next = s.grad_state_next[1].row(r);
      T* dc_prev = s.grad_state_prev[1].row(r);
      const T* keep = keep_row<kClip>(s, r);
#pragma omp simd
      for (int64_t j = 0; j < s.units; ++j) {
        const T i = gi[j], f = gf[j], g = gg[j], o = go[j];
        const T dh = up[j] + dh_next[j];
        const T tc = tanh(c[j]);
        const T d_o = clip_grad<kClip>(dh * tc * o * (T(1) - o), keep, 3 * H + j);
        // c reaches the loss through the next step, through h, and through o's peephole.
        const T dc = dc_next[j] + dh * o * (T(1) - tc * tc) + d_o * p[2 * H + j];
        const T d_i = clip_grad<kClip>(dc * g * i * (T(1) - i), keep, j);
        const T d_f = clip_grad<kClip>(dc * c_prev[j] * f * (T(1) - f), keep, H + j);
        dc_prev[j] = dc * f + d_i * p[j] + d_f * p[H + j];
        gi[j] = d_i;
        gf[j] = d_f;
        gg[j] = clip_grad<kClip>(dc * i * (T(1) - g * g), keep, 2 * H + j);
        go[j] = d_o;
      }
    }
  }

  template <class T, bool kClip>
  static constexpr void set_math(std::array<StageMath<T>, kMaxStages>& math) {
    math[0] = {&forward<T, kClip>, &backward<T, kClip>};
  }
};

}  // namespace rnnwave::cells
