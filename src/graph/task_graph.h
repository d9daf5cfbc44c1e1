// The (layer, direction, step) cells of a pass as an explicit dataflow graph.
//
// The graph is built from the problem's descriptor (its sizes and plan) alone, once per
// problem: the model keeps it (graph_cache.h) and every pass of the same problem runs it
// again. A runtime runs every task whose predecessors are done. Only direct data
// dependencies are edges (see cell_ops.h for what each operation reads); edges implied by
// a chain are left out, so the runtime tracks as few as possible.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "graph/problem.h"

namespace rnnwave {

enum class TaskKind : uint8_t {
  dropout,      // apply_dropout(l, [t0, t1)): the masked input of layer l, all rows
  project,      // project_input(l, d, [t0, t1)), all rows, the units of part p (-1: all)
  forward,      // forward_step(l, d, t0, rows of sub-batch s, units of part p)
  backward,     // backward_step(l, d, t0, rows of sub-batch s): steps in one part
  backward_pointwise,  // backward_pointwise(l, d, t0, rows of s, units of part p)
  backward_gemm,       // backward_products(l, d, t0, rows of s, units of part p)
  input_grad,   // input_grad(l, [t0, t1)), all rows, both directions
  weight_grad,  // weight_grad(l, d, [t0, t1))
  output,       // store_output_steps([t0, t1)) of the top layer, then the caller's hook
  input,        // the caller's hook: steps [t0, t1) of the pass's input (forward: input,
                // backward: grad_output) are final; then gathered
};
inline constexpr int kTaskKindCount = 10;

std::string_view to_string(TaskKind kind);

struct Task {
  TaskKind kind;
  int32_t layer;
  int32_t direction;  // -1 for input_grad (both directions)
  int32_t split;      // sub-batch index of a step task, -1 otherwise
  int32_t part;       // hidden-unit part of a step or projection task, -1 otherwise
  int64_t t0, t1;     // steps [t0, t1); a single step for forward/backward
};

/// Tasks in a topological order (every predecessor before its successors), with the
/// predecessors of task i at preds[pred_begin[i] .. pred_begin[i+1]).
struct TaskGraph {
  std::vector<Task> tasks;
  std::vector<int32_t> pred_begin{0};
  std::vector<int32_t> preds;
  /// The order one thread runs the tasks in (empty: 0, 1, 2, ...); see chain_order.
  std::vector<int32_t> one_thread_order;
  /// The order each thread of run_graph_by_chains walks, running its own chains' tasks
  /// (empty: 0, 1, 2, ...); chain_order with ChainTasks::longest_path_first.
  std::vector<int32_t> chains_order;

  int32_t add(const Task& task, const std::vector<int32_t>& predecessors);
  int64_t size() const { return static_cast<int64_t>(tasks.size()); }
  int32_t pred_count(int64_t i) const { return pred_begin[i + 1] - pred_begin[i]; }
  const int32_t* preds_of(int64_t i) const { return preds.data() + pred_begin[i]; }
};

/// A topological order of `graph` that stays on one (layer, direction) chain as long as
/// the chain has a ready task: among the ready tasks it takes one of the chain that
/// appeared first in the creation order, the lowest index first. The builders create the
/// steps of both directions side by side (step i of d = 0, then of d = 1), which is what a
/// runtime with several threads needs to find both chains' work early; one thread running
/// that order alternates between the two directions' weights at every step, and loses
/// them from its cache when the two do not fit together (two directions of a four-gate cell
/// with H = 256 hold 2 MB of recurrent weights). Which order runs changes no result.
///
/// With `prefer` = upper_layers (a forward pass), the one thread runs the chains of upper
/// layers before those of lower ones and output tasks as soon as they are ready, so that
/// the top layer's blocks are final early (a pipeline stage sends them on); with
/// lower_layers (a backward pass), the lower layers' chains first and input_grad tasks
/// (which feed the layer below) as soon as they are ready. Input tasks (which wait for the caller)
/// always come last among the ready tasks: the thread computes what it can before it waits.
///
/// Within a chain, in_creation_order takes the lowest index first: all of a layer's
/// projections before its first step, which keeps each weight matrix in cache over a long
/// run (measured faster on one thread). longest_path_first takes the task with the most
/// tasks after it on a path first — a block's projection just ahead of its steps, a
/// block's input_grad as soon as the block's steps are done, weight gradients late — and
/// puts a task of both directions (dropout, input_grad, output, input) on direction 0's
/// chain: the order in which a thread that owns chains (run_graph_by_chains) hands work
/// to the threads that wait for it.
enum class Prefer { creation_order, upper_layers, lower_layers };
enum class ChainTasks { in_creation_order, longest_path_first };
std::vector<int32_t> chain_order(const TaskGraph& graph, Prefer prefer = Prefer::creation_order,
                                 ChainTasks within = ChainTasks::in_creation_order);

/// Which optional tasks a forward graph has, and its one-thread order.
struct ForwardGraphOptions {
  bool outputs = false;    ///< an output task per block once the top layer's steps are final
  bool inputs = false;     ///< an input task per block that layer 0's projections depend on
  bool top_first = false;  ///< chain_order's top_first
};

/// The forward graph: project and forward tasks of every layer, with a dropout task per
/// block of every layer's input above the first if the problem has dropout, and with
/// `outputs` an output task per block once the top layer's steps of that block are final.
TaskGraph build_forward_graph(const ProblemDesc& problem, bool outputs = false);
/// The same with the input tasks and order of `options`: with inputs, input(b) follows
/// input(b-1), and layer 0's projections (and dropout) of block b follow input(b).
TaskGraph build_forward_graph(const ProblemDesc& problem, const ForwardGraphOptions& options);

/// The backward graph: backward, input_grad (above layer 0, and at layer 0 if
/// `input_grad` is set) and, if `weight_grads`, weight_grad tasks chained per (l, d) in
/// the canonical order of for_each_weight_grad_block.
TaskGraph build_backward_graph(const ProblemDesc& problem, bool input_grad, bool weight_grads);

struct BackwardGraphOptions {
  bool input_grad = false;
  bool weight_grads = false;
  /// An input task per block of grad_output, chained in the order the top layer's first
  /// chain needs them (from the last block down, walking forward in time), that the top
  /// layer's steps of the block depend on.
  bool inputs = false;
  bool lower_first = false;  ///< chain_order's lower_layers
  /// The caller's hook takes each block's input gradient (on_grad_input_block; a pipeline
  /// sends it down block by block): input_grad tasks over whole step blocks, no shares.
  bool grad_input_hook = false;
};
TaskGraph build_backward_graph(const ProblemDesc& problem, const BackwardGraphOptions& options);

/// Steps per input_grad task of that graph: input_grad_block(problem), or the step block
/// for a caller's hook.
int64_t input_grad_steps(const ProblemDesc& problem, const BackwardGraphOptions& options);

}  // namespace rnnwave
