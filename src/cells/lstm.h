// LSTM cell, PyTorch's gate order i, f, g, o:
//   i,f,o = sigmoid(.), g = tanh(.), c' = f*c + i*g, h' = o*tanh(c')
//
// The shape of a definition, for whoever adds a cell: two states (h, c), PyTorch's four
// parameters, one stage whose product adds h W_hh^T to the gates (x W_ih^T is already
// there), and pointwise math that reads the gates and the folded bias b_ih + b_hh and
// writes h and c. The backward math turns the saved activations into the gradients of
// the pre-activations; the engine then computes dh_prev = dgates W_hh (the product's
// gradient), dx, and sums dW_ih, dW_hh, db_ih and db_hh over blocks of steps.
#pragma once

#include "cells/cell_def.h"
#include "kernels/activations.h"

namespace rnnwave::cells {

/// The LSTM's pointwise math on rows of one step, shared by the LSTM variants:
/// pre-activations in `gates` (+ bias, clipped with ONNX's cell clip), c_prev -> c, and
/// o * tanh(c) written to `out`.
template <bool kClip, class T>
void lstm_forward_rows(const StepView<T>& s, Mat<T> out) {
  using kernels::sigmoid;
  using kernels::tanh;
  const int64_t H = s.hidden;
  const T* b = s.vec[0];
  for (int64_t r = 0; r < s.rows; ++r) {
    T* gi = s.gates.row(r);
    T* gf = gi + H;
    T* gg = gf + H;
    T* go = gg + H;
    const T* c_prev = s.state_prev[1].row(r);
    T* c = s.state_out[1].row(r);
    T* h = out.row(r);
    T* keep = keep_row<kClip>(s, r);
    // The rows of a step never overlap: vectorise across hidden units.
#pragma omp simd
    for (int64_t j = 0; j < s.units; ++j) {
      const T i = sigmoid(clip_pre<kClip>(gi[j] + b[j], s, keep, j));
      const T f = sigmoid(clip_pre<kClip>(gf[j] + b[H + j], s, keep, H + j));
      const T g = tanh(clip_pre<kClip>(gg[j] + b[2 * H + j], s, keep, 2 * H + j));
      const T o = sigmoid(clip_pre<kClip>(go[j] + b[3 * H + j], s, keep, 3 * H + j));
      gi[j] = i;
      gf[j] = f;
      gg[j] = g;
      go[j] = o;
      c[j] = f * c_prev[j] + i * g;
      h[j] = o * tanh(c[j]);
    }
  }
}

/// Its backward, given the gradient reaching o * tanh(c): dh_a + dh_b if kSum, else dh_a;
/// and the gradient of c from the next step. Gradients of clipped pre-activations are 0.
template <bool kSum, bool kClip, class T>
void lstm_backward_rows(const StepView<T>& s, Mat<T> dh_a, Mat<T> dh_b) {
  using kernels::tanh;
  const int64_t H = s.hidden;
  for (int64_t r = 0; r < s.rows; ++r) {
    T* gi = s.gates.row(r);
    T* gf = gi + H;
    T* gg = gf + H;
    T* go = gg + H;
    const T* c_prev = s.state_prev[1].row(r);
    const T* c = s.state_out[1].row(r);
    const T* up = dh_a.row(r);
    const T* dh_next = kSum ? dh_b.row(r) : nullptr;
    const T* dc_next = s.grad_state_next[1].row(r);
    T* dc_prev = s.grad_state_prev[1].row(r);
    const T* keep = keep_row<kClip>(s, r);
    // The rows of a step never overlap: vectorise across hidden units.
#pragma omp simd
    for (int64_t j = 0; j < s.units; ++j) {
      const T i = gi[j], f = gf[j], g = gg[j], o = go[j];
      T dh = up[j];
      if constexpr (kSum) dh = up[j] + dh_next[j];
      const T tc = tanh(c[j]);
      const T dc = dc_next[j] + dh * o * (T(1) - tc * tc);
      dc_prev[j] = dc * f;
      gi[j] = clip_grad<kClip>(dc * g * i * (T(1) - i), keep, j);
      gf[j] = clip_grad<kClip>(dc * c_prev[j] * f * (T(1) - f), keep, H + j);
      gg[j] = clip_grad<kClip>(dc * i * (T(1) - g * g), keep, 2 * H + j);
      go[j] = clip_grad<kClip>(dh * tc * o * (T(1) - o), keep, 3 * H + j);
    }
  }
}

struct LstmCell {
  static constexpr std::string_view kName = "lstm";
  static constexpr int kGates = 4;
  static constexpr auto kParams = pytorch_params(kGates);
  static constexpr StateDecl kStates[] = {{"h", {1, Size::output}}, {"c", {1, Size::hidden}}};
  static constexpr std::span<const BufferDecl> kBuffers = {};
  static constexpr VectorDecl kVectors[] = {{kBiasIh, kBiasHh}};  // vec[0] = b_ih + b_hh
  static constexpr ProductDecl kRecurrent[] = {recurrent_into_gates(kGates)};
  static constexpr StageDecl kStages[] = {{kRecurrent}};
  static constexpr auto kSums = folded_bias_sums(kGates);

  template <class T, bool kClip>
  static void forward(const StepView<T>& s) {
    lstm_forward_rows<kClip>(s, s.state_out[0]);
  }

  template <class T, bool kClip>
  static void backward(const StepView<T>& s) {
    lstm_backward_rows<true, kClip>(s, s.grad_above, s.grad_state_next[0]);
  }

  template <class T, bool kClip>
  static constexpr void set_math(std::array<StageMath<T>, kMaxStages>& math) {
    math[0] = {&forward<T, kClip>, &backward<T, kClip>};
  }
};

}  // namespace rnnwave::cells
