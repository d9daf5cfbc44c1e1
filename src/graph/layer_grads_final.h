// Tells the caller of a backward pass when each layer's weight gradients are final
// (BackwardArgs::on_layer_grads_final), top layer first, whatever order the tasks end in.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace rnnwave {

/// Counts the weight-gradient work of each layer down to zero and then calls the hook for
/// that layer. A layer whose work ends before the layer above it waits (its call is made
/// by whichever thread finishes the layer above), so the hook sees L-1, L-2, ..., 0, once
/// each, one call at a time: a data-parallel trainer starts its buckets in one order on
/// every rank, and the hook needs no lock of its own.
class LayerGradsFinal {
 public:
  /// `work[l]` >= 1: the calls of done(l) that make layer l final (its weight_grad tasks).
  LayerGradsFinal(const std::function<void(int64_t)>& hook, std::vector<int64_t> work);

  /// One unit of layer l's weight-gradient work has ended (its writes happen before this
  /// call); may call the hook for l and for the layers below it that were waiting.
  void done(int64_t layer);

 private:
  const std::function<void(int64_t)>& hook_;
  std::mutex mutex_;
  std::vector<int64_t> remaining_;
  int64_t next_;  // the next layer to announce, counting down; -1 when all are
};

}  // namespace rnnwave
