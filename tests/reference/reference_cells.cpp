// The reference cells: each cell's equations, written out per hidden unit.
#include "reference/reference_cells.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace rnnref::detail {
namespace {

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// Rows [r0, r0 + rows) of y = W v + b, W [*, cols] row-major (cols = v.size()); b may be
// empty (no bias).
Vec affine(const Vec& w, const Vec& b, const Vec& v, int r0, int rows) {
  const size_t cols = v.size();
  Vec y(rows, 0.0);
  for (int r = 0; r < rows; ++r) {
    double sum = b.empty() ? 0.0 : b[r0 + r];
    for (size_t k = 0; k < cols; ++k) sum += w[(r0 + r) * cols + k] * v[k];
    y[r] = sum;
  }
  return y;
}

// The backward of affine over rows [r0, r0 + rows): dW += dy v^T, db += dy (if db is not
// empty), dv += W^T dy.
void affine_backward(const Vec& w, const Vec& v, const Vec& dy, int r0, Vec& dw, Vec* db,
                     Vec& dv) {
  const size_t cols = v.size();
  for (size_t r = 0; r < dy.size(); ++r) {
    if (db != nullptr) (*db)[r0 + r] += dy[r];
    for (size_t k = 0; k < cols; ++k) {
      dw[(r0 + r) * cols + k] += dy[r] * v[k];
      dv[k] += w[(r0 + r) * cols + k] * dy[r];
    }
  }
}

// ---------------------------------------------------------------- vanilla RNN
// h = act(W_ih x + b_ih + W_hh h_prev + b_hh), act = tanh or relu.

double activate(Cell cell, double a) { return cell == Cell::rnn_tanh ? std::tanh(a) : std::max(0.0, a); }

StepState rnn_forward(const Config& c, const LayerParams& p, const Vec& x, const Vec& h_prev) {
  const int H = c.hidden_size;
  const Vec ai = affine(p.w_ih, p.b_ih, x, 0, H), ah = affine(p.w_hh, p.b_hh, h_prev, 0, H);
  StepState out;
  out.h.assign(H, 0.0);
  for (int j = 0; j < H; ++j) out.h[j] = activate(c.cell, ai[j] + ah[j]);
  return out;
}

// The gradient of the gates' pre-activations (the same for the input and hidden side,
// which are added unchanged) goes through both products.
StepGradients through_both_products(const LayerParams& p, LayerParams& g, const Vec& x,
                                    const Vec& h_prev, const Vec& da) {
  StepGradients out;
  out.x.assign(x.size(), 0.0);
  out.h_prev.assign(h_prev.size(), 0.0);
  affine_backward(p.w_ih, x, da, 0, g.w_ih, &g.b_ih, out.x);
  affine_backward(p.w_hh, h_prev, da, 0, g.w_hh, &g.b_hh, out.h_prev);
  return out;
}

StepGradients rnn_backward(const Config& c, const LayerParams& p, LayerParams& g, const Vec& x,
                           const Vec& h_prev, const Vec& dh) {
  const int H = c.hidden_size;
  const Vec ai = affine(p.w_ih, p.b_ih, x, 0, H), ah = affine(p.w_hh, p.b_hh, h_prev, 0, H);
  Vec da(H, 0.0);
  for (int j = 0; j < H; ++j) {
    const double a = ai[j] + ah[j];
    // tanh' = 1 - tanh^2; relu' = 1 where a > 0.
    const double slope = c.cell == Cell::rnn_tanh ? 1.0 - std::tanh(a) * std::tanh(a) : (a > 0.0 ? 1.0 : 0.0);
    da[j] = dh[j] * slope;
  }
  return through_both_products(p, g, x, h_prev, da);
}

// ---------------------------------------------------------------- LSTM
// Gate rows i, f, g, o (PyTorch). With a = W_ih x + b_ih + W_hh h_prev + b_hh:
//   i = sigmoid(a_i + p_i c_prev)   f = sigmoid(a_f + p_f c_prev)   (p: peepholes, else 0)
//   g = tanh(a_g)                    c = f c_prev + i g
//   o = sigmoid(a_o + p_o c)         m = o tanh(c)
//   h = W_hr m with a projection, else m.

struct LstmValues {
  Vec i, f, g, o, c, m;
};

LstmValues lstm_values(const Config& cfg, const LayerParams& p, const Vec& x, const Vec& h_prev,
                       const Vec& c_prev) {
  const int H = cfg.hidden_size;
  const Vec ai = affine(p.w_ih, p.b_ih, x, 0, 4 * H), ah = affine(p.w_hh, p.b_hh, h_prev, 0, 4 * H);
  auto peep = [&](int row, int j, double v) { return cfg.peepholes ? p.w_ph[row * H + j] * v : 0.0; };
  LstmValues v;
  for (Vec* vec : {&v.i, &v.f, &v.g, &v.o, &v.c, &v.m}) vec->assign(H, 0.0);
  for (int j = 0; j < H; ++j) {
    v.i[j] = sigmoid(ai[j] + ah[j] + peep(0, j, c_prev[j]));
    v.f[j] = sigmoid(ai[H + j] + ah[H + j] + peep(1, j, c_prev[j]));
    v.g[j] = std::tanh(ai[2 * H + j] + ah[2 * H + j]);
    v.c[j] = v.f[j] * c_prev[j] + v.i[j] * v.g[j];
    v.o[j] = sigmoid(ai[3 * H + j] + ah[3 * H + j] + peep(2, j, v.c[j]));
    v.m[j] = v.o[j] * std::tanh(v.c[j]);
  }
  return v;
}

StepState lstm_forward(const Config& cfg, const LayerParams& p, const Vec& x, const Vec& h_prev,
                       const Vec& c_prev) {
  LstmValues v = lstm_values(cfg, p, x, h_prev, c_prev);
  StepState out;
  out.h = cfg.proj_size > 0 ? affine(p.w_hr, {}, v.m, 0, cfg.proj_size) : v.m;
  out.c = std::move(v.c);
  return out;
}

StepGradients lstm_backward(const Config& cfg, const LayerParams& p, LayerParams& g, const Vec& x,
                            const Vec& h_prev, const Vec& c_prev, const Vec& dh, const Vec& dc) {
  const int H = cfg.hidden_size;
  const LstmValues v = lstm_values(cfg, p, x, h_prev, c_prev);
  // m = o tanh(c), then h = W_hr m (projection) or h = m.
  Vec dm = dh;
  if (cfg.proj_size > 0) {
    dm.assign(H, 0.0);
    affine_backward(p.w_hr, v.m, dh, 0, g.w_hr, nullptr, dm);
  }
  Vec da(4 * H, 0.0), dc_prev(H, 0.0);
  for (int j = 0; j < H; ++j) {
    const double tc = std::tanh(v.c[j]);
    const double da_o = dm[j] * tc * v.o[j] * (1.0 - v.o[j]);
    // dL/dc: from the next step, through m, and through o's peephole on c.
    double dc_total = dc[j] + dm[j] * v.o[j] * (1.0 - tc * tc);
    if (cfg.peepholes) dc_total += da_o * p.w_ph[2 * H + j];
    const double da_i = dc_total * v.g[j] * v.i[j] * (1.0 - v.i[j]);
    const double da_f = dc_total * c_prev[j] * v.f[j] * (1.0 - v.f[j]);
    const double da_g = dc_total * v.i[j] * (1.0 - v.g[j] * v.g[j]);
    dc_prev[j] = dc_total * v.f[j];
    if (cfg.peepholes) {
      dc_prev[j] += da_i * p.w_ph[j] + da_f * p.w_ph[H + j];
      g.w_ph[j] += da_i * c_prev[j];
      g.w_ph[H + j] += da_f * c_prev[j];
      g.w_ph[2 * H + j] += da_o * v.c[j];
    }
    da[j] = da_i;
    da[H + j] = da_f;
    da[2 * H + j] = da_g;
    da[3 * H + j] = da_o;
  }
  StepGradients out = through_both_products(p, g, x, h_prev, da);
  out.c_prev = std::move(dc_prev);
  return out;
}

// ---------------------------------------------------------------- GRU
// Gate rows r, z, n. With a_i = W_ih x + b_ih:
//   r = sigmoid(a_i,r + W_hr h_prev + b_hr)    z = sigmoid(a_i,z + W_hz h_prev + b_hz)
//   gru (PyTorch, ONNX linear_before_reset = 1): n = tanh(a_i,n + r (W_hn h_prev + b_hn))
//   gru_rb (ONNX linear_before_reset = 0):       n = tanh(a_i,n + W_hn (r h_prev) + b_hn)
//   h = (1 - z) n + z h_prev

struct GruValues {
  Vec r, z, n, hn;  // hn: the hidden side of n (W_hn h_prev + b_hn, or W_hn (r h_prev) + b_hn)
  Vec rh;           // gru_rb: r h_prev
};

GruValues gru_values(const Config& cfg, const LayerParams& p, const Vec& x, const Vec& h_prev) {
  const int H = cfg.hidden_size;
  const Vec ai = affine(p.w_ih, p.b_ih, x, 0, 3 * H);
  const Vec ah_rz = affine(p.w_hh, p.b_hh, h_prev, 0, 2 * H);
  GruValues v;
  v.r.assign(H, 0.0);
  v.z.assign(H, 0.0);
  v.n.assign(H, 0.0);
  for (int j = 0; j < H; ++j) {
    v.r[j] = sigmoid(ai[j] + ah_rz[j]);
    v.z[j] = sigmoid(ai[H + j] + ah_rz[H + j]);
  }
  if (cfg.cell == Cell::gru_rb) {
    v.rh.assign(H, 0.0);
    for (int j = 0; j < H; ++j) v.rh[j] = v.r[j] * h_prev[j];
    v.hn = affine(p.w_hh, p.b_hh, v.rh, 2 * H, H);
    for (int j = 0; j < H; ++j) v.n[j] = std::tanh(ai[2 * H + j] + v.hn[j]);
  } else {
    v.hn = affine(p.w_hh, p.b_hh, h_prev, 2 * H, H);
    for (int j = 0; j < H; ++j) v.n[j] = std::tanh(ai[2 * H + j] + v.r[j] * v.hn[j]);
  }
  return v;
}

StepState gru_forward(const Config& cfg, const LayerParams& p, const Vec& x, const Vec& h_prev) {
  const GruValues v = gru_values(cfg, p, x, h_prev);
  StepState out;
  out.h.assign(cfg.hidden_size, 0.0);
  for (int j = 0; j < cfg.hidden_size; ++j) {
    out.h[j] = (1.0 - v.z[j]) * v.n[j] + v.z[j] * h_prev[j];
  }
  return out;
}

StepGradients gru_backward(const Config& cfg, const LayerParams& p, LayerParams& g, const Vec& x,
                           const Vec& h_prev, const Vec& dh) {
  const int H = cfg.hidden_size;
  const GruValues v = gru_values(cfg, p, x, h_prev);
  StepGradients out;
  out.x.assign(x.size(), 0.0);
  out.h_prev.assign(H, 0.0);
  Vec da_i(3 * H, 0.0), da_hrz(2 * H, 0.0), da_hn(H, 0.0), dr(H, 0.0);
  for (int j = 0; j < H; ++j) {
    // h = (1 - z) n + z h_prev
    const double dn = dh[j] * (1.0 - v.z[j]);
    const double dz = dh[j] * (h_prev[j] - v.n[j]);
    out.h_prev[j] += dh[j] * v.z[j];
    const double da_n = dn * (1.0 - v.n[j] * v.n[j]);  // n = tanh(a_i,n + ...)
    da_i[2 * H + j] = da_n;
    da_i[H + j] = dz * v.z[j] * (1.0 - v.z[j]);
    if (cfg.cell == Cell::gru) {
      // ... + r hn: the hidden side of n is scaled by r.
      dr[j] = da_n * v.hn[j];
      da_hn[j] = da_n * v.r[j];
    } else {
      da_hn[j] = da_n;  // ... + hn, with hn = W_hn (r h_prev) + b_hn
    }
  }
  if (cfg.cell == Cell::gru_rb) {
    Vec d_rh(H, 0.0);
    affine_backward(p.w_hh, v.rh, da_hn, 2 * H, g.w_hh, &g.b_hh, d_rh);
    for (int j = 0; j < H; ++j) {
      dr[j] = d_rh[j] * h_prev[j];
      out.h_prev[j] += d_rh[j] * v.r[j];
    }
  } else {
    affine_backward(p.w_hh, h_prev, da_hn, 2 * H, g.w_hh, &g.b_hh, out.h_prev);
  }
  for (int j = 0; j < H; ++j) {
    da_i[j] = dr[j] * v.r[j] * (1.0 - v.r[j]);
    da_hrz[j] = da_i[j];
    da_hrz[H + j] = da_i[H + j];
  }
  affine_backward(p.w_ih, x, da_i, 0, g.w_ih, &g.b_ih, out.x);
  affine_backward(p.w_hh, h_prev, da_hrz, 0, g.w_hh, &g.b_hh, out.h_prev);
  return out;
}

}  // namespace

StepState step_forward(const Config& config, const LayerParams& p, const Vec& x,
                       const Vec& h_prev, const Vec& c_prev) {
  switch (config.cell) {
    case Cell::rnn_tanh:
    case Cell::rnn_relu: return rnn_forward(config, p, x, h_prev);
    case Cell::lstm: return lstm_forward(config, p, x, h_prev, c_prev);
    case Cell::gru:
    case Cell::gru_rb: return gru_forward(config, p, x, h_prev);
  }
  throw std::invalid_argument("rnnref: unknown cell kind");
}

StepGradients step_backward(const Config& config, const LayerParams& p, LayerParams& grad,
                            const Vec& x, const Vec& h_prev, const Vec& c_prev, const Vec& dh,
                            const Vec& dc) {
  switch (config.cell) {
    case Cell::rnn_tanh:
    case Cell::rnn_relu: return rnn_backward(config, p, grad, x, h_prev, dh);
    case Cell::lstm: return lstm_backward(config, p, grad, x, h_prev, c_prev, dh, dc);
    case Cell::gru:
    case Cell::gru_rb: return gru_backward(config, p, grad, x, h_prev, dh);
  }
  throw std::invalid_argument("rnnref: unknown cell kind");
}

}  // namespace rnnref::detail
