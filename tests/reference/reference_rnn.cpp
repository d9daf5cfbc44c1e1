// The reference RNN walk: argument checks, the forward pass, and back-propagation through time.
//
// Each sequence n of the batch is processed on its own, for exactly its own length len_n
// (pack_padded_sequence semantics). For layer l and direction d (index ld = l * D + d):
//   direction 0 visits t = 0, 1, ..., len-1 (t = len-1, ..., 0 for a reverse-only config);
//   direction 1 visits t = len-1, ..., 0;
//   both start from h0[ld, n] (c0[ld, n]); h_n[ld, n] is the state after the last visited step.
// Layer 0 reads input[t, n, :]; layer l > 0 reads concat(h(l-1, 0, t), h(l-1, 1, t)).
// output[t, n, d*Hs : (d+1)*Hs] = h(L-1, d, t) for t < len, zero otherwise.
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
    case Cell::gru_rb: return 3;
  }
  throw std::invalid_argument("rnnref: unknown cell kind " +
                              std::to_string(static_cast<int>(cell)));
}

int output_size(const Config& config) {
  return config.proj_size > 0 ? config.proj_size : config.hidden_size;
}

namespace {

using detail::Vec;

// The dimensions of one call, after validation.
struct Dims {
  Cell cell;
  int I, H, Hs, L, D, G, T, N;
  bool has_c;     // LSTM
  bool reverse;   // direction 0 walks backward in time

  // Width of layer l's input: I for the first layer, D*Hs above it.
  int layer_input(int l) const { return l == 0 ? I : D * Hs; }
  // Elements of a [L*D, N, w] state.
  size_t state_size(int width) const { return static_cast<size_t>(L) * D * N * width; }
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

// A [L*D, N, width] state that may be empty (zeros).
void check_state(const std::string& name, const Vec& v, const Dims& dims, int width) {
  if (!v.empty()) {
    check_size(name, v.size(), {dims.L * dims.D, dims.N, width});
  }
}

// A cell state (c0, grad_cn): allowed for the LSTM only.
void check_cell_state(const std::string& name, const Vec& v, const Dims& dims) {
  if (!dims.has_c && !v.empty()) fail(name + ": must be empty for a cell without c (not LSTM)");
  check_state(name, v, dims, dims.H);
}

Dims validate(const Config& config, const Params& params, const Problem& problem) {
  Dims dims{};
  dims.cell = config.cell;
  dims.G = gates(config.cell);  // throws on an unknown kind
  dims.has_c = config.cell == Cell::lstm;
  dims.reverse = config.reverse;
  dims.I = config.input_size;
  dims.H = config.hidden_size;
  dims.Hs = output_size(config);
  dims.L = config.layers;
  dims.D = config.bidirectional ? 2 : 1;
  dims.T = problem.steps;
  dims.N = problem.batch;
  if (dims.I < 1) fail("input_size: expected >= 1, got " + std::to_string(dims.I));
  if (dims.H < 1) fail("hidden_size: expected >= 1, got " + std::to_string(dims.H));
  if (dims.L < 1) fail("layers: expected >= 1, got " + std::to_string(dims.L));
  if (dims.T < 1) fail("steps: expected >= 1, got " + std::to_string(dims.T));
  if (dims.N < 1) fail("batch: expected >= 1, got " + std::to_string(dims.N));
  if (config.proj_size < 0 || ((config.proj_size > 0 || config.peepholes) && !dims.has_c)) {
    fail("proj_size / peepholes: for the LSTM only");
  }
  if (config.reverse && config.bidirectional) fail("reverse: one direction only");

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
      check_size(name + "w_hh", p.w_hh.size(), {GH, dims.Hs});
      check_size(name + "b_ih", p.b_ih.size(), {GH});
      check_size(name + "b_hh", p.b_hh.size(), {GH});
      check_size(name + "w_hr", p.w_hr.size(), {config.proj_size > 0 ? config.proj_size : 0, dims.H});
      check_size(name + "w_ph", p.w_ph.size(), {config.peepholes ? 3 : 0, dims.H});
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
  check_state("h0", problem.h0, dims, dims.Hs);
  check_cell_state("c0", problem.c0, dims);
  return dims;
}

// ---------------------------------------------------------------- small helpers

int length_of(const Problem& problem, int n) {
  return problem.lengths.empty() ? problem.steps : static_cast<int>(problem.lengths[n]);
}

// The [width] slice (ld, n) of a [L*D, N, width] state; zeros when the state is empty.
Vec state_slice(const Vec& state, const Dims& dims, int width, int ld, int n) {
  Vec out(width, 0.0);
  if (state.empty()) return out;
  const size_t base = (static_cast<size_t>(ld) * dims.N + n) * width;
  for (int j = 0; j < width; ++j) out[j] = state[base + j];
  return out;
}

void store_state_slice(Vec& state, const Dims& dims, int width, int ld, int n, const Vec& value) {
  const size_t base = (static_cast<size_t>(ld) * dims.N + n) * width;
  for (int j = 0; j < width; ++j) state[base + j] = value[j];
}

// The time step visited at position s (0 = first) of direction d of a sequence of length len.
int step_at(const Dims& dims, int d, int s, int len) {
  return d == 0 && !dims.reverse ? s : len - 1 - s;
}

// ---------------------------------------------------------------- one sequence, forward

// What one cell step keeps for the backward pass (which recomputes the rest).
struct StepRecord {
  Vec x;       // layer input [I_l]
  Vec h_prev;  // [Hs]
  Vec c_prev;  // [H] (LSTM)
  Vec h;       // [Hs]
};

struct SequenceRun {
  int len = 0;
  std::vector<std::vector<StepRecord>> steps;  // [L*D][len], indexed by time step t
  std::vector<Vec> hn;                         // [L*D] of [Hs]
  std::vector<Vec> cn;                         // [L*D] of [H] (LSTM)
};

// Runs sequence n through the whole stack, recording every step.
SequenceRun run_sequence(const Config& config, const Dims& dims, const Params& params,
                         const Problem& problem, int n) {
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
      Vec h = state_slice(problem.h0, dims, dims.Hs, ld, n);
      Vec c = dims.has_c ? state_slice(problem.c0, dims, dims.H, ld, n) : Vec();
      for (int s = 0; s < len; ++s) {
        const int t = step_at(dims, d, s, len);
        StepRecord& rec = run.steps[ld][t];
        rec.x = layer_in[t];
        rec.h_prev = h;
        rec.c_prev = c;
        detail::StepState out = detail::step_forward(config, p, rec.x, rec.h_prev, rec.c_prev);
        h = out.h;
        c = out.c;
        rec.h = h;
      }
      run.hn[ld] = h;
      run.cn[ld] = c;
    }
    // The next layer's input: concat over d of this layer's h at the same t.
    std::vector<Vec> next(len, Vec(static_cast<size_t>(dims.D) * dims.Hs, 0.0));
    for (int t = 0; t < len; ++t) {
      for (int d = 0; d < dims.D; ++d) {
        const Vec& h = run.steps[l * dims.D + d][t].h;
        for (int j = 0; j < dims.Hs; ++j) next[t][d * dims.Hs + j] = h[j];
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
  const int DH = dims.D * dims.Hs;
  ForwardResult result;
  result.output.assign(static_cast<size_t>(dims.T) * dims.N * DH, 0.0);
  result.hn.assign(dims.state_size(dims.Hs), 0.0);
  if (dims.has_c) result.cn.assign(dims.state_size(dims.H), 0.0);

  for (int n = 0; n < dims.N; ++n) {
    const SequenceRun run = run_sequence(config, dims, params, problem, n);
    const int top = (dims.L - 1) * dims.D;
    for (int t = 0; t < run.len; ++t) {
      for (int d = 0; d < dims.D; ++d) {
        const Vec& h = run.steps[top + d][t].h;
        for (int j = 0; j < dims.Hs; ++j) {
          result.output[(static_cast<size_t>(t) * dims.N + n) * DH + d * dims.Hs + j] = h[j];
        }
      }
    }
    for (int ld = 0; ld < dims.L * dims.D; ++ld) {
      store_state_slice(result.hn, dims, dims.Hs, ld, n, run.hn[ld]);
      if (dims.has_c) store_state_slice(result.cn, dims, dims.H, ld, n, run.cn[ld]);
    }
  }
  return result;
}

// ---------------------------------------------------------------- backward

Gradients backward(const Config& config, const Params& params, const Problem& problem,
                   const std::vector<double>& grad_output, const std::vector<double>& grad_hn,
                   const std::vector<double>& grad_cn) {
  const Dims dims = validate(config, params, problem);
  const int DH = dims.D * dims.Hs;
  check_size("grad_output", grad_output.size(), {dims.T, dims.N, DH});
  check_state("grad_hn", grad_hn, dims, dims.Hs);
  check_cell_state("grad_cn", grad_cn, dims);

  Gradients grad;
  grad.input.assign(problem.input.size(), 0.0);
  grad.h0.assign(dims.state_size(dims.Hs), 0.0);
  if (dims.has_c) grad.c0.assign(dims.state_size(dims.H), 0.0);
  grad.params.layers.resize(params.layers.size());
  for (size_t ld = 0; ld < params.layers.size(); ++ld) {
    const LayerParams& p = params.layers[ld];
    LayerParams& g = grad.params.layers[ld];
    g.w_ih.assign(p.w_ih.size(), 0.0);
    g.w_hh.assign(p.w_hh.size(), 0.0);
    g.b_ih.assign(p.b_ih.size(), 0.0);
    g.b_hh.assign(p.b_hh.size(), 0.0);
    g.w_hr.assign(p.w_hr.size(), 0.0);
    g.w_ph.assign(p.w_ph.size(), 0.0);
  }

  for (int n = 0; n < dims.N; ++n) {
    const SequenceRun run = run_sequence(config, dims, params, problem, n);
    const int len = run.len;

    // dL/d(output of the current layer) at each step, [len] of [D*Hs]; starts at the top.
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
        // The gradient arriving at the state after the direction's last step: from h_n / c_n.
        Vec dh = state_slice(grad_hn, dims, dims.Hs, ld, n);
        Vec dc = dims.has_c ? state_slice(grad_cn, dims, dims.H, ld, n) : Vec();
        // Visit the steps in the reverse of the order the forward pass visited them.
        for (int s = len - 1; s >= 0; --s) {
          const int t = step_at(dims, d, s, len);
          const StepRecord& rec = run.steps[ld][t];
          for (int j = 0; j < dims.Hs; ++j) dh[j] += d_out[t][d * dims.Hs + j];
          const detail::StepGradients g = detail::step_backward(
              config, params.layers[ld], grad.params.layers[ld], rec.x, rec.h_prev, rec.c_prev,
              dh, dc);
          for (int k = 0; k < in; ++k) d_in[t][k] += g.x[k];
          dh = g.h_prev;
          dc = g.c_prev;
        }
        // What is left flows into the initial state.
        store_state_slice(grad.h0, dims, dims.Hs, ld, n, dh);
        if (dims.has_c) store_state_slice(grad.c0, dims, dims.H, ld, n, dc);
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
