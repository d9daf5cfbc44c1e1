#include "peer_problem.h"

#include <cmath>
#include <random>
#include <stdexcept>

namespace rnnwave::bench {
namespace {

constexpr PeerCell kCells[] = {PeerCell::rnn_tanh, PeerCell::rnn_relu, PeerCell::lstm,
                               PeerCell::gru};

std::vector<float> uniform(int64_t count, float bound, std::mt19937_64& gen) {
  std::uniform_real_distribution<float> dist(-bound, bound);
  std::vector<float> values(static_cast<size_t>(count));
  for (float& v : values) v = dist(gen);
  return values;
}

}  // namespace

std::string to_string(PeerCell cell) {
  switch (cell) {
    case PeerCell::rnn_tanh: return "rnn_tanh";
    case PeerCell::rnn_relu: return "rnn_relu";
    case PeerCell::lstm: return "lstm";
    case PeerCell::gru: return "gru";
  }
  return "unknown";
}

PeerCell parse_peer_cell(const std::string& name) {
  for (PeerCell cell : kCells) {
    if (to_string(cell) == name) return cell;
  }
  throw std::invalid_argument("--cell must be rnn_tanh, rnn_relu, lstm or gru, got '" + name +
                              "'");
}

int64_t PeerProblem::gates() const {
  switch (cell) {
    case PeerCell::lstm: return 4;
    case PeerCell::gru: return 3;
    default: return 1;
  }
}

int64_t PeerProblem::layer_input_size(int64_t l) const {
  return l == 0 ? input_size : directions() * hidden_size;
}

void PeerProblem::validate() const {
  const auto positive = [](const char* flag, int64_t value) {
    if (value < 1) {
      throw std::invalid_argument(std::string(flag) + " must be >= 1, got " +
                                  std::to_string(value));
    }
  };
  positive("--layers", layers);
  positive("--seq-len", steps);
  positive("--batch", batch);
  positive("--input-size", input_size);
  positive("--hidden-size", hidden_size);
}

double PeerProblem::gemm_flops(bool training) const {
  const double rows = double(steps) * double(batch);
  const double GH = double(gates() * hidden_size), Hd = double(hidden_size);
  double flops = 0;
  for (int64_t l = 0; l < layers; ++l) {
    const double per_direction =
        2 * rows * GH * (double(layer_input_size(l)) + Hd) * (training ? 3 : 1);
    flops += per_direction * double(directions());
  }
  return flops;
}

PeerData make_peer_data(const PeerProblem& p, uint64_t seed) {
  std::mt19937_64 gen(seed);
  const int64_t G = p.gates(), H = p.hidden_size, D = p.directions();
  const float bound = 1.0f / std::sqrt(float(H));
  PeerData data;
  for (int64_t l = 0; l < p.layers; ++l) {
    for (int64_t d = 0; d < D; ++d) {
      TorchCellWeights w;
      w.weight_ih = uniform(G * H * p.layer_input_size(l), bound, gen);
      w.weight_hh = uniform(G * H * H, bound, gen);
      w.bias_ih = uniform(G * H, bound, gen);
      w.bias_hh = uniform(G * H, bound, gen);
      data.weights.push_back(std::move(w));
    }
  }
  const int64_t states = p.layers * D * p.batch * H;
  data.input = uniform(p.steps * p.batch * p.input_size, 1.0f, gen);
  data.h0 = uniform(states, 1.0f, gen);
  if (p.cell == PeerCell::lstm) data.c0 = uniform(states, 1.0f, gen);
  data.grad_output = uniform(p.steps * p.batch * D * H, 1.0f, gen);
  return data;
}

std::string torch_suffix(int64_t layer, int64_t direction) {
  return "_l" + std::to_string(layer) + (direction == 1 ? "_reverse" : "");
}

}  // namespace rnnwave::bench
