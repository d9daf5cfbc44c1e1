#include "graph/layer_grads_final.h"

namespace rnnwave {

LayerGradsFinal::LayerGradsFinal(const std::function<void(int64_t)>& hook, std::vector<int64_t> work)
    : hook_(hook), remaining_(std::move(work)), next_(static_cast<int64_t>(remaining_.size()) - 1) {}

void LayerGradsFinal::done(int64_t layer) {
  // The lock orders the writes of every task of a layer before the hook's reads of them,
  // and keeps the calls one at a time; an exception from the hook releases it.
  std::lock_guard<std::mutex> lock(mutex_);
  --remaining_[static_cast<size_t>(layer)];
  while (next_ >= 0 && remaining_[static_cast<size_t>(next_)] == 0) {
    const int64_t l = next_--;
    hook_(l);
  }
}

}  // namespace rnnwave
