// rnnwave/dist/layer_range.h — which layers each rank of a layer pipeline owns, and the
// weights of those layers as a model of their own.
#pragma once

#include <cstdint>

#include "rnnwave/error.h"
#include "rnnwave/weights.h"

namespace rnnwave::dist {

/// Layers [begin, end) of a stack.
struct LayerRange {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t count() const { return end - begin; }
  bool operator==(const LayerRange&) const = default;
};

/// The layers rank `rank` of `ranks` owns in a pipeline over a stack of `layers`:
/// contiguous ranges in rank order, balanced by layer count — each rank gets
/// floor(L/K) layers and the first L mod K ranks one more (L = 5, K = 2: [0, 3), [3, 5)).
/// Both directions of a bidirectional layer stay on one rank. Throws Error when
/// `ranks` exceeds `layers` ("a pipeline of 3 ranks needs at least 3 layers, the model has
/// 2"), or when a value is out of range.
LayerRange pipeline_layers(int64_t layers, int ranks, int rank);

/// The layers `range` of a model as a model of their own: the spec with L = range.count()
/// and, above the first layer, input size D*H (D*P with a projection); the parameters of
/// layer range.begin + k renamed to layer k (weight_ih_l{k}[_reverse], ...). Running it on
/// the output of layer range.begin - 1 gives layer range.end - 1's output bit for bit as in
/// the whole stack. Throws Error if the range is empty or outside [0, L).
template <class T>
BasicWeights<T> layer_range_weights(const BasicWeights<T>& weights, LayerRange range);

/// The inverse: writes the parameters of `part` (a model of range.count() layers, as
/// layer_range_weights makes) into layers `range` of `whole`. Throws Error if the shapes
/// do not match.
template <class T>
void set_layer_range(BasicWeights<T>& whole, LayerRange range, const BasicWeights<T>& part);

extern template BasicWeights<float> layer_range_weights(const BasicWeights<float>&, LayerRange);
extern template BasicWeights<double> layer_range_weights(const BasicWeights<double>&, LayerRange);
extern template void set_layer_range(BasicWeights<float>&, LayerRange, const BasicWeights<float>&);
extern template void set_layer_range(BasicWeights<double>&, LayerRange, const BasicWeights<double>&);

}  // namespace rnnwave::dist
