// The reference RNN walk: argument checks, the forward pass, and back-propagation through time.
//
// Each sequence n of the batch is processed on its own, for exactly its own length len_n
// (pack_padded_sequence semantics). For layer l and direction d (index ld = l * D + d):
//   direction 0 visits t = 0, 1, ..., len-1;  direction 1 visits t = len-1, ..., 0;
//   both start from h0[ld, n] (c0[ld, n]); h_n[ld, n] is the state after the last visited step.
// Layer 0 reads input[t, n, :]; layer l > 0 reads concat(h(l-1, 0, t), h(l-1, 1, t)).
// output[t, n, d*H : (d+1)*H] = h(L-1, d, t) for t < len, zero otherwise.
#include "reference/reference_rnn.h"

#include <cstddef>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "reference/reference_cells.h"

namespace rnnref {

int gates(Cell cell) {
  switch (cell) {
    case Cell::rnn_tanh: return 1;
    case Cell::rnn_relu: return 1;
    case Cell::lstm: return 4;
    case Cell::gru: return 3;
  }
  throw std::invalid_argument("rnnref: unknown cell kind " +
                              std::to_string(static_cast<int>(cell)));
}

namespace {

using detail::Vec;

// The dimensions of one call, after validation.
struct Dims {
  Cell cell;
  int I, H, L, D, G, T, N;
  bool has_c;  // LSTM

  // Width of layer l's input: I for the first layer, D*H above it.
  int layer_input(int l) const { return l == 0 ? I : D * H; }
  size_t state_size() const { return static_cast<size_t>(L) * D * N * H; }
};

// ---------------------------------------------------------------- argument checks

[[noreturn]] void fail(const std::string& message) {
  throw std::invalid_argument("rnnref: " + message);
}

// Fails unless a flat vector holds exactly the values of the given shape.
void check_size(const std::string& name, size_t actual, std::initializer_list<int> shape) {
  size_t expected = 1;
  std::string text = "[";
  for (int extent : shape) {
    expected *= static_cast<size_t>(extent);
    if (text.size() > 1) text += ", ";
    text += std::to_string(extent);
  }
  text += "]";
  if (actual != expected) {
    fail(name + ": expected " + std::to_string(expected) + " values (" + text + "), got " +
         std::to_string(actual));
  }
}

// A [L*D, N, H] state that may be empty (zeros).
void check_state(const std::string& name, const Vec& v, const Dims& dims) {
  if (!v.empty()) {
    check_size(name, v.size(), {dims.L * dims.D, dims.N, dims.H});
  }
}

// A cell state (c0, grad_cn): allowed for the LSTM only.
void check_cell_state(const std::string& name, const Vec& v, const Dims& dims) {
  if (!dims.has_c && !v.empty()) fail(name + ": must be empty for a cell without c (not LSTM)");
  check_state(name, v, dims);
}

Dims validate(const Config& config, const Params& params, const Problem& problem) {
  Dims dims{};
  dims.cell = config.cell;
  dims.G = gates(config.cell);  // throws on an unknown kind
  dims.has_c = config.cell == Cell::lstm;
  dims.I = config.input_size;
  dims.H = config.hidden_size;
  dims.L = config.layers;
  dims.D = config.bidirectional ? 2 : 1;
  dims.T = problem.steps;
  dims.N = problem.batch;
  if (dims.I < 1) fail("input_size: expected >= 1, got " + std::to_string(dims.I));
  if (dims.H < 1) fail("hidden_size: expected >= 1, got " + std::to_string(dims.H));
  if (dims.L < 1) fail("layers: expected >= 1, got " + std::to_string(dims.L));
  if (dims.T < 1) fail("steps: expected >= 1, got " + std::to_string(dims.T));
  if (dims.N < 1) fail("batch: expected >= 1, got " + std::to_string(dims.N));

  const size_t layer_count = static_cast<size_t>(dims.L) * dims.D;
  if (params.layers.size() != layer_count) {
    fail("params.layers: expected " + std::to_string(layer_count) + " (layers * directions), got " +
         std::to_string(params.layers.size()));
  }
  const int GH = dims.G * dims.H;
  for (int l = 0; l < dims.L; ++l) {
    for (int d = 0; d < dims.D; ++d) {
      const LayerParams& p = params.layers[static_cast<size_t>(l) * dims.D + d];
      const std::string name = "params.layers[" + std::to_string(l * dims.D + d) + "].";
      check_size(name + "w_ih", p.w_ih.size(), {GH, dims.layer_input(l)});
      check_size(name + "w_hh", p.w_hh.size(), {GH, dims.H});
      check_size(name + "b_ih", p.b_ih.size(), {GH});
      check_size(name + "b_hh", p.b_hh.size(), {GH});
    }
  }

  check_size("input", problem.input.size(), {dims.T, dims.N, dims.I});
  if (!problem.lengths.empty()) {
    check_size("lengths", problem.lengths.size(), {dims.N});
    for (size_t n = 0; n < problem.lengths.size(); ++n) {
      const int64_t len = problem.lengths[n];
      if (len < 1 || len > dims.T) {
        fail("lengths[" + std::to_string(n) + "]: expected in [1, " + std::to_string(dims.T) +
             "], got " + std::to_string(len));
      }
    }
  }
  check_state("h0", problem.h0, dims);
  check_cell_state("c0", problem.c0, dims);
  return dims;
}

// ---------------------------------------------------------------- small helpers

int length_of(const Problem& problem, int n) {
  return problem.lengths.empty() ? problem.steps : static_cast<int>(problem.lengths[n]);
}

// The [H] slice (ld, n) of a [L*D, N, H] state; zeros when the state is empty.
Vec state_slice(const Vec& state, const Dims& dims, int ld, int n) {
  Vec out(dims.H, 0.0);
  if (state.empty()) return out;
  const size_t base = (static_cast<size_t>(ld) * dims.N + n) * dims.H;
  for (int j = 0; j < dims.H; ++j) out[j] = state[base + j];
  return out;
}

void store_state_slice(Vec& state, const Dims& dims, int ld, int n, const Vec& value) {
  const size_t base = (static_cast<size_t>(ld) * dims.N + n) * dims.H;
  for (int j = 0; j < dims.H; ++j) state[base + j] = value[j];
}

// y = W v + b, W [rows, cols] row-major.
Vec affine(const Vec& w, const Vec& b, const Vec& v) {
  const size_t rows = b.size();
  const size_t cols = v.size();
  Vec y(rows, 0.0);
  for (size_t r = 0; r < rows; ++r) {
    double sum = b[r];
    for (size_t k = 0; k < cols; ++k) sum += w[r * cols + k] * v[k];
    y[r] = sum;
  }
  return y;
}

// The time step visited at position s (0 = first) of direction d of a sequence of length len.
int step_at(int d, int s, int len) { return d == 0 ? s : len - 1 - s; }

// ---------------------------------------------------------------- one sequence, forward

// What one cell step keeps for the backward pass.
struct StepRecord {
  Vec x;       // layer input [I_l]
  Vec h_prev;  // [H]
  Vec c_prev;  // [H] (LSTM)
  Vec a_ih;    // W_ih x + b_ih [G*H]
  Vec a_hh;    // W_hh h_prev + b_hh [G*H]
  Vec h;       // [H]
  Vec c;       // [H] (LSTM)
};

struct SequenceRun {
  int len = 0;
  std::vector<std::vector<StepRecord>> steps;  // [L*D][len], indexed by time step t
  std::vector<Vec> hn;                         // [L*D] of [H]
  std::vector<Vec> cn;                         // [L*D] of [H] (LSTM)
};

// Runs sequence n through the whole stack, recording every step.
SequenceRun run_sequence(const Dims& dims, const Params& params, const Problem& problem, int n) {
  SequenceRun run;
  run.len = length_of(problem, n);
  const int len = run.len;
  const size_t layer_count = static_cast<size_t>(dims.L) * dims.D;
  run.steps.assign(layer_count, std::vector<StepRecord>(len));
  run.hn.assign(layer_count, Vec());
  run.cn.assign(layer_count, Vec());

  // The first layer's input: input[t, n, :].
  std::vector<Vec> layer_in(len, Vec(dims.I, 0.0));
  for (int t = 0; t < len; ++t) {
    for (int k = 0; k < dims.I; ++k) {
      layer_in[t][k] = problem.input[(static_cast<size_t>(t) * dims.N + n) * dims.I + k];
    }
  }

  for (int l = 0; l < dims.L; ++l) {
    for (int d = 0; d < dims.D; ++d) {
      const int ld = l * dims.D + d;
      const LayerParams& p = params.layers[ld];
      Vec h = state_slice(problem.h0, dims, ld, n);
      Vec c = dims.has_c ? state_slice(problem.c0, dims, ld, n) : Vec();
      for (int s = 0; s < len; ++s) {
        const int t = step_at(d, s, len);
        StepRecord& rec = run.steps[ld][t];
        rec.x = layer_in[t];
        rec.h_prev = h;
        rec.c_prev = c;
        rec.a_ih = affine(p.w_ih, p.b_ih, rec.x);
        rec.a_hh = affine(p.w_hh, p.b_hh, rec.h_prev);
        detail::CellOutput out =
            detail::cell_forward(dims.cell, dims.H, rec.a_ih, rec.a_hh, rec.h_prev, rec.c_prev);
        h = out.h;
        c = out.c;
        rec.h = h;
        rec.c = c;
      }
      run.hn[ld] = h;
      run.cn[ld] = c;
    }
    // The next layer's input: concat over d of this layer's h at the same t.
    std::vector<Vec> next(len, Vec(static_cast<size_t>(dims.D) * dims.H, 0.0));
    for (int t = 0; t < len; ++t) {
      for (int d = 0; d < dims.D; ++d) {
        const Vec& h = run.steps[l * dims.D + d][t].h;
        for (int j = 0; j < dims.H; ++j) next[t][d * dims.H + j] = h[j];
      }
    }
    layer_in = std::move(next);
  }
  return run;
}

}  // namespace

// ---------------------------------------------------------------- forward

ForwardResult forward(const Config& config, const Params& params, const Problem& problem) {
  const Dims dims = validate(config, params, problem);
  const int DH = dims.D * dims.H;
  ForwardResult result;
  result.output.assign(static_cast<size_t>(dims.T) * dims.N * DH, 0.0);
  result.hn.assign(dims.state_size(), 0.0);
  if (dims.has_c) result.cn.assign(dims.state_size(), 0.0);

  for (int n = 0; n < dims.N; ++n) {
    const SequenceRun run = run_sequence(dims, params, problem, n);
    const int top = (dims.L - 1) * dims.D;
    for (int t = 0; t < run.len; ++t) {
      for (int d = 0; d < dims.D; ++d) {
        const Vec& h = run.steps[top + d][t].h;
        for (int j = 0; j < dims.H; ++j) {
          result.output[(static_cast<size_t>(t) * dims.N + n) * DH + d * dims.H + j] = h[j];
        }
      }
    }
    for (int ld = 0; ld < dims.L * dims.D; ++ld) {
      store_state_slice(result.hn, dims, ld, n, run.hn[ld]);
      if (dims.has_c) store_state_slice(result.cn, dims, ld, n, run.cn[ld]);
    }
  }
  return result;
}

// ---------------------------------------------------------------- backward

Gradients backward(const Config& config, const Params& params, const Problem& problem,
                   const std::vector<double>& grad_output, const std::vector<double>& grad_hn,
                   const std::vector<double>& grad_cn) {
  const Dims dims = validate(config, params, problem);
  const int DH = dims.D * dims.H;
  check_size("grad_output", grad_output.size(), {dims.T, dims.N, DH});
  check_state("grad_hn", grad_hn, dims);
  check_cell_state("grad_cn", grad_cn, dims);

  Gradients grad;
  grad.input.assign(problem.input.size(), 0.0);
  grad.h0.assign(dims.state_size(), 0.0);
  if (dims.has_c) grad.c0.assign(dims.state_size(), 0.0);
  grad.params.layers.resize(params.layers.size());
  for (size_t ld = 0; ld < params.layers.size(); ++ld) {
    grad.params.layers[ld].w_ih.assign(params.layers[ld].w_ih.size(), 0.0);
    grad.params.layers[ld].w_hh.assign(params.layers[ld].w_hh.size(), 0.0);
    grad.params.layers[ld].b_ih.assign(params.layers[ld].b_ih.size(), 0.0);
    grad.params.layers[ld].b_hh.assign(params.layers[ld].b_hh.size(), 0.0);
  }

  for (int n = 0; n < dims.N; ++n) {
    const SequenceRun run = run_sequence(dims, params, problem, n);
    const int len = run.len;

    // dL/d(output of the current layer) at each step, [len] of [D*H]; starts at the top.
    std::vector<Vec> d_out(len, Vec(DH, 0.0));
    for (int t = 0; t < len; ++t) {
      for (int k = 0; k < DH; ++k) {
        d_out[t][k] = grad_output[(static_cast<size_t>(t) * dims.N + n) * DH + k];
      }
    }

    for (int l = dims.L - 1; l >= 0; --l) {
      const int in = dims.layer_input(l);
      std::vector<Vec> d_in(len, Vec(in, 0.0));  // dL/d(this layer's input)
      for (int d = 0; d < dims.D; ++d) {
        const int ld = l * dims.D + d;
        const LayerParams& p = params.layers[ld];
        LayerParams& gp = grad.params.layers[ld];
        // The gradient arriving at the state after the direction's last step: from h_n / c_n.
        Vec dh = state_slice(grad_hn, dims, ld, n);
        Vec dc = dims.has_c ? state_slice(grad_cn, dims, ld, n) : Vec();
        // Visit the steps in the reverse of the order the forward pass visited them.
        for (int s = len - 1; s >= 0; --s) {
          const int t = step_at(d, s, len);
          const StepRecord& rec = run.steps[ld][t];
          for (int j = 0; j < dims.H; ++j) dh[j] += d_out[t][d * dims.H + j];
          const detail::CellGradients cg = detail::cell_backward(
              dims.cell, dims.H, rec.a_ih, rec.a_hh, rec.h_prev, rec.c_prev, dh, dc);
          const int GH = dims.G * dims.H;
          // a_ih = W_ih x + b_ih:  dW_ih += da_ih x^T,  db_ih += da_ih,  dx += W_ih^T da_ih
          for (int r = 0; r < GH; ++r) {
            gp.b_ih[r] += cg.a_ih[r];
            for (int k = 0; k < in; ++k) {
              gp.w_ih[static_cast<size_t>(r) * in + k] += cg.a_ih[r] * rec.x[k];
              d_in[t][k] += p.w_ih[static_cast<size_t>(r) * in + k] * cg.a_ih[r];
            }
          }
          // a_hh = W_hh h_prev + b_hh:  likewise, and dh_prev += W_hh^T da_hh
          Vec dh_prev = cg.h_prev;
          for (int r = 0; r < GH; ++r) {
            gp.b_hh[r] += cg.a_hh[r];
            for (int k = 0; k < dims.H; ++k) {
              gp.w_hh[static_cast<size_t>(r) * dims.H + k] += cg.a_hh[r] * rec.h_prev[k];
              dh_prev[k] += p.w_hh[static_cast<size_t>(r) * dims.H + k] * cg.a_hh[r];
            }
          }
          dh = dh_prev;
          dc = cg.c_prev;
        }
        // What is left flows into the initial state.
        store_state_slice(grad.h0, dims, ld, n, dh);
        if (dims.has_c) store_state_slice(grad.c0, dims, ld, n, dc);
      }
      d_out = std::move(d_in);
    }

    // d_out now holds dL/d(input) of the first layer; padded steps stay zero.
    for (int t = 0; t < len; ++t) {
      for (int k = 0; k < dims.I; ++k) {
        grad.input[(static_cast<size_t>(t) * dims.N + n) * dims.I + k] = d_out[t][k];
      }
    }
  }
  return grad;
}

}  // namespace rnnref
