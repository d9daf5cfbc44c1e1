// The engine's packed copy of the weights: which backward panels a pass makes.
#include "graph/model_params.h"

#include <gtest/gtest.h>

#include <string>

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
    SCOPED_TRACE("direction " + std::to_string(d));
    expect_same_packing(params.packed(0, d).ih, expected);
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
  expect_same_packing(params.packed(0, 0).ih, expected);
}

}  // namespace
}  // namespace rnnwave
