#include "graph/task_graph.h"

#include <algorithm>
#include <array>
#include <functional>
#include <queue>
#include <tuple>
#include <utility>

#include "common/strings.h"

namespace rnnwave {
namespace {

constexpr std::array<std::string_view, kTaskKindCount> kTaskKindNames = {
    "dropout", "project", "forward", "backward", "backward_pointwise", "backward_gemm",
    "input_grad", "weight_grad", "output", "input"};
static_assert(static_cast<int>(TaskKind::input) == kTaskKindCount - 1);

/// Ids of the per-step tasks of one pass, indexed [l][d][t][s][p].
class StepIds {
 public:
  StepIds(const ProblemDesc& p)
      : D_(p.D), T_(p.T), S_(p.plan.batch_splits), P_(p.plan.hidden_splits),
        ids_(static_cast<size_t>(p.L * D_ * T_ * S_ * P_), -1) {}
  int32_t& operator()(int64_t l, int64_t d, int64_t t, int64_t s, int64_t p) {
    return ids_[static_cast<size_t>((((l * D_ + d) * T_ + t) * S_ + s) * P_ + p)];
  }
  /// Appends the ids of every part of step t of sub-batch s.
  void append_parts(std::vector<int32_t>& out, int64_t l, int64_t d, int64_t t, int64_t s) {
    for (int64_t p = 0; p < P_; ++p) out.push_back((*this)(l, d, t, s, p));
  }

 private:
  int64_t D_, T_, S_, P_;
  std::vector<int32_t> ids_;
};

/// Steps of block b: [b*B, min(T, (b+1)*B)).
struct Blocks {
  int64_t size, steps;
  int64_t count() const { return (steps + size - 1) / size; }
  int64_t begin(int64_t b) const { return b * size; }
  int64_t end(int64_t b) const { return std::min(steps, (b + 1) * size); }
};

/// The step direction d processes i-th in the forward pass.
int64_t forward_step_at(const ProblemDesc& p, int64_t d, int64_t i) {
  return p.walks_back(d) ? p.T - 1 - i : i;
}

/// The step at which direction d's forward chain has passed every step of [t0, t1): its
/// last step walking forward in time, its first walking backward.
int64_t last_forward_step(const ProblemDesc& p, int64_t d, int64_t t0, int64_t t1) {
  return p.walks_back(d) ? t0 : t1 - 1;
}

}  // namespace

std::string_view to_string(TaskKind kind) { return kTaskKindNames[static_cast<size_t>(kind)]; }

int32_t TaskGraph::add(const Task& task, const std::vector<int32_t>& predecessors) {
  tasks.push_back(task);
  preds.insert(preds.end(), predecessors.begin(), predecessors.end());
  pred_begin.push_back(static_cast<int32_t>(preds.size()));
  return static_cast<int32_t>(tasks.size() - 1);
}

std::vector<int32_t> chain_order(const TaskGraph& graph, Prefer prefer, ChainTasks within) {
  const int64_t n = graph.size();
  // Successors (the transpose of preds) and the number of unfinished predecessors.
  std::vector<int32_t> succ_begin(static_cast<size_t>(n + 1), 0), succ(graph.preds.size());
  std::vector<int32_t> waiting(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    waiting[i] = graph.pred_count(i);
    for (int32_t k = 0; k < graph.pred_count(i); ++k) ++succ_begin[graph.preds_of(i)[k] + 1];
  }
  for (int64_t i = 0; i < n; ++i) succ_begin[i + 1] += succ_begin[i];
  std::vector<int32_t> filled(succ_begin.begin(), succ_begin.end() - 1);
  for (int64_t i = 0; i < n; ++i) {
    for (int32_t k = 0; k < graph.pred_count(i); ++k) succ[filled[graph.preds_of(i)[k]]++] = int32_t(i);
  }
  // Tasks after each on its longest path. The tasks are created in a topological order,
  // so one backward sweep finds them.
  const bool by_path = within == ChainTasks::longest_path_first;
  std::vector<int32_t> after(static_cast<size_t>(n), 0);
  for (int64_t i = n - 1; by_path && i >= 0; --i) {
    for (int32_t k = succ_begin[i]; k < succ_begin[i + 1]; ++k) after[i] = std::max(after[i], after[succ[k]] + 1);
  }
  // Rank of each task's chain: (layer, direction), direction -1 for tasks of both (by
  // path: direction 0's chain), ranked by the first task of the chain in creation order.
  int32_t top = 0;
  for (const Task& task : graph.tasks) top = std::max(top, task.layer);
  std::vector<int32_t> chain_rank(static_cast<size_t>(3 * (top + 1)), -1);
  std::vector<int32_t> rank(static_cast<size_t>(n));
  int32_t chains = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t d = by_path ? std::max(graph.tasks[i].direction, 0) : graph.tasks[i].direction;
    int32_t& r = chain_rank[3 * graph.tasks[i].layer + d + 1];
    if (r < 0) r = chains++;
    rank[i] = r;
  }
  // Classes before chains: the tasks that hand a block on first (with a preference: the
  // top layer's output tasks, or every input_grad task, which feeds the layer below),
  // then the chains, the preferred layers first, and the input tasks, which may wait, last.
  const int32_t per_layer = chains + 1, per_class = (top + 1) * per_layer;
  for (int64_t i = 0; i < n; ++i) {
    const Task& task = graph.tasks[i];
    const int32_t layer_key = prefer == Prefer::upper_layers   ? top - task.layer
                              : prefer == Prefer::lower_layers ? task.layer
                                                               : 0;
    const bool hands_on = (prefer == Prefer::upper_layers && task.kind == TaskKind::output) ||
                          (prefer == Prefer::lower_layers && task.kind == TaskKind::input_grad);
    const int32_t kind_class = task.kind == TaskKind::input ? 2 : hands_on ? 0 : 1;
    rank[i] = kind_class * per_class + layer_key * per_layer + rank[i];
  }
  using Key = std::tuple<int32_t, int32_t, int32_t>;  // (chain rank, -tasks after, index)
  std::priority_queue<Key, std::vector<Key>, std::greater<Key>> ready;
  auto push = [&](int32_t i) { ready.push({rank[i], -after[i], i}); };
  for (int64_t i = 0; i < n; ++i) {
    if (waiting[i] == 0) push(int32_t(i));
  }
  std::vector<int32_t> order;
  order.reserve(static_cast<size_t>(n));
  while (!ready.empty()) {
    const int32_t i = std::get<2>(ready.top());
    ready.pop();
    order.push_back(i);
    for (int32_t k = succ_begin[i]; k < succ_begin[i + 1]; ++k) {
      if (--waiting[succ[k]] == 0) push(succ[k]);
    }
  }
  return order;
}

TaskGraph build_forward_graph(const ProblemDesc& p, bool outputs) {
  return build_forward_graph(p, ForwardGraphOptions{outputs, false, false});
}

TaskGraph build_forward_graph(const ProblemDesc& p, const ForwardGraphOptions& options) {
  const bool outputs = options.outputs;
  const int64_t L = p.L, D = p.D, T = p.T, S = p.plan.batch_splits, P = p.plan.hidden_splits;
  const Blocks blocks{p.plan.step_block, T};
  const bool dropout = p.dropout;
  const int64_t ring = p.layout.gate_ring_blocks;
  TaskGraph graph;
  StepIds step(p);
  // Projection tasks by [d][b][part]; a step's part needs its own part's projection.
  const int64_t parts = projection_parts(p);
  std::vector<int32_t> project(static_cast<size_t>(D * blocks.count() * parts));
  auto projection = [&](int64_t d, int64_t b, int64_t part) -> int32_t& {
    return project[static_cast<size_t>((d * blocks.count() + b) * parts + part)];
  };
  std::vector<int32_t> preds;
  std::vector<int32_t> masked(static_cast<size_t>(blocks.count()));
  // The caller's input, block by block, in order.
  std::vector<int32_t> input(static_cast<size_t>(options.inputs ? blocks.count() : 0));
  for (int64_t b = 0; options.inputs && b < blocks.count(); ++b) {
    preds.clear();
    if (b > 0) preds.push_back(input[b - 1]);
    input[b] = graph.add({TaskKind::input, 0, -1, -1, -1, blocks.begin(b), blocks.end(b)}, preds);
  }
  // The block b of layer l is complete once each direction's chain has passed it.
  auto block_done = [&](int64_t l, int64_t b) {
    for (int64_t s = 0; s < S; ++s) {
      for (int64_t d = 0; d < D; ++d) {
        step.append_parts(preds, l, d, last_forward_step(p, d, blocks.begin(b), blocks.end(b)), s);
      }
    }
  };
  for (int64_t l = 0; l < L; ++l) {
    auto block_below = [&](int64_t b) {
      preds.clear();
      if (l > 0) block_done(l - 1, b);
      if (l == 0 && options.inputs) preds.push_back(input[b]);
    };
    const bool masks = dropout && l > 0;
    for (int64_t b = 0; masks && b < blocks.count(); ++b) {
      block_below(b);
      masked[b] = graph.add(
          {TaskKind::dropout, int32_t(l), -1, -1, -1, blocks.begin(b), blocks.end(b)}, preds);
    }
    // The projection of the k-th block direction d walks, into gate slots last used by the
    // steps of the block `ring` blocks before it, which must have passed `reused` (-1: none).
    auto add_project = [&](int64_t d, int64_t k, int64_t reused) {
      const int64_t b = p.walks_back(d) ? blocks.count() - 1 - k : k;
      if (masks) {
        preds.assign({masked[b]});
      } else {
        block_below(b);
      }
      for (int64_t s = 0; reused >= 0 && s < S; ++s) step.append_parts(preds, l, d, reused, s);
      for (int64_t part = 0; part < parts; ++part) {
        projection(d, b, part) = graph.add({TaskKind::project, int32_t(l), int32_t(d), -1,
                                            parts > 1 ? int32_t(part) : -1, blocks.begin(b),
                                            blocks.end(b)},
                                           preds);
      }
    };
    const int64_t ahead = ring > 0 ? ring : blocks.count();  // projections made up front
    for (int64_t d = 0; d < D; ++d) {
      for (int64_t k = 0; k < ahead; ++k) add_project(d, k, -1);
    }
    for (int64_t i = 0; i < T; ++i) {
      for (int64_t d = 0; d < D; ++d) {
        const int64_t t = forward_step_at(p, d, i);
        for (int64_t s = 0; s < S; ++s) {
          // Each part of a step needs the whole previous state: every part before it.
          preds.clear();
          if (i > 0) step.append_parts(preds, l, d, forward_step_at(p, d, i - 1), s);
          for (int64_t part = 0; part < P; ++part) {
            preds.push_back(projection(d, t / blocks.size, parts > 1 ? part : 0));
            step(l, d, t, s, part) = graph.add(
                {TaskKind::forward, int32_t(l), int32_t(d), int32_t(s), int32_t(part), t, t + 1},
                preds);
            preds.pop_back();
          }
        }
        // The last step of the k-th block walked frees its slots for block k + ring.
        const int64_t b = t / blocks.size;
        const int64_t k = p.walks_back(d) ? blocks.count() - 1 - b : b;
        const bool last = t == last_forward_step(p, d, blocks.begin(b), blocks.end(b));
        if (ring > 0 && last && k + ring < blocks.count()) add_project(d, k + ring, t);
      }
    }
  }
  for (int64_t b = 0; outputs && b < blocks.count(); ++b) {
    preds.clear();
    block_done(L - 1, b);
    graph.add({TaskKind::output, int32_t(L - 1), -1, -1, -1, blocks.begin(b), blocks.end(b)}, preds);
  }
  const Prefer prefer = options.top_first ? Prefer::upper_layers : Prefer::creation_order;
  graph.one_thread_order = chain_order(graph, prefer);
  graph.chains_order = chain_order(graph, prefer, ChainTasks::longest_path_first);
  return graph;
}

TaskGraph build_backward_graph(const ProblemDesc& p, bool input_grad, bool weight_grads) {
  return build_backward_graph(p, BackwardGraphOptions{input_grad, weight_grads, false, false});
}

int64_t input_grad_steps(const ProblemDesc& p, const BackwardGraphOptions& options) {
  return options.grad_input_hook ? p.plan.step_block : input_grad_block(p);
}

TaskGraph build_backward_graph(const ProblemDesc& p, const BackwardGraphOptions& options) {
  const bool input_grad = options.input_grad, weight_grads = options.weight_grads;
  const int64_t L = p.L, D = p.D, T = p.T, S = p.plan.batch_splits, P = p.plan.hidden_splits;
  const Blocks blocks{p.plan.step_block, T};
  const Blocks grad_blocks{input_grad_steps(p, options), T};  // of the input_grad tasks
  TaskGraph graph;
  // The task of each (step, sub-batch, part) that writes its gate gradients: the whole
  // backward step, or its pointwise half when steps are split by units.
  StepIds step(p);
  StepIds gemm(p);  // the product halves, when split
  std::vector<int32_t> grad_above;  // input_grad tasks of layer l+1, by block
  std::vector<int32_t> preds;
  // Backward chains run against the forward ones.
  auto backward_step_at = [&](int64_t d, int64_t i) { return forward_step_at(p, d, T - 1 - i); };
  // The caller's grad_output, block by block, in the order direction 0's chain needs it.
  std::vector<int32_t> input(static_cast<size_t>(options.inputs ? blocks.count() : 0));
  for (int64_t k = 0; options.inputs && k < blocks.count(); ++k) {
    const int64_t b = p.walks_back(0) ? k : blocks.count() - 1 - k;
    preds.clear();
    if (k > 0) preds.push_back(input[p.walks_back(0) ? b - 1 : b + 1]);
    input[b] = graph.add({TaskKind::input, int32_t(L - 1), -1, -1, -1, blocks.begin(b), blocks.end(b)}, preds);
  }
  for (int64_t l = L - 1; l >= 0; --l) {
    for (int64_t i = 0; i < T; ++i) {
      for (int64_t d = 0; d < D; ++d) {
        const int64_t t = backward_step_at(d, i);
        for (int64_t s = 0; s < S; ++s) {
          const int32_t ll = int32_t(l), dd = int32_t(d), ss = int32_t(s);
          if (P == 1) {
            preds.clear();
            if (i > 0) preds.push_back(step(l, d, backward_step_at(d, i - 1), s, 0));
            if (l < L - 1) preds.push_back(grad_above[t / grad_blocks.size]);
            if (l == L - 1 && options.inputs) preds.push_back(input[t / blocks.size]);
            step(l, d, t, s, 0) = graph.add({TaskKind::backward, ll, dd, ss, -1, t, t + 1}, preds);
            continue;
          }
          // Part p's pointwise math needs the gradient into its own units from the next
          // step (that step's products for part p); the products of part p need every
          // part's gate gradients.
          for (int64_t part = 0; part < P; ++part) {
            preds.clear();
            if (i > 0) preds.push_back(gemm(l, d, backward_step_at(d, i - 1), s, part));
            if (l < L - 1) preds.push_back(grad_above[t / grad_blocks.size]);
            if (l == L - 1 && options.inputs) preds.push_back(input[t / blocks.size]);
            step(l, d, t, s, part) = graph.add(
                {TaskKind::backward_pointwise, ll, dd, ss, int32_t(part), t, t + 1}, preds);
          }
          preds.clear();
          step.append_parts(preds, l, d, t, s);
          for (int64_t part = 0; part < P; ++part) {
            gemm(l, d, t, s, part) =
                graph.add({TaskKind::backward_gemm, ll, dd, ss, int32_t(part), t, t + 1}, preds);
          }
        }
      }
    }
    // Steps [t0, t1) of direction d are all done once its backward chain has passed them:
    // at the step its forward chain visited first.
    auto block_done = [&](int64_t d, int64_t t0, int64_t t1) {
      const int64_t first = p.walks_back(d) ? t1 - 1 : t0;
      for (int64_t s = 0; s < S; ++s) step.append_parts(preds, l, d, first, s);
    };
    if (weight_grads) {
      for (int64_t d = 0; d < D; ++d) {
        int32_t previous = -1;
        for_each_weight_grad_block(T, p.N, p.walks_back(d), [&](int64_t t0, int64_t t1) {
          preds.clear();
          block_done(d, t0, t1);
          if (previous >= 0) preds.push_back(previous);
          previous = graph.add({TaskKind::weight_grad, int32_t(l), int32_t(d), -1, -1, t0, t1}, preds);
        });
      }
    }
    if (l > 0 || input_grad) {
      grad_above.assign(static_cast<size_t>(grad_blocks.count()), -1);
      for (int64_t b = 0; b < grad_blocks.count(); ++b) {
        const int64_t t0 = grad_blocks.begin(b), t1 = grad_blocks.end(b);
        preds.clear();
        for (int64_t d = 0; d < D; ++d) block_done(d, t0, t1);
        grad_above[b] = graph.add({TaskKind::input_grad, int32_t(l), -1, -1, -1, t0, t1}, preds);
      }
    }
  }
  const Prefer prefer = options.lower_first ? Prefer::lower_layers : Prefer::creation_order;
  graph.one_thread_order = chain_order(graph, prefer);
  graph.chains_order = chain_order(graph, prefer, ChainTasks::longest_path_first);
  return graph;
}

}  // namespace rnnwave
