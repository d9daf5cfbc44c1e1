// The pointwise math of the reference cells: PyTorch's equations, written out per hidden unit.
#include "reference/reference_cells.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace rnnref::detail {
namespace {

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

}  // namespace

CellOutput cell_forward(Cell cell, int hidden_size, const Vec& a_ih, const Vec& a_hh,
                        const Vec& h_prev, const Vec& c_prev) {
  const int H = hidden_size;
  CellOutput out;
  out.h.assign(H, 0.0);
  switch (cell) {
    case Cell::rnn_tanh:
      // h = tanh(a)
      for (int j = 0; j < H; ++j) out.h[j] = std::tanh(a_ih[j] + a_hh[j]);
      return out;
    case Cell::rnn_relu:
      // h = max(0, a)
      for (int j = 0; j < H; ++j) out.h[j] = std::max(0.0, a_ih[j] + a_hh[j]);
      return out;
    case Cell::lstm:
      // i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of the gate rows 0, 1, 2, 3
      // c = f * c_prev + i * g;  h = o * tanh(c)
      out.c.assign(H, 0.0);
      for (int j = 0; j < H; ++j) {
        const double i = sigmoid(a_ih[0 * H + j] + a_hh[0 * H + j]);
        const double f = sigmoid(a_ih[1 * H + j] + a_hh[1 * H + j]);
        const double g = std::tanh(a_ih[2 * H + j] + a_hh[2 * H + j]);
        const double o = sigmoid(a_ih[3 * H + j] + a_hh[3 * H + j]);
        out.c[j] = f * c_prev[j] + i * g;
        out.h[j] = o * std::tanh(out.c[j]);
      }
      return out;
    case Cell::gru:
      // r, z = sigmoid of the gate rows 0, 1;  n = tanh(a_ih[n] + r * a_hh[n])
      // h = (1 - z) * n + z * h_prev
      for (int j = 0; j < H; ++j) {
        const double r = sigmoid(a_ih[0 * H + j] + a_hh[0 * H + j]);
        const double z = sigmoid(a_ih[1 * H + j] + a_hh[1 * H + j]);
        const double n = std::tanh(a_ih[2 * H + j] + r * a_hh[2 * H + j]);
        out.h[j] = (1.0 - z) * n + z * h_prev[j];
      }
      return out;
  }
  throw std::invalid_argument("rnnref: unknown cell kind");
}

CellGradients cell_backward(Cell cell, int hidden_size, const Vec& a_ih, const Vec& a_hh,
                            const Vec& h_prev, const Vec& c_prev, const Vec& dh, const Vec& dc) {
  const int H = hidden_size;
  const int G = gates(cell);
  CellGradients grad;
  grad.a_ih.assign(static_cast<size_t>(G) * H, 0.0);
  grad.a_hh.assign(static_cast<size_t>(G) * H, 0.0);
  grad.h_prev.assign(H, 0.0);
  switch (cell) {
    case Cell::rnn_tanh:
      // h = tanh(a)  =>  da = dh * (1 - h^2)
      for (int j = 0; j < H; ++j) {
        const double h = std::tanh(a_ih[j] + a_hh[j]);
        grad.a_ih[j] = dh[j] * (1.0 - h * h);
      }
      break;
    case Cell::rnn_relu:
      // h = max(0, a)  =>  da = dh if a > 0 else 0
      for (int j = 0; j < H; ++j) grad.a_ih[j] = (a_ih[j] + a_hh[j] > 0.0) ? dh[j] : 0.0;
      break;
    case Cell::lstm:
      grad.c_prev.assign(H, 0.0);
      for (int j = 0; j < H; ++j) {
        const double i = sigmoid(a_ih[0 * H + j] + a_hh[0 * H + j]);
        const double f = sigmoid(a_ih[1 * H + j] + a_hh[1 * H + j]);
        const double g = std::tanh(a_ih[2 * H + j] + a_hh[2 * H + j]);
        const double o = sigmoid(a_ih[3 * H + j] + a_hh[3 * H + j]);
        const double c = f * c_prev[j] + i * g;
        const double tc = std::tanh(c);
        // h = o * tanh(c): dL/dc collects the incoming dc and the path through h.
        const double dc_total = dc[j] + dh[j] * o * (1.0 - tc * tc);
        const double d_o = dh[j] * tc;
        const double d_i = dc_total * g;
        const double d_f = dc_total * c_prev[j];
        const double d_g = dc_total * i;
        grad.c_prev[j] = dc_total * f;
        // Through the activations: sigmoid' = s (1 - s), tanh' = 1 - t^2.
        grad.a_ih[0 * H + j] = d_i * i * (1.0 - i);
        grad.a_ih[1 * H + j] = d_f * f * (1.0 - f);
        grad.a_ih[2 * H + j] = d_g * (1.0 - g * g);
        grad.a_ih[3 * H + j] = d_o * o * (1.0 - o);
      }
      break;
    case Cell::gru:
      for (int j = 0; j < H; ++j) {
        const double r = sigmoid(a_ih[0 * H + j] + a_hh[0 * H + j]);
        const double z = sigmoid(a_ih[1 * H + j] + a_hh[1 * H + j]);
        const double n = std::tanh(a_ih[2 * H + j] + r * a_hh[2 * H + j]);
        // h = (1 - z) * n + z * h_prev
        const double d_n = dh[j] * (1.0 - z);
        const double d_z = dh[j] * (h_prev[j] - n);
        grad.h_prev[j] = dh[j] * z;
        // n = tanh(a_ih[n] + r * a_hh[n])
        const double d_an = d_n * (1.0 - n * n);
        const double d_r = d_an * a_hh[2 * H + j];
        grad.a_ih[0 * H + j] = d_r * r * (1.0 - r);
        grad.a_ih[1 * H + j] = d_z * z * (1.0 - z);
        grad.a_ih[2 * H + j] = d_an;
        // The recurrent half equals the input half for r and z; for n it is scaled by r.
        grad.a_hh[0 * H + j] = grad.a_ih[0 * H + j];
        grad.a_hh[1 * H + j] = grad.a_ih[1 * H + j];
        grad.a_hh[2 * H + j] = d_an * r;
      }
      return grad;
  }
  // Every cell but the GRU adds its two halves unchanged: their gradients are equal.
  grad.a_hh = grad.a_ih;
  return grad;
}

}  // namespace rnnref::detail
