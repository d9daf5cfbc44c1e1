// The engine's packed copy of the weights: which backward panels a pass makes.
#include "graph/model_params.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "rnnwave/weights.h"

namespace rnnwave {
namespace {

bool same_bits(const kernels::PackedMatrix<float>& a, const kernels::PackedMatrix<float>& b) {
  if (a.k() != b.k() || a.n() != b.n() || a.panels() != b.panels()) return false;
  for (int64_t p = 0; p < a.panels(); ++p) {
    const int64_t floats = a.k() * kernels::kPanelWidth;
    if (!std::equal(a.panel(p), a.panel(p) + floats, b.panel(p))) return false;
  }
  return true;
}

TEST(ModelParams, LayerZerosInputWeightsGetBackwardPanelsOnlyForAnInputGradient) {
  // Two layers, both directions, I != H: layer 0's W_ih is [4H, I], layer 1's [4H, 2H].
  const ModelSpec spec{CellKind::lstm, 24, 32, 2, true};
  const Weights weights = Weights::uniform(spec, 7);
  const ModelParams<float> params(weights);
  params.prepare_backward(false);
  for (int64_t d = 0; d < 2; ++d) {
    EXPECT_EQ(params.packed(0, d).ih.panels(), 0) << "direction " << d;
    EXPECT_GT(params.packed(1, d).ih.panels(), 0) << "direction " << d;
    EXPECT_GT(params.packed(0, d).products[0].backward.panels(), 0) << "direction " << d;
  }
  params.prepare_backward(true);
  for (int64_t d = 0; d < 2; ++d) {
    // W_ih of (0, d), packed untransposed as B = W_ih [4H, I]: what the input gradient
    // dx = dgates W_ih multiplies by.
    const auto w = weights.get(ParamKind::weight_ih, 0, d);
    const kernels::PackedMatrix<float> expected(w.data(), 4 * 32, 24, 24, false);
    EXPECT_TRUE(same_bits(params.packed(0, d).ih, expected)) << "direction " << d;
  }
}

TEST(ModelParams, NewWeightsRepackLayerZerosInputWeightsOnTheirNextUse) {
  const ModelSpec spec{CellKind::gru, 16, 16, 1};
  const Weights first = Weights::uniform(spec, 1), second = Weights::uniform(spec, 2);
  ModelParams<float> params(first);
  params.prepare_backward(true);
  params.assign(second);
  params.prepare_backward(true);
  const auto w = second.get(ParamKind::weight_ih, 0, 0);
  const kernels::PackedMatrix<float> expected(w.data(), 3 * 16, 16, 16, false);
  EXPECT_TRUE(same_bits(params.packed(0, 0).ih, expected));
}

}  // namespace
}  // namespace rnnwave
