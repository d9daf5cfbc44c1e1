#include "support/problem.h"

#include <algorithm>
#include <limits>

#include "cells/cell_table.h"

namespace rnnwave::testing {

ModelSpec Case::spec() const {
  ModelSpec spec{cell, input_size, hidden_size, layers, bidirectional};
  spec.proj_size = projection ? hidden_size - 1 : 0;
  spec.peepholes = peepholes;
  spec.reverse = reverse;
  return spec;
}

std::vector<CellVariant> all_cell_variants() {
  std::vector<CellVariant> variants;
  for (CellKind cell : kAllCellKinds) variants.push_back({cell});
  variants.push_back({CellKind::lstm, true, false});
  variants.push_back({CellKind::lstm, false, true});
  return variants;
}

std::string variant_name(const CellVariant& v) {
  return std::string(to_string(v.cell)) + (v.projection ? "_proj" : "") + (v.peepholes ? "_peep" : "");
}

Case case_of(const CellVariant& v) {
  Case c;
  c.cell = v.cell;
  c.projection = v.projection;
  c.peepholes = v.peepholes;
  return c;
}

bool splits_by_units(const CellVariant& v) {
  return cells::cell_definition(case_of(v).spec()).splits_by_units();
}

std::string case_name(const Case& c) {
  std::string name = variant_name({c.cell, c.projection, c.peepholes}) + "_l" + std::to_string(c.layers);
  name += c.bidirectional ? "_bi" : (c.reverse ? "_rev" : "_uni");
  name += c.with_h0 ? "_h0" : "_zero";
  name += c.variable_lengths ? "_varlen" : "_fixed";
  return name;
}

std::vector<Case> all_cases(std::vector<int64_t> layers) {
  std::vector<Case> cases;
  for (const CellVariant& variant : all_cell_variants()) {
    for (int64_t l : layers) {
      for (int directions : {0, 1, 2}) {
        for (bool h0 : {false, true}) {
          for (bool varlen : {false, true}) {
            Case c;
            c.cell = variant.cell;
            c.projection = variant.projection;
            c.peepholes = variant.peepholes;
            c.layers = l;
            c.bidirectional = directions == 1;
            c.reverse = directions == 2;
            c.with_h0 = h0;
            c.variable_lengths = varlen;
            cases.push_back(c);
          }
        }
      }
    }
  }
  return cases;
}

template <class T>
Problem<T> make_problem(const Case& c, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  auto fill = [&](std::vector<T>& v, int64_t n) {
    v.resize(static_cast<size_t>(n));
    for (T& x : v) x = static_cast<T>(uniform(gen));
  };
  Problem<T> p;
  p.spec = c.spec();
  p.steps = c.steps;
  p.batch = c.batch;
  fill(p.input, p.steps * p.batch * c.input_size);
  if (c.with_h0) {
    fill(p.h0, p.state_size());
    fill(p.c0, p.cell_state_size());
  }
  fill(p.grad_output, p.output_size());
  fill(p.grad_hn, p.state_size());
  fill(p.grad_cn, p.cell_state_size());
  if (c.variable_lengths) {
    p.lengths.resize(static_cast<size_t>(p.batch));
    for (int64_t n = 0; n < p.batch; ++n) p.lengths[n] = 1 + (n * 7 + 2) % p.steps;
    p.lengths[static_cast<size_t>(p.batch / 2)] = p.steps;
    std::shuffle(p.lengths.begin(), p.lengths.end(), gen);
  }
  return p;
}

template <class T>
ForwardArgs<T> forward_args(const Problem<T>& p, ForwardOut<T>& out) {
  out.output.assign(static_cast<size_t>(p.output_size()), T(0));
  out.hn.assign(static_cast<size_t>(p.state_size()), T(0));
  out.cn.assign(static_cast<size_t>(p.cell_state_size()), T(0));
  ForwardArgs<T> a;
  a.steps = p.steps;
  a.batch = p.batch;
  a.input = p.input;
  a.lengths = p.lengths;
  a.h0 = p.h0;
  a.c0 = p.c0;
  a.output = out.output;
  a.hn = out.hn;
  a.cn = out.cn;
  return a;
}

template <class T>
Grads<T> run_backward(const BasicRnn<T>& rnn, const Problem<T>& p, ForwardOut<T>* out,
                      double dropout, bool input_grad) {
  ForwardOut<T> local;
  ForwardOut<T>& fo = out != nullptr ? *out : local;
  BasicWorkspace<T> ws;
  ForwardArgs<T> args = forward_args(p, fo);
  args.dropout = dropout;
  args.dropout_seed = 2024;
  rnn.forward(args, ws);
  Grads<T> g(p.spec);
  if (input_grad) g.input.assign(p.input.size(), T(0));
  g.h0.assign(static_cast<size_t>(p.state_size()), T(0));
  g.c0.assign(static_cast<size_t>(p.cell_state_size()), T(0));
  BackwardArgs<T> b;
  b.grad_output = p.grad_output;
  b.grad_hn = p.grad_hn;
  b.grad_cn = p.grad_cn;
  b.grad_input = g.input;
  b.grad_h0 = g.h0;
  b.grad_c0 = g.c0;
  // The pass must overwrite every gradient: a value it leaves stays NaN and fails the
  // caller's comparison.
  std::fill(g.weights.flat().begin(), g.weights.flat().end(), std::numeric_limits<T>::quiet_NaN());
  b.grad_weights = &g.weights;
  rnn.backward(b, ws);
  return g;
}

double test_loss(const BasicRnn<double>& rnn, const Problem<double>& p) {
  ForwardOut<double> out;
  rnn.forward(forward_args(p, out));
  double sum = 0;
  for (size_t i = 0; i < out.output.size(); ++i) sum += out.output[i] * p.grad_output[i];
  for (size_t i = 0; i < out.hn.size(); ++i) sum += out.hn[i] * p.grad_hn[i];
  for (size_t i = 0; i < out.cn.size(); ++i) sum += out.cn[i] * p.grad_cn[i];
  return sum;
}

#define RNNWAVE_INSTANTIATE(T)                                                     \
  template Problem<T> make_problem<T>(const Case&, uint64_t);                      \
  template ForwardArgs<T> forward_args<T>(const Problem<T>&, ForwardOut<T>&);      \
  template Grads<T> run_backward<T>(const BasicRnn<T>&, const Problem<T>&, ForwardOut<T>*, \
                                    double, bool);
RNNWAVE_INSTANTIATE(float)
RNNWAVE_INSTANTIATE(double)
#undef RNNWAVE_INSTANTIATE

}  // namespace rnnwave::testing
