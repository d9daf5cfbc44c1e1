// A stack cut into layer ranges (pipeline_layers, layer_range_weights) and run as a chain
// of stages in one process, each stage fed block by block from the one below through
// ForwardArgs::on_input_block while both run (two threads): the bits of the whole stack,
// for every cell variant, direction, length pattern, schedule and thread count. This is
// the engine half of the MPI pipeline (tests/tools/forward_pipeline_test.py runs the
// other half under mpirun).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "rnnwave/dist/layer_range.h"
#include "support/exec_options.h"
#include "support/problem.h"

namespace rnnwave::dist {
namespace {

using testing::Case;
using testing::ForwardOut;
using testing::Problem;

TEST(PipelineLayers, TilesTheStackBalancedByLayerCount) {
  for (int64_t layers = 1; layers <= 9; ++layers) {
    for (int ranks = 1; ranks <= layers; ++ranks) {
      int64_t next = 0;
      for (int r = 0; r < ranks; ++r) {
        const LayerRange range = pipeline_layers(layers, ranks, r);
        EXPECT_EQ(range.begin, next);
        EXPECT_TRUE(range.count() == layers / ranks || range.count() == layers / ranks + 1);
        EXPECT_EQ(range.count() > layers / ranks, r < layers % ranks) << layers << " " << ranks << " " << r;
        next = range.end;
      }
      EXPECT_EQ(next, layers);
    }
  }
  EXPECT_EQ(pipeline_layers(5, 2, 0), (LayerRange{0, 3}));
  EXPECT_EQ(pipeline_layers(5, 2, 1), (LayerRange{3, 5}));
}

TEST(PipelineLayers, RefusesMoreRanksThanLayers) {
  try {
    pipeline_layers(2, 3, 0);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "a pipeline of 3 ranks needs at least 3 layers (one per rank), the model has 2; "
                           "start at most 2 ranks");
  }
  EXPECT_THROW(pipeline_layers(3, 2, 2), Error);
  EXPECT_THROW(pipeline_layers(3, 0, 0), Error);
}

TEST(LayerRangeWeights, RenamesTheLayersAndRefusesBadRanges) {
  const ModelSpec spec{CellKind::gru, 5, 8, 3, true};
  const Weights all = Weights::uniform(spec, 3);
  const Weights part = layer_range_weights(all, {1, 3});
  EXPECT_EQ(part.spec().layers, 2);
  EXPECT_EQ(part.spec().input_size, 16);
  const auto a = part.get("weight_ih_l1_reverse"), b = all.get("weight_ih_l2_reverse");
  EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end()));
  EXPECT_THROW(layer_range_weights(all, {2, 2}), Error);
  EXPECT_THROW(layer_range_weights(all, {1, 4}), Error);
}

/// Blocks of a [T, N, w] tensor marked final one by one, waited for by another thread.
class BlockBoard {
 public:
  explicit BlockBoard(int64_t steps) : done_(static_cast<size_t>(steps), false) {}
  void mark(int64_t t0, int64_t t1) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int64_t t = t0; t < t1; ++t) done_[t] = true;
    changed_.notify_all();
  }
  void wait(int64_t t0, int64_t t1) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] {
      for (int64_t t = t0; t < t1; ++t) {
        if (!done_[t]) return false;
      }
      return true;
    });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<bool> done_;
};

struct ChainParam {
  Case c;
  ExecOptions options;
};

class StageChain : public ::testing::TestWithParam<ChainParam> {};

TEST_P(StageChain, GivesTheBitsOfTheWholeStack) {
  const Case& c = GetParam().c;
  const ExecOptions& options = GetParam().options;
  const Problem<float> p = testing::make_problem<float>(c, 11);
  const Weights weights = Weights::uniform(p.spec, 12);
  ForwardOut<float> whole;
  Rnn(weights, options).forward(testing::forward_args(p, whole));

  // Two stages, [0, 1) and [1, L); the upper one's input is the lower one's output, which
  // the lower one publishes block by block.
  const LayerRange low = pipeline_layers(p.spec.layers, 2, 0), high = pipeline_layers(p.spec.layers, 2, 1);
  const Rnn lower(layer_range_weights(weights, low), options), upper(layer_range_weights(weights, high), options);
  const int64_t D = p.spec.directions(), Hs = p.spec.output_size(), H = p.spec.hidden_size, N = p.batch;
  const int64_t step = N * D * Hs;
  std::vector<float> middle(static_cast<size_t>(p.steps * step), std::nanf("")), output(whole.output.size());
  std::vector<float> hn(whole.hn.size()), cn(whole.cn.size());
  BlockBoard board(p.steps);
  auto states = [&](const std::vector<float>& s, std::vector<float>& into, LayerRange r, int64_t w) {
    const auto from = static_cast<size_t>(r.begin * D * N * w), count = static_cast<size_t>(r.count() * D * N * w);
    return std::make_pair(s.empty() ? std::span<const float>() : std::span<const float>(s).subspan(from, count),
                          into.empty() ? std::span<float>() : std::span<float>(into).subspan(from, count));
  };
  ForwardArgs<float> a;
  a.steps = p.steps;
  a.batch = N;
  a.lengths = p.lengths;
  a.input = p.input;
  a.output = middle;
  std::tie(a.h0, a.hn) = states(p.h0, hn, low, Hs);
  std::tie(a.c0, a.cn) = states(p.c0, cn, low, H);
  a.on_output_block = [&](int64_t t0, int64_t t1) { board.mark(t0, t1); };
  a.output_early = true;
  ForwardArgs<float> b = a;
  b.input = middle;
  b.output = output;
  std::tie(b.h0, b.hn) = states(p.h0, hn, high, Hs);
  std::tie(b.c0, b.cn) = states(p.c0, cn, high, H);
  b.on_output_block = nullptr;
  std::vector<std::pair<int64_t, int64_t>> asked;
  b.on_input_block = [&](int64_t t0, int64_t t1) {
    asked.emplace_back(t0, t1);
    board.wait(t0, t1);
  };
  std::thread below([&] { lower.forward(a); });
  upper.forward(b);
  below.join();

  EXPECT_TRUE(testing::same_bits(output, whole.output));
  EXPECT_TRUE(testing::same_bits(hn, whole.hn));
  EXPECT_TRUE(testing::same_bits(cn, whole.cn));
  // The hook's blocks tile [0, T) in increasing order.
  int64_t next = 0;
  for (const auto& [t0, t1] : asked) {
    EXPECT_EQ(t0, next);
    EXPECT_LT(t0, t1);
    next = t1;
  }
  EXPECT_EQ(next, p.steps);
}

std::vector<ChainParam> chain_params() {
  std::vector<ChainParam> params;
  for (const testing::CellVariant& v : testing::all_cell_variants()) {
    // Both directions with variable lengths (the gathered input), one with equal ones
    // (the caller's input read in place).
    for (const bool bidirectional : {false, true}) {
      {
        const bool varlen = bidirectional;
        Case c = testing::case_of(v);
        c.layers = 3;
        c.bidirectional = bidirectional;
        c.variable_lengths = varlen;
        c.with_h0 = true;
        c.steps = 13;
        c.batch = 5;
        c.hidden_size = 16;
        for (ExecOptions options : testing::tested_exec_options()) {
          options.step_block = 3;  // several blocks
          params.push_back({c, options});
        }
      }
    }
  }
  return params;
}

INSTANTIATE_TEST_SUITE_P(Cells, StageChain, ::testing::ValuesIn(chain_params()), [](const auto& info) {
  return testing::case_name(info.param.c) + "_" + testing::exec_name(info.param.options);
});

TEST(InputHook, AnExceptionFromTheHookReachesTheCaller) {
  Case c;
  c.layers = 2;
  c.steps = 6;
  const Problem<float> p = testing::make_problem<float>(c, 3);
  for (const ExecOptions& options : testing::tested_exec_options()) {
    Rnn rnn(Weights::uniform(p.spec, 4), options);
    ForwardOut<float> out;
    ForwardArgs<float> args = testing::forward_args(p, out);
    args.on_input_block = [](int64_t, int64_t) { throw std::runtime_error("no input"); };
    EXPECT_THROW(rnn.forward(args), std::runtime_error) << testing::exec_name(options);
  }
}

}  // namespace
}  // namespace rnnwave::dist
