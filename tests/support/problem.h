// Random problems for the library's tests: a model, its weights and the arguments of a
// forward and backward pass, all owned here.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "rnnwave/rnn.h"

namespace rnnwave::testing {

/// The same elements, bit for bit (an empty vector's data() may be null: no memcmp then).
template <class V>
bool same_bits(const V& a, const V& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(a[0])) == 0);
}

struct Case {
  CellKind cell = CellKind::lstm;
  int64_t layers = 1;
  bool bidirectional = false;
  bool with_h0 = false;
  bool variable_lengths = false;
  int64_t input_size = 3, hidden_size = 3, steps = 4, batch = 3;
  bool projection = false;  // proj_size = hidden_size - 1
  bool peepholes = false;
  bool reverse = false;     // one direction walking backward

  ModelSpec spec() const;
};

/// A cell kind and variant: every definition of the engine's table is one of these (a
/// test checks it), so tests that iterate them cover every cell.
struct CellVariant {
  CellKind cell;
  bool projection = false;
  bool peepholes = false;
};
std::vector<CellVariant> all_cell_variants();
/// "lstm", "lstm_proj", "lstm_peep"
std::string variant_name(const CellVariant& v);
/// A case of that variant (its other fields the defaults).
Case case_of(const CellVariant& v);
/// Whether the variant's steps can be split by hidden units (see cells/cell_def.h).
bool splits_by_units(const CellVariant& v);

/// "lstm_l2_bi_h0_varlen", "lstm_proj_l1_rev_zero_fixed" — for test names.
std::string case_name(const Case& c);

/// Every cell variant x layers x {uni, bi, reverse} x {h0 or not} x {equal, variable
/// lengths}.
std::vector<Case> all_cases(std::vector<int64_t> layers = {1, 2, 3});

template <class T>
struct Problem {
  ModelSpec spec;
  int64_t steps = 0, batch = 0;
  std::vector<T> input, h0, c0, grad_output, grad_hn, grad_cn;
  std::vector<int64_t> lengths;

  /// Elements of h0 / h_n [L*D, N, Hs] and of c0 / c_n [L*D, N, H] (0 without c).
  int64_t state_size() const { return spec.layers * spec.directions() * batch * spec.output_size(); }
  int64_t cell_state_size() const {
    return has_cell_state(spec.cell) ? spec.layers * spec.directions() * batch * spec.hidden_size : 0;
  }
  int64_t output_size() const { return steps * batch * spec.directions() * spec.output_size(); }
};

/// Values uniform in [-1, 1); variable lengths are in [1, T], unsorted, and include T.
template <class T>
Problem<T> make_problem(const Case& c, uint64_t seed);

/// Outputs of a forward pass of `rnn`.
template <class T>
struct ForwardOut {
  std::vector<T> output, hn, cn;
};

template <class T>
ForwardArgs<T> forward_args(const Problem<T>& p, ForwardOut<T>& out);

/// The test loss of a forward pass: sum(output*grad_output) + sum(hn*grad_hn) +
/// sum(cn*grad_cn), in double (for finite differences).
double test_loss(const BasicRnn<double>& rnn, const Problem<double>& p);

/// d eval / d value by the central difference with eps = 1e-5 (double), restoring value.
template <class Eval>
double central_difference(double& value, Eval&& eval) {
  constexpr double kEps = 1e-5;
  const double saved = value;
  value = saved + kEps;
  const double up = eval();
  value = saved - kEps;
  const double down = eval();
  value = saved;
  return (up - down) / (2 * kEps);
}

/// Gradients of the test loss sum(output*grad_output) + sum(hn*grad_hn) + sum(cn*grad_cn).
template <class T>
struct Grads {
  explicit Grads(const ModelSpec& spec) : weights(spec) {}
  std::vector<T> input, h0, c0;
  BasicWeights<T> weights;
};

/// Runs a training forward and the backward pass; returns every gradient (the input's
/// only if `input_grad`: without, Grads::input stays empty and the pass is not asked for
/// it). `dropout` is the inter-layer dropout of the training forward.
template <class T>
Grads<T> run_backward(const BasicRnn<T>& rnn, const Problem<T>& p, ForwardOut<T>* out = nullptr,
                      double dropout = 0, bool input_grad = true);

}  // namespace rnnwave::testing
