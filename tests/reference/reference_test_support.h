// Helpers shared by the tests of the reference RNN: names and random problems.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "reference/reference_rnn.h"

namespace rnnref::test_support {

inline const char* cell_name(Cell cell) {
  switch (cell) {
    case Cell::rnn_tanh: return "rnn_tanh";
    case Cell::rnn_relu: return "rnn_relu";
    case Cell::lstm: return "lstm";
    case Cell::gru: return "gru";
    case Cell::gru_rb: return "gru_rb";
  }
  return "unknown";
}

inline constexpr Cell kAllCells[] = {Cell::rnn_tanh, Cell::rnn_relu, Cell::lstm, Cell::gru,
                                     Cell::gru_rb};

// Every cell and LSTM variant: the kinds, then the LSTM with a projection (proj_size = H - 1)
// and with peepholes.
struct Variant {
  Cell cell;
  bool projection;
  bool peepholes;
};
inline constexpr Variant kAllVariants[] = {
    {Cell::rnn_tanh, false, false}, {Cell::rnn_relu, false, false}, {Cell::lstm, false, false},
    {Cell::gru, false, false},      {Cell::gru_rb, false, false},   {Cell::lstm, true, false},
    {Cell::lstm, false, true}};

inline std::string variant_name(const Variant& v) {
  return std::string(cell_name(v.cell)) + (v.projection ? "_proj" : "") + (v.peepholes ? "_peep" : "");
}

// The config of a variant with `hidden` units.
inline void apply_variant(Config& config, const Variant& v) {
  config.cell = v.cell;
  config.proj_size = v.projection ? config.hidden_size - 1 : 0;
  config.peepholes = v.peepholes;
}

inline int directions(const Config& config) { return config.bidirectional ? 2 : 1; }

// Elements of h0 / h_n: [L*D, N, Hs].
inline size_t state_size(const Config& config, int batch) {
  return static_cast<size_t>(config.layers) * directions(config) * batch * output_size(config);
}

// Elements of c0 / c_n: [L*D, N, H].
inline size_t cell_state_size(const Config& config, int batch) {
  return static_cast<size_t>(config.layers) * directions(config) * batch * config.hidden_size;
}

// n values uniform in [-scale, scale].
inline std::vector<double> random_vector(size_t n, std::mt19937_64& rng, double scale) {
  std::uniform_real_distribution<double> dist(-scale, scale);
  std::vector<double> v(n);
  for (double& x : v) x = dist(rng);
  return v;
}

// Parameters of every (layer, direction), PyTorch shapes, uniform in [-scale, scale].
inline Params random_params(const Config& config, std::mt19937_64& rng, double scale = 0.7) {
  const int D = directions(config);
  const size_t H = static_cast<size_t>(config.hidden_size), Hs = static_cast<size_t>(output_size(config));
  const size_t GH = static_cast<size_t>(gates(config.cell)) * H;
  Params params;
  for (int l = 0; l < config.layers; ++l) {
    const size_t in = l == 0 ? config.input_size : static_cast<size_t>(D) * Hs;
    for (int d = 0; d < D; ++d) {
      LayerParams p;
      p.w_ih = random_vector(GH * in, rng, scale);
      p.w_hh = random_vector(GH * Hs, rng, scale);
      p.b_ih = random_vector(GH, rng, scale);
      p.b_hh = random_vector(GH, rng, scale);
      if (config.proj_size > 0) p.w_hr = random_vector(static_cast<size_t>(config.proj_size) * H, rng, scale);
      if (config.peepholes) p.w_ph = random_vector(3 * H, rng, scale);
      params.layers.push_back(std::move(p));
    }
  }
  return params;
}

// A random problem of T steps and batch N; lengths as given (empty = all T); random h0/c0
// when initial_state, else empty.
inline Problem random_problem(const Config& config, int steps, int batch,
                              std::vector<int64_t> lengths, bool initial_state,
                              std::mt19937_64& rng) {
  Problem problem;
  problem.steps = steps;
  problem.batch = batch;
  problem.input = random_vector(static_cast<size_t>(steps) * batch * config.input_size, rng, 1.0);
  problem.lengths = std::move(lengths);
  if (initial_state) {
    problem.h0 = random_vector(state_size(config, batch), rng, 0.8);
    if (config.cell == Cell::lstm) problem.c0 = random_vector(cell_state_size(config, batch), rng, 0.8);
  }
  return problem;
}

}  // namespace rnnref::test_support
