// Vanilla RNN cells (tanh and relu): h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh).
#pragma once

#include "cells/cell_def.h"
#include "kernels/activations.h"

namespace rnnwave::cells {

struct RnnTanh {
  static constexpr std::string_view kName = "rnn_tanh";
  template <class T>
  static T activate(T x) { return kernels::tanh(x); }
  /// d act / d pre, written in terms of the output h = act(pre).
  template <class T>
  static T derivative_from_output(T h) { return T(1) - h * h; }
};

struct RnnRelu {
  static constexpr std::string_view kName = "rnn_relu";
  template <class T>
  static T activate(T x) { return x > T(0) ? x : T(0); }
  template <class T>
  static T derivative_from_output(T h) { return h > T(0) ? T(1) : T(0); }
};

template <class Act>
struct RnnCell {
  static constexpr std::string_view kName = Act::kName;
  static constexpr int kGates = 1;
  static constexpr auto kParams = pytorch_params(kGates);
  static constexpr StateDecl kStates[] = {{"h", {1, Size::output}}};
  static constexpr std::span<const BufferDecl> kBuffers = {};
  static constexpr VectorDecl kVectors[] = {{kBiasIh, kBiasHh}};  // vec[0] = b_ih + b_hh
  static constexpr ProductDecl kRecurrent[] = {recurrent_into_gates(kGates)};
  static constexpr StageDecl kStages[] = {{kRecurrent}};
  static constexpr auto kSums = folded_bias_sums(kGates);

  /// h = act(gates + bias), the argument clipped with ONNX's cell clip.
  template <class T, bool kClip>
  static void forward(const StepView<T>& s) {
    const T* bias = s.vec[0];
    for (int64_t r = 0; r < s.rows; ++r) {
      const T* pre = s.gates.row(r);
      T* h = s.state_out[0].row(r);
      T* keep = keep_row<kClip>(s, r);
#pragma omp simd
      for (int64_t j = 0; j < s.units; ++j) {
        h[j] = Act::activate(clip_pre<kClip>(pre[j] + bias[j], s, keep, j));
      }
    }
  }

  /// gates = (dh from above + dh from the next step) * act' (0 where clipped).
  template <class T, bool kClip>
  static void backward(const StepView<T>& s) {
    for (int64_t r = 0; r < s.rows; ++r) {
      const T* h = s.state_out[0].row(r);
      const T* up = s.grad_above.row(r);
      const T* next = s.grad_state_next[0].row(r);
      T* dpre = s.gates.row(r);
      const T* keep = keep_row<kClip>(s, r);
      // The rows of a step never overlap: vectorise across hidden units.
#pragma omp simd
      for (int64_t j = 0; j < s.units; ++j) {
        dpre[j] = clip_grad<kClip>((up[j] + next[j]) * Act::derivative_from_output(h[j]), keep, j);
      }
    }
  }

  template <class T, bool kClip>
  static constexpr void set_math(std::array<StageMath<T>, kMaxStages>& math) {
    math[0] = {&forward<T, kClip>, &backward<T, kClip>};
  }
};

}  // namespace rnnwave::cells
