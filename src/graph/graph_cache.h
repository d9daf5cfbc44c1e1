// The task graphs of a model, built once per problem and reused (Taskflow's "build once,
// run many"): a training run calls every batch with the same sizes, and at small sizes
// building the graph costs as much as running it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "graph/task_graph.h"

namespace rnnwave {

/// What a graph depends on, besides the model (which owns the cache): the sizes of the
/// call, the plan, and the pass's options.
struct GraphKey {
  bool backward = false;
  int64_t steps = 0, batch = 0, step_block = 0, batch_splits = 0, hidden_splits = 0;
  bool flag_a = false;  // forward: dropout; backward: input_grad
  bool flag_b = false;  // forward: outputs; backward: weight_grads
  bool flag_c = false;  // input tasks
  bool flag_d = false;  // forward: top-first order; backward: lower-first
  // forward: the blocks of the gates' ring (problem.h), which differs between a training
  // and an inference pass of the same sizes, and with the threads or the precision
  int64_t gate_ring_blocks = 0;
  // backward: the steps of its input_grad tasks, which differ with the threads
  int64_t input_grad_block = 0;

  bool operator==(const GraphKey&) const = default;
};

/// The keys of the forward and the backward graph of `problem` with these options.
inline GraphKey forward_graph_key(const ProblemDesc& p, const ForwardGraphOptions& options) {
  return {false, p.T, p.N, p.plan.step_block, p.plan.batch_splits, p.plan.hidden_splits,
          p.dropout, options.outputs, options.inputs, options.top_first, p.layout.gate_ring_blocks};
}
inline GraphKey forward_graph_key(const ProblemDesc& p, bool outputs) {
  return forward_graph_key(p, ForwardGraphOptions{outputs, false, false});
}
inline GraphKey backward_graph_key(const ProblemDesc& p, const BackwardGraphOptions& options) {
  return {true, p.T, p.N, p.plan.step_block, p.plan.batch_splits, p.plan.hidden_splits,
          options.input_grad, options.weight_grads, options.inputs, options.lower_first, 0,
          input_grad_steps(p, options)};
}
inline GraphKey backward_graph_key(const ProblemDesc& p, bool input_grad, bool weight_grads) {
  return backward_graph_key(p, BackwardGraphOptions{input_grad, weight_grads, false, false});
}

/// The most recently used graphs of one model, at most kCapacity. Thread-safe: passes of
/// one model may run at the same time.
class GraphCache {
 public:
  static constexpr size_t kCapacity = 8;

  /// The graph of `key`, built by build() if it is not held. The graph stays valid for as
  /// long as the returned pointer is held, whatever the cache does meanwhile.
  template <class Build>
  std::shared_ptr<const TaskGraph> get(const GraphKey& key, Build&& build) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // Most recently used last: searched first, evicted last.
      for (size_t i = entries_.size(); i-- > 0;) {
        if (entries_[i].first == key) {
          auto graph = entries_[i].second;
          std::rotate(entries_.begin() + i, entries_.begin() + i + 1, entries_.end());
          return graph;
        }
      }
    }
    auto graph = std::make_shared<const TaskGraph>(build());  // outside the lock
    std::lock_guard<std::mutex> lock(mutex_);
    if (entries_.size() == kCapacity) entries_.erase(entries_.begin());
    entries_.emplace_back(key, graph);
    return graph;
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<GraphKey, std::shared_ptr<const TaskGraph>>> entries_;
};

}  // namespace rnnwave
