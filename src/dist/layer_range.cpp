// The split of a stack over the ranks of a pipeline, and a layer range's weights.
#include "rnnwave/dist/layer_range.h"

#include <algorithm>
#include <cstring>

#include "common/strings.h"

namespace rnnwave::dist {

LayerRange pipeline_layers(int64_t layers, int ranks, int rank) {
  if (layers < 1) fail("pipeline: the model has ", layers, " layers");
  if (ranks < 1 || rank < 0 || rank >= ranks) fail("pipeline: rank ", rank, " of ", ranks, " ranks");
  if (ranks > layers) {
    fail("a pipeline of ", ranks, " ranks needs at least ", ranks, " layers (one per rank), the model has ",
         layers, "; start at most ", layers, " ranks");
  }
  const int64_t base = layers / ranks, extra = layers % ranks;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

template <class T>
BasicWeights<T> layer_range_weights(const BasicWeights<T>& weights, LayerRange range) {
  const ModelSpec& spec = weights.spec();
  if (range.begin < 0 || range.end > spec.layers || range.count() < 1) {
    fail("layer range [", range.begin, ", ", range.end, ") is not a non-empty range of the model's ",
         spec.layers, " layers");
  }
  ModelSpec part = spec;
  part.layers = range.count();
  part.input_size = spec.layer_input_size(range.begin);
  BasicWeights<T> result(part);
  // Each parameter of the part is the one with the same key and direction, range.begin
  // layers up (the lists are short: a quadratic match is fine).
  for (size_t i = 0; i < result.params().size(); ++i) {
    const ParamInfo& p = result.params()[i];
    const auto& all = weights.params();
    const auto it = std::find_if(all.begin(), all.end(), [&](const ParamInfo& q) {
      return q.layer == p.layer + range.begin && q.direction == p.direction && q.key == p.key;
    });
    if (it == all.end() || it->shape != p.shape) fail("layer_range_weights: no parameter for ", p.name);
    const std::span<const T> from = weights.values(static_cast<size_t>(it - all.begin()));
    std::memcpy(result.values(i).data(), from.data(), sizeof(T) * from.size());
  }
  return result;
}

template BasicWeights<float> layer_range_weights(const BasicWeights<float>&, LayerRange);
template BasicWeights<double> layer_range_weights(const BasicWeights<double>&, LayerRange);

}  // namespace rnnwave::dist
