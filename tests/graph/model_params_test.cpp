// The engine's packed copy of the weights: which backward panels a pass makes.
#include "graph/model_params.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "rnnwave/error.h"
#include "rnnwave/weights.h"
#include "support/packed_values.h"

namespace rnnwave {
namespace {

using testing::packed_values;

/// The same packing, bit for bit: the same shape and every value.
void expect_same_packing(const kernels::PackedMatrix<float>& a, const kernels::PackedMatrix<float>& b) {
  EXPECT_EQ(a.k(), b.k());
  EXPECT_EQ(a.n(), b.n());
  EXPECT_EQ(packed_values(a), packed_values(b));
}

TEST(ModelParams, LayerZerosInputWeightsGetBackwardPanelsOnlyForAnInputGradient) {
  // Two layers, both directions, I != H: layer 0's W_ih is [4H, I], layer 1's [4H, 2H].
  const ModelSpec spec{CellKind::lstm, 24, 32, 2, true};
  const Weights weights = Weights::uniform(spec, 7);
  const ModelParams<float> params(weights);
  { const auto held = params.hold_backward(false, false); }
  for (int64_t d = 0; d < 2; ++d) {
    EXPECT_EQ(params.packed(0, d).ih.panels(), 0) << "direction " << d;
    EXPECT_GT(params.packed(1, d).ih.panels(), 0) << "direction " << d;
    EXPECT_GT(params.packed(0, d).products[0].backward.panels(), 0) << "direction " << d;
  }
  { const auto held = params.hold_backward(true, false); }
  for (int64_t d = 0; d < 2; ++d) {
    // W_ih of (0, d), packed untransposed as B = W_ih [4H, I]: what the input gradient
    // dx = dgates W_ih multiplies by.
    const auto w = weights.get(ParamKind::weight_ih, 0, d);
    const kernels::PackedMatrix<float> expected(w.data(), 4 * 32, 24, 24, false);
    SCOPED_TRACE("direction " + std::to_string(d));
    expect_same_packing(params.packed(0, d).ih, expected);
  }
}

TEST(ModelParams, NewWeightsRepackLayerZerosInputWeightsOnTheirNextUse) {
  const ModelSpec spec{CellKind::gru, 16, 16, 1};
  const Weights first = Weights::uniform(spec, 1), second = Weights::uniform(spec, 2);
  ModelParams<float> params(first);
  { const auto held = params.hold_backward(true, false); }
  params.assign(second);
  { const auto held = params.hold_backward(true, false); }
  const auto w = second.get(ParamKind::weight_ih, 0, 0);
  const kernels::PackedMatrix<float> expected(w.data(), 3 * 16, 16, 16, false);
  expect_same_packing(params.packed(0, 0).ih, expected);
}

/// Every packing of a model's weights in one form, (l, d) by (l, d): W_ih's, then each
/// product's; an empty one (released, or never made) as no values.
std::vector<std::vector<float>> packings(const ModelParams<float>& params, WeightForm form) {
  std::vector<std::vector<float>> out;
  const ModelSpec& spec = params.spec();
  for (int64_t l = 0; l < spec.layers; ++l) {
    for (int64_t d = 0; d < spec.directions(); ++d) {
      const PackedWeights<float>& p = params.packed(l, d);
      out.push_back(packed_values(form == WeightForm::forward ? p.ih_t : p.ih));
      for (const PackedProduct<float>& product : p.products) {
        out.push_back(packed_values(form == WeightForm::forward ? product.forward : product.backward));
      }
    }
  }
  return out;
}

TEST(ModelParams, ASingleCopyFlipsEveryWeightToTheBackwardFormAndBackBitForBit) {
  // Sizes that are not multiples of 16 (the gates' panels padded), I != H, two layers of
  // both directions (layer 1's W_ih twice W_hh's width), and the LSTM's projection (a
  // third product of another shape).
  ModelSpec lstm{CellKind::lstm, 13, 20, 2, true};
  lstm.proj_size = 7;
  for (const ModelSpec& spec : {lstm, ModelSpec{CellKind::gru, 40, 24, 2, true}}) {
    SCOPED_TRACE(describe(spec));
    const Weights weights = Weights::uniform(spec, 3);
    const ModelParams<float> two(weights), one(weights);
    const auto forward = packings(one, WeightForm::forward);
    { const auto held = two.hold_backward(true, false); }
    const auto backward = packings(two, WeightForm::backward);
    for (int round = 0; round < 2; ++round) {
      {
        const auto held = one.hold_backward(true, true);
        EXPECT_EQ(packings(one, WeightForm::backward), backward) << "round " << round;
        for (const auto& released : packings(one, WeightForm::forward)) {
          EXPECT_TRUE(released.empty()) << "round " << round << ": a forward packing was kept";
        }
      }
      {
        const auto held = one.hold_forward();
        EXPECT_EQ(packings(one, WeightForm::forward), forward) << "round " << round;
        for (const auto& released : packings(one, WeightForm::backward)) {
          EXPECT_TRUE(released.empty()) << "round " << round << ": a backward packing was kept";
        }
      }
    }
  }
}

TEST(ModelParams, ASingleCopyFlipsLayerZerosInputWeightsEvenWithoutAnInputGradient) {
  // Flipping the same weights every time keeps the spare buffer fitting the next one.
  const ModelSpec spec{CellKind::lstm, 24, 32, 2, false};
  const ModelParams<float> one(Weights::uniform(spec, 5)), two(Weights::uniform(spec, 5));
  const auto forward = packings(one, WeightForm::forward);
  { const auto held = two.hold_backward(true, false); }
  {
    const auto held = one.hold_backward(false, true);
    EXPECT_EQ(one.packed(0, 0).ih_t.panels(), 0);
    EXPECT_EQ(packings(one, WeightForm::backward), packings(two, WeightForm::backward));
  }
  { const auto held = one.hold_forward(); }
  EXPECT_EQ(packings(one, WeightForm::forward), forward);
}

/// Where each packing of `params` lives and how much room it has: (data, capacity) of
/// every forward and backward matrix, (l, d) by (l, d).
std::vector<std::pair<const float*, int64_t>> memory_of(const ModelParams<float>& params) {
  std::vector<std::pair<const float*, int64_t>> out;
  const ModelSpec& spec = params.spec();
  for (int64_t l = 0; l < spec.layers; ++l) {
    for (int64_t d = 0; d < spec.directions(); ++d) {
      const PackedWeights<float>& p = params.packed(l, d);
      for (const auto* m : {&p.ih_t, &p.ih}) out.emplace_back(m->panels() > 0 ? m->panel(0) : nullptr, m->capacity());
      for (const PackedProduct<float>& product : p.products) {
        for (const auto* m : {&product.forward, &product.backward}) {
          out.emplace_back(m->panels() > 0 ? m->panel(0) : nullptr, m->capacity());
        }
      }
    }
  }
  return out;
}

TEST(ModelParams, ASingleCopySettlesInTheSameMemoryAfterItsFirstFlips) {
  // Weights of four sizes (layer 0's W_ih [4H, 13], W_hh [4H, 20], the projection
  // [7, 20], layer 1's W_ih [4H, 14] of both directions): each cycle of flips must find
  // the buffers where the one before left them, with any input gradient.
  ModelSpec spec{CellKind::lstm, 13, 20, 2, true};
  spec.proj_size = 7;
  const ModelParams<float> params(Weights::uniform(spec, 6));
  std::vector<std::vector<std::pair<const float*, int64_t>>> after_cycle;
  for (int cycle = 0; cycle < 5; ++cycle) {
    { const auto held = params.hold_backward(cycle % 2 == 0, true); }
    const auto flipped = memory_of(params);
    { const auto held = params.hold_forward(); }
    after_cycle.push_back(memory_of(params));
    after_cycle.back().insert(after_cycle.back().end(), flipped.begin(), flipped.end());
  }
  for (int cycle = 2; cycle < 5; ++cycle) EXPECT_EQ(after_cycle[cycle], after_cycle[1]) << "cycle " << cycle;
}

TEST(ModelParams, NewWeightsAfterAFlipArePackedInTheForwardForm) {
  const ModelSpec spec{CellKind::rnn_tanh, 16, 48, 1, true};
  const Weights first = Weights::uniform(spec, 1), second = Weights::uniform(spec, 2);
  ModelParams<float> params(first);
  const ModelParams<float> fresh(second);
  { const auto held = params.hold_backward(true, true); }
  params.assign(second);
  { const auto held = params.hold_forward(); }
  EXPECT_EQ(packings(params, WeightForm::forward), packings(fresh, WeightForm::forward));
  { const auto held = params.hold_backward(true, true); }
  { const auto held = fresh.hold_backward(true, false); }
  EXPECT_EQ(packings(params, WeightForm::backward), packings(fresh, WeightForm::backward));
}

/// Whether `take` (a hold of the weights), on another thread, returns while `held` lives,
/// within `patience`; then `held` is released, and `take` must return.
template <class Held, class Take>
bool returns_while_held(std::optional<Held>& held, Take take, std::chrono::milliseconds patience) {
  std::atomic<bool> returned = false;
  std::thread other([&] {
    const auto hold = take();
    returned = true;
  });
  const auto deadline = std::chrono::steady_clock::now() + patience;
  while (!returned && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const bool while_held = returned;
  held.reset();
  other.join();
  EXPECT_TRUE(returned);
  return while_held;
}

TEST(ModelParams, APassThatNeedsTheOtherFormWaitsForThePassesInFlight) {
  // A pass that should wait is given 50 ms to wrongly go ahead; one that should not wait,
  // ten seconds to go ahead (a loaded machine may be slow to run the thread).
  constexpr std::chrono::milliseconds kBriefly(50), kLong(10000);
  const ModelSpec spec{CellKind::gru, 16, 32, 1, false};
  const ModelParams<float> params(Weights::uniform(spec, 9));
  std::optional<WeightsHeld<float>> held;
  held.emplace(params.hold_backward(true, true));
  EXPECT_FALSE(returns_while_held(held, [&] { return params.hold_forward(); }, kBriefly))
      << "a forward pass ran on weights flipped for a backward pass in flight";
  held.emplace(params.hold_forward());
  EXPECT_FALSE(returns_while_held(held, [&] { return params.hold_backward(true, true); }, kBriefly))
      << "a single-copy backward pass released weights a forward pass in flight reads";
  // With two copies nothing is released: forward and backward passes run together.
  held.emplace(params.hold_forward());
  EXPECT_TRUE(returns_while_held(held, [&] { return params.hold_backward(true, false); }, kLong));
  held.emplace(params.hold_backward(true, false));
  EXPECT_TRUE(returns_while_held(held, [&] { return params.hold_forward(); }, kLong));
  held.emplace(params.hold_forward());
  EXPECT_TRUE(returns_while_held(held, [&] { return params.hold_forward(); }, kLong));
}

TEST(ModelParams, NewWeightsWhileAPassHoldsThemAreRefused) {
  const ModelSpec spec{CellKind::rnn_tanh, 8, 16, 1, false};
  const Weights first = Weights::uniform(spec, 1), second = Weights::uniform(spec, 2);
  ModelParams<float> params(first);
  const auto forward = packings(params, WeightForm::forward);
  for (const bool single_copy : {false, true}) {
    {
      const auto held = params.hold_backward(true, single_copy);
      EXPECT_THROW(params.assign(second), Error) << (single_copy ? "one copy" : "two copies");
    }
    const auto held = params.hold_forward();
    EXPECT_EQ(packings(params, WeightForm::forward), forward) << "the refused values were packed";
  }
  params.assign(second);  // no pass now
  EXPECT_NE(packings(params, WeightForm::forward), forward);
}

}  // namespace
}  // namespace rnnwave
