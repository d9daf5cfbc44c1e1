// Outputs and every gradient are bit-identical whatever the schedule's thread count and
// decomposition: weight gradients are summed in an order fixed by the graph, and every
// other value is computed row by row by kernels that do not depend on the row grouping.
#include <gtest/gtest.h>

#include <cstring>

#include "support/exec_options.h"
#include "support/problem.h"

namespace rnnwave::testing {
namespace {

template <class V>
bool same_bits(const V& a, const V& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(a[0])) == 0);
}

struct Result {
  ForwardOut<float> out;
  std::vector<float> input, h0, c0, weights;
};

Result run(const Problem<float>& p, const Weights& weights, const ExecOptions& options,
           double dropout) {
  const Rnn rnn(weights, options);
  Result r;
  const Grads<float> g = run_backward(rnn, p, &r.out, dropout);
  r.input = g.input;
  r.h0 = g.h0;
  r.c0 = g.c0;
  r.weights.assign(g.weights.flat().begin(), g.weights.flat().end());
  return r;
}

class Determinism : public ::testing::TestWithParam<CellKind> {};

TEST_P(Determinism, BitIdenticalForEveryThreadCountAndDecomposition) {
  for (const auto& [bidirectional, dropout] : {std::pair{false, 0.0}, std::pair{true, 0.0},
                                               std::pair{false, 0.3}, std::pair{true, 0.3}}) {
    Case c;
    c.cell = GetParam();
    c.layers = 3;
    c.bidirectional = bidirectional;
    c.with_h0 = true;
    c.variable_lengths = true;
    c.input_size = 10;
    c.hidden_size = 40;
    c.steps = 23;
    c.batch = 12;
    const Problem<float> p = make_problem<float>(c, 7);
    const Weights weights = Weights::uniform(p.spec, 8);
    const Result expected = run(p, weights, ExecOptions{Schedule::sequential, 1}, dropout);
    for (int threads : {1, 2, 3, 4, 8}) {
      for (int64_t block : {0, 1, 5, 23}) {
        for (int64_t splits : {0, 1, 3, 12}) {
          ExecOptions options{Schedule::wavefront, threads};
          options.step_block = block;
          options.batch_splits = splits;
          options.hidden_splits = 1 + (block + splits) % 3;  // 16-unit parts of H = 40
          const Result r = run(p, weights, options, dropout);
          const std::string what = (bidirectional ? "bi " : "uni ") + exec_name(options) +
                                   (dropout > 0 ? " dropout" : "");
          EXPECT_TRUE(same_bits(r.out.output, expected.out.output)) << what << ": output";
          EXPECT_TRUE(same_bits(r.out.hn, expected.out.hn)) << what << ": hn";
          EXPECT_TRUE(same_bits(r.out.cn, expected.out.cn)) << what << ": cn";
          EXPECT_TRUE(same_bits(r.input, expected.input)) << what << ": grad input";
          EXPECT_TRUE(same_bits(r.h0, expected.h0)) << what << ": grad h0";
          EXPECT_TRUE(same_bits(r.c0, expected.c0)) << what << ": grad c0";
          EXPECT_TRUE(same_bits(r.weights, expected.weights)) << what << ": weight grads";
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllCells, Determinism, ::testing::ValuesIn(kAllCellKinds),
                         [](const auto& param_info) { return std::string(to_string(param_info.param)); });

}  // namespace
}  // namespace rnnwave::testing
