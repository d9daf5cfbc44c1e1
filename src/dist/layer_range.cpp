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

namespace {

void check_range(const ModelSpec& spec, LayerRange range) {
  if (range.begin < 0 || range.end > spec.layers || range.count() < 1) {
    fail("layer range [", range.begin, ", ", range.end, ") is not a non-empty range of the model's ",
         spec.layers, " layers");
  }
}

/// Calls f(i, j) for each parameter i of `part` and its counterpart j in `whole`: the one
/// with the same key and direction, range.begin layers up (the lists are short: a
/// quadratic match is fine).
template <class T, class F>
void for_each_counterpart(const BasicWeights<T>& whole, LayerRange range, const BasicWeights<T>& part, F&& f) {
  const auto& all = whole.params();
  for (size_t i = 0; i < part.params().size(); ++i) {
    const ParamInfo& p = part.params()[i];
    const auto it = std::find_if(all.begin(), all.end(), [&](const ParamInfo& q) {
      return q.layer == p.layer + range.begin && q.direction == p.direction && q.key == p.key;
    });
    if (it == all.end() || it->shape != p.shape) fail("layer range: the model has no parameter for ", p.name);
    f(i, static_cast<size_t>(it - all.begin()));
  }
}

}  // namespace

template <class T>
BasicWeights<T> layer_range_weights(const BasicWeights<T>& weights, LayerRange range) {
  const ModelSpec& spec = weights.spec();
  check_range(spec, range);
  ModelSpec part = spec;
  part.layers = range.count();
  part.input_size = spec.layer_input_size(range.begin);
  BasicWeights<T> result(part);
  for_each_counterpart(weights, range, result, [&](size_t i, size_t j) {
    const std::span<const T> from = weights.values(j);
    std::memcpy(result.values(i).data(), from.data(), sizeof(T) * from.size());
  });
  return result;
}

template <class T>
void set_layer_range(BasicWeights<T>& whole, LayerRange range, const BasicWeights<T>& part) {
  check_range(whole.spec(), range);
  if (part.spec().layers != range.count()) {
    fail("set_layer_range: the part has ", part.spec().layers, " layers, the range ", range.count());
  }
  for_each_counterpart(whole, range, part, [&](size_t i, size_t j) {
    const std::span<const T> from = part.values(i);
    std::memcpy(whole.values(j).data(), from.data(), sizeof(T) * from.size());
  });
}

template BasicWeights<float> layer_range_weights(const BasicWeights<float>&, LayerRange);
template BasicWeights<double> layer_range_weights(const BasicWeights<double>&, LayerRange);
template void set_layer_range(BasicWeights<float>&, LayerRange, const BasicWeights<float>&);
template void set_layer_range(BasicWeights<double>&, LayerRange, const BasicWeights<double>&);

}  // namespace rnnwave::dist
