#include "support/problem.h"

#include <algorithm>

namespace rnnwave::testing {

std::string case_name(const Case& c) {
  std::string name = std::string(to_string(c.cell)) + "_l" + std::to_string(c.layers);
  name += c.bidirectional ? "_bi" : "_uni";
  name += c.with_h0 ? "_h0" : "_zero";
  name += c.variable_lengths ? "_varlen" : "_fixed";
  return name;
}

std::vector<Case> all_cases(std::vector<int64_t> layers) {
  std::vector<Case> cases;
  for (CellKind cell : kAllCellKinds) {
    for (int64_t l : layers) {
      for (bool bi : {false, true}) {
        for (bool h0 : {false, true}) {
          for (bool varlen : {false, true}) {
            Case c;
            c.cell = cell;
            c.layers = l;
            c.bidirectional = bi;
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
  p.spec = ModelSpec{c.cell, c.input_size, c.hidden_size, c.layers, c.bidirectional};
  p.steps = c.steps;
  p.batch = c.batch;
  fill(p.input, p.steps * p.batch * c.input_size);
  if (c.with_h0) {
    fill(p.h0, p.state_size());
    if (c.cell == CellKind::lstm) fill(p.c0, p.state_size());
  }
  fill(p.grad_output, p.output_size());
  fill(p.grad_hn, p.state_size());
  if (c.cell == CellKind::lstm) fill(p.grad_cn, p.state_size());
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
  if (p.spec.cell == CellKind::lstm) out.cn.assign(static_cast<size_t>(p.state_size()), T(0));
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
                      double dropout) {
  ForwardOut<T> local;
  ForwardOut<T>& fo = out != nullptr ? *out : local;
  BasicWorkspace<T> ws;
  ForwardArgs<T> args = forward_args(p, fo);
  args.dropout = dropout;
  args.dropout_seed = 2024;
  rnn.forward(args, ws);
  Grads<T> g(p.spec);
  g.input.assign(p.input.size(), T(0));
  g.h0.assign(static_cast<size_t>(p.state_size()), T(0));
  if (p.spec.cell == CellKind::lstm) g.c0.assign(static_cast<size_t>(p.state_size()), T(0));
  BackwardArgs<T> b;
  b.grad_output = p.grad_output;
  b.grad_hn = p.grad_hn;
  b.grad_cn = p.grad_cn;
  b.grad_input = g.input;
  b.grad_h0 = g.h0;
  b.grad_c0 = g.c0;
  b.grad_weights = &g.weights;
  rnn.backward(b, ws);
  return g;
}

#define RNNWAVE_INSTANTIATE(T)                                                     \
  template Problem<T> make_problem<T>(const Case&, uint64_t);                      \
  template ForwardArgs<T> forward_args<T>(const Problem<T>&, ForwardOut<T>&);      \
  template Grads<T> run_backward<T>(const BasicRnn<T>&, const Problem<T>&, ForwardOut<T>*, double);
RNNWAVE_INSTANTIATE(float)
RNNWAVE_INSTANTIATE(double)
#undef RNNWAVE_INSTANTIATE

}  // namespace rnnwave::testing
