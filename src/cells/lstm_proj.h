// LSTM with a projection (torch.nn.LSTM's proj_size): the LSTM's gates and c, then
//   m = o * tanh(c)   [H],   h = m W_hr^T   [P]   (weight_hr_l{k}[_reverse], [P, H])
// so h, h0, h_n and each direction's output have P units, c keeps H, and W_hh is [4H, P].
//
// The product h = m W_hr^T needs every unit of m: the step has two stages.
//   stage 0: gates += h_prev W_hh^T; the LSTM's pointwise math, writing m (kept per step:
//            the gradient of W_hr is dh^T m)
//   stage 1: h = m W_hr^T (no pointwise math forward)
// Backward, stage 1 first: dh = from above + from the next step (kept per step: the
// gradient of W_hr), then dm = dh W_hr, then the LSTM's backward from dm. A step cannot be
// split by hidden units.
#pragma once

#include "cells/cell_def.h"
#include "cells/lstm.h"

namespace rnnwave::cells {

struct LstmProjectionCell {
  static constexpr std::string_view kName = "lstm_proj";
  static constexpr int kGates = 4;
  static constexpr int kWeightHr = 4;
  static constexpr auto kParams =
      pytorch_params_and(kGates, {"weight_hr", {1, Size::output}, {1, Size::hidden}});
  static constexpr StateDecl kStates[] = {{"h", {1, Size::output}}, {"c", {1, Size::hidden}}};
  static constexpr int kM = 0, kGradH = 1, kGradM = 2;
  static constexpr BufferDecl kBuffers[] = {{"m", {1, Size::hidden}, Life::step},
                                            {"grad_h", {1, Size::output}, Life::step},
                                            {"grad_m", {1, Size::hidden}, Life::scratch}};
  static constexpr VectorDecl kVectors[] = {{kBiasIh, kBiasHh}};  // vec[0] = b_ih + b_hh
  static constexpr ProductDecl kRecurrent[] = {recurrent_into_gates(kGates)};
  static constexpr ProductDecl kProjection[] = {
      // h = m W_hr^T; backward: dm = dh W_hr, and dW_hr += dh^T m
      {kWeightHr, kNone, {1, Size::output}, 1, {Where::buffer, kM}, {Where::state_out, 0}, false,
       {Where::buffer, kGradH}, {Where::buffer, kGradM}, false}};
  static constexpr StageDecl kStages[] = {{kRecurrent}, {kProjection}};
  static constexpr auto kSums = folded_bias_sums(kGates);

  template <class T, bool kClip>
  static void forward(const StepView<T>& s) {
    lstm_forward_rows<kClip>(s, s.buffer[kM]);
  }

  /// dh = from above + from the next step, all P units.
  template <class T>
  static void backward_projection(const StepView<T>& s) {
    for (int64_t r = 0; r < s.rows; ++r) {
      const T* up = s.grad_above.row(r);
      const T* next = s.grad_state_next[0].row(r);
      T* dh = s.buffer[kGradH].row(r);
#pragma omp simd
      for (int64_t j = 0; j < s.output; ++j) dh[j] = up[j] + next[j];
    }
  }

  template <class T, bool kClip>
  static void backward(const StepView<T>& s) {
    lstm_backward_rows<false, kClip>(s, s.buffer[kGradM], Mat<T>{});
  }

  template <class T, bool kClip>
  static constexpr void set_math(std::array<StageMath<T>, kMaxStages>& math) {
    math[0] = {&forward<T, kClip>, &backward<T, kClip>};
    math[1] = {nullptr, &backward_projection<T>};
  }
};

}  // namespace rnnwave::cells
