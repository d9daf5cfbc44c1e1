// A stack cut into layer ranges (pipeline_layers, layer_range_weights) and run as a chain
// of stages in one process, each stage fed block by block from the one below through
// ForwardArgs::on_input_block while both run (two threads): the bits of the whole stack,
// for every cell variant, direction, length pattern, schedule and thread count. This is
// the engine half of the MPI pipeline (tests/tools/forward_pipeline_test.py runs the
// other half under mpirun).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "rnnwave/dist/layer_range.h"
#include "rnnwave/dist/pipeline.h"
#include "rnnwave/dist/world.h"
#include "rnnwave/planner.h"
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

/// A stack cut into two stages, [0, 1) and [1, L), the upper fed by the lower block by
/// block: forward (with workspaces for training) and backward, each stage on a thread.
class TwoStages {
 public:
  TwoStages(const Problem<float>& p, const Weights& weights, const ExecOptions& options)
      : p_(p), low_(pipeline_layers(p.spec.layers, 2, 0)), high_(pipeline_layers(p.spec.layers, 2, 1)),
        lower_(layer_range_weights(weights, low_), options), upper_(layer_range_weights(weights, high_), options),
        D_(p.spec.directions()), N_(p.batch) {}

  /// Runs the forward pass; returns the output [T, N, D*Hs] and fills hn, cn.
  std::vector<float> forward(std::vector<float>& hn, std::vector<float>& cn, bool training) {
    const int64_t Hs = p_.spec.output_size(), H = p_.spec.hidden_size;
    middle_.assign(static_cast<size_t>(p_.steps * N_ * D_ * Hs), std::nanf(""));
    std::vector<float> output(middle_.size());
    BlockBoard board(p_.steps);
    ForwardArgs<float> a;
    a.steps = p_.steps;
    a.batch = N_;
    a.lengths = p_.lengths;
    a.input = p_.input;
    a.output = middle_;
    std::tie(a.h0, a.hn) = states(p_.h0, hn, low_, Hs);
    std::tie(a.c0, a.cn) = states(p_.c0, cn, low_, H);
    a.on_output_block = [&](int64_t t0, int64_t t1) { board.mark(t0, t1); };
    a.output_early = true;
    ForwardArgs<float> b = a;
    b.input = middle_;
    b.output = output;
    std::tie(b.h0, b.hn) = states(p_.h0, hn, high_, Hs);
    std::tie(b.c0, b.cn) = states(p_.c0, cn, high_, H);
    b.on_output_block = nullptr;
    asked_.clear();
    b.on_input_block = [&](int64_t t0, int64_t t1) {
      asked_.emplace_back(t0, t1);
      board.wait(t0, t1);
    };
    std::thread below([&] { training ? lower_.forward(a, ws_low_) : lower_.forward(a); });
    training ? upper_.forward(b, ws_high_) : upper_.forward(b);
    below.join();
    return output;
  }

  /// After forward(..., true): the backward pass of the problem's gradients.
  testing::Grads<float> backward() {
    const int64_t Hs = p_.spec.output_size(), H = p_.spec.hidden_size;
    testing::Grads<float> g(p_.spec);
    g.input.assign(p_.input.size(), 0.0f);
    g.h0.assign(static_cast<size_t>(p_.state_size()), 0.0f);
    g.c0.assign(static_cast<size_t>(p_.cell_state_size()), 0.0f);
    Weights grads_low(lower_.spec()), grads_high(upper_.spec());
    std::vector<float> grad_middle(middle_.size(), std::nanf(""));
    BlockBoard board(p_.steps);
    BackwardArgs<float> b;  // the upper stage: the caller's grad_output
    b.grad_output = p_.grad_output;
    std::tie(b.grad_hn, std::ignore) = states(p_.grad_hn, g.h0, high_, Hs);
    std::tie(b.grad_cn, std::ignore) = states(p_.grad_cn, g.c0, high_, H);
    std::tie(std::ignore, b.grad_h0) = states(p_.grad_hn, g.h0, high_, Hs);
    std::tie(std::ignore, b.grad_c0) = states(p_.grad_cn, g.c0, high_, H);
    b.grad_input = grad_middle;
    b.grad_weights = &grads_high;
    b.on_grad_input_block = [&](int64_t t0, int64_t t1) { board.mark(t0, t1); };
    b.grad_input_early = true;
    BackwardArgs<float> a;  // the lower stage, fed by the upper one
    a.grad_output = grad_middle;
    std::tie(a.grad_hn, a.grad_h0) = states(p_.grad_hn, g.h0, low_, Hs);
    std::tie(a.grad_cn, a.grad_c0) = states(p_.grad_cn, g.c0, low_, H);
    a.grad_input = g.input;
    a.grad_weights = &grads_low;
    asked_.clear();
    a.on_grad_output_block = [&](int64_t t0, int64_t t1) {
      asked_.emplace_back(t0, t1);
      board.wait(t0, t1);
    };
    std::thread above([&] { upper_.backward(b, ws_high_); });
    lower_.backward(a, ws_low_);
    above.join();
    set_layer_range(g.weights, low_, grads_low);
    set_layer_range(g.weights, high_, grads_high);
    return g;
  }

  /// The blocks the fed stage asked for, in order.
  const std::vector<std::pair<int64_t, int64_t>>& asked() const { return asked_; }

 private:
  /// A stage's rows of a [L*D, N, w] state tensor (given, and to write).
  std::pair<std::span<const float>, std::span<float>> states(const std::vector<float>& given,
                                                             std::vector<float>& into, LayerRange r, int64_t w) {
    const auto from = static_cast<size_t>(r.begin * D_ * N_ * w), count = static_cast<size_t>(r.count() * D_ * N_ * w);
    return {given.empty() ? std::span<const float>() : std::span<const float>(given).subspan(from, count),
            into.empty() ? std::span<float>() : std::span<float>(into).subspan(from, count)};
  }

  const Problem<float>& p_;
  LayerRange low_, high_;
  Rnn lower_, upper_;
  int64_t D_, N_;
  std::vector<float> middle_;
  Workspace ws_low_, ws_high_;
  std::vector<std::pair<int64_t, int64_t>> asked_;
};

/// The blocks a fed stage asked for tile [0, T), in increasing order (forward) or
/// decreasing (backward, a stack walking forward in time).
void expect_tiling(const std::vector<std::pair<int64_t, int64_t>>& asked, int64_t steps, bool decreasing) {
  std::vector<std::pair<int64_t, int64_t>> blocks = asked;
  if (decreasing) std::reverse(blocks.begin(), blocks.end());
  int64_t next = 0;
  for (const auto& [t0, t1] : blocks) {
    EXPECT_EQ(t0, next);
    EXPECT_LT(t0, t1);
    next = t1;
  }
  EXPECT_EQ(next, steps);
}

class StageChain : public ::testing::TestWithParam<ChainParam> {};

TEST_P(StageChain, ForwardGivesTheBitsOfTheWholeStack) {
  const Problem<float> p = testing::make_problem<float>(GetParam().c, 11);
  const Weights weights = Weights::uniform(p.spec, 12);
  ForwardOut<float> whole;
  Rnn(weights, GetParam().options).forward(testing::forward_args(p, whole));
  TwoStages stages(p, weights, GetParam().options);
  std::vector<float> hn(whole.hn.size()), cn(whole.cn.size());
  const std::vector<float> output = stages.forward(hn, cn, false);
  EXPECT_TRUE(testing::same_bits(output, whole.output));
  EXPECT_TRUE(testing::same_bits(hn, whole.hn));
  EXPECT_TRUE(testing::same_bits(cn, whole.cn));
  expect_tiling(stages.asked(), p.steps, false);
}

TEST_P(StageChain, BackwardGivesTheBitsOfTheWholeStack) {
  const Problem<float> p = testing::make_problem<float>(GetParam().c, 13);
  const Weights weights = Weights::uniform(p.spec, 14);
  ForwardOut<float> whole_out;
  const testing::Grads<float> whole = testing::run_backward(Rnn(weights, GetParam().options), p, &whole_out);
  TwoStages stages(p, weights, GetParam().options);
  std::vector<float> hn(whole_out.hn.size()), cn(whole_out.cn.size());
  EXPECT_TRUE(testing::same_bits(stages.forward(hn, cn, true), whole_out.output));
  const testing::Grads<float> g = stages.backward();
  EXPECT_TRUE(testing::same_bits(g.input, whole.input));
  EXPECT_TRUE(testing::same_bits(g.h0, whole.h0));
  EXPECT_TRUE(testing::same_bits(g.c0, whole.c0));
  const auto a = g.weights.flat(), b = whole.weights.flat();
  EXPECT_TRUE(a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  expect_tiling(stages.asked(), p.steps, !p.spec.reverse);
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

INSTANTIATE_TEST_SUITE_P(Cells, StageChain, ::testing::ValuesIn(chain_params()), [](const auto& param) {
  return testing::case_name(param.param.c) + "_" + testing::exec_name(param.param.options);
});

TEST(PipelineStage, AutomaticBlocksOfAtMostSixteenStepsEvenWhereTheEngineTakesTheSequence) {
  // Input weights of 16 MiB at one row: the engine projects the whole sequence at once,
  // which would leave a pipeline's stages nothing to overlap.
  const ModelSpec spec{CellKind::lstm, 1024, 1024, 2, false};
  ASSERT_EQ(plan_of(spec, 100, 1, ExecOptions{Schedule::wavefront, 1}).step_block, 100);
  World world;
  const Weights weights = Weights::uniform(spec, 5);
  EXPECT_EQ(PipelineStage(world, weights).pipe_block(100, 1), 16);
  EXPECT_EQ(PipelineStage(world, weights).pipe_block(100, 64), 16);
  EXPECT_EQ(PipelineStage(world, weights).pipe_block(100, 256), 4);  // the engine's, below 16
  ExecOptions asked;
  asked.step_block = 50;
  EXPECT_EQ(PipelineStage(world, weights, asked).pipe_block(100, 1), 50);
}

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
