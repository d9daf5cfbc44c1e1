// The operations every schedule is made of: the math of cells over (layer, direction,
// step, rows), separate from the order in which a schedule runs them. Each operation runs
// what the cell's definition declares (cells/cell_def.h); none knows a cell kind.
//
// Each operation reads and writes only its own slice of the workspace, so two
// operations may run concurrently whenever the data dependencies below allow it:
//   project_input(l,d,[t0,t1))   needs the output of layer l-1 at steps [t0,t1)
//   forward_step(l,d,t,rows)     needs project_input(l,d) of t and the same rows' step
//                                before it in the direction's walk
//   backward_step(l,d,t,rows)    needs forward_step(l,d,t), the gradient from above at t
//                                (input_grad(l+1) of t, or the output gradient), and
//                                the same rows' step after it in the walk
//   input_grad(l,[t0,t1))        needs backward_step(l,d,t) for both d and all t in the block
//   weight_grad(l,d,[t0,t1))     needs the same for d; its blocks accumulate in a fixed order
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "graph/model_params.h"
#include "graph/workspace.h"

namespace rnnwave {

class GraphCache;
class LayerGradsFinal;

/// The part of a step an operation covers: batch rows [r0, r1) (the engine's sorted
/// order; rows that have finished at that step are skipped) and hidden units [u0, u1).
/// Unit boundaries inside a step are multiples of the kernels' panel width (16).
struct StepPart {
  int64_t r0 = 0, r1 = 0, u0 = 0, u1 = 0;
};

/// Everything the operations of one pass touch.
template <class T>
struct Pass {
  const ModelParams<T>& params;
  WorkspaceImpl<T>& ws;
  BasicWeights<T>* grads = nullptr;  // weight gradients wanted if not null
  bool want_input_grad = false;      // the gradient of layer 0's input is wanted
  // Forward: the caller's output [T, N, D*Hs], written by output tasks where the schedule
  // has them (then outputs_stored is set), and the hook they call after each block.
  std::span<T> output = {};
  const std::function<void(int64_t, int64_t)>* on_output_block = nullptr;
  bool outputs_stored = false;
  // Forward: the caller's hook that makes a block of the input final (input tasks), and
  // whether one thread runs the upper layers first (ForwardArgs::output_early).
  const std::function<void(int64_t, int64_t)>* on_input_block = nullptr;
  std::span<const T> input = {};  // the caller's [T, N, I], read by the input tasks
  // Backward: the same for grad_output (input tasks of the backward graph), the hook
  // called once a block of grad_input is final, and the one-thread order.
  const std::function<void(int64_t, int64_t)>* on_grad_output_block = nullptr;
  std::span<const T> grad_output = {};
  const std::function<void(int64_t, int64_t)>* on_grad_input_block = nullptr;
  std::span<T> grad_input = {};
  bool grad_input_early = false;
  // Backward with grads: the caller's hook for each layer whose weight gradients are
  // final (BackwardArgs::on_layer_grads_final), and, under a task graph, the counter
  // that calls it (set by run_backward_graph).
  const std::function<void(int64_t)>* on_layer_grads_final = nullptr;
  LayerGradsFinal* layer_grads = nullptr;
  bool output_early = false;
  // The model's graphs, built once per problem and reused (null: build afresh).
  GraphCache* graphs = nullptr;

  const ProblemDesc& desc() const { return ws.desc; }
};

/// gates(l,d,t) = x(l,t) W_ih^T for t in [t0,t1), all rows: one GEMM of (t1-t0)*N rows;
/// the gate columns of hidden units [u0, u1) only (whole panels, H a multiple of 16) when
/// that is not all of them. The bits do not depend on the units asked for.
template <class T>
void project_input(Pass<T>& pass, int64_t l, int64_t d, int64_t t0, int64_t t1, int64_t u0,
                   int64_t u1);

/// The step's products and pointwise math, stage by stage, for one part (the rows still
/// running at t). The units of a part need the whole previous state: parts of one step
/// depend on every part of the step before.
template <class T>
void forward_step(Pass<T>& pass, int64_t l, int64_t d, int64_t t, const StepPart& part);

/// Backward of step t for one part: each stage in reverse, its pointwise backward then
/// the gradients into its products' inputs; the gradients into the previous states come
/// out. Turns the saved gates into their gradients and zeroes those of finished rows.
/// With several unit parts (one-stage cells only), the products of a part need the
/// pointwise math of every part: backward_pointwise then backward_products.
template <class T>
void backward_step(Pass<T>& pass, int64_t l, int64_t d, int64_t t, const StepPart& part);

/// The two halves of a one-stage cell's backward_step.
template <class T>
void backward_pointwise(Pass<T>& pass, int64_t l, int64_t d, int64_t t, const StepPart& part);
template <class T>
void backward_products(Pass<T>& pass, int64_t l, int64_t d, int64_t t, const StepPart& part);

/// Gradient of layer l's input at steps [t0,t1): sum over d of dgates(l,d) W_ih(l,d),
/// direction 0 first.
template <class T>
void input_grad(Pass<T>& pass, int64_t l, int64_t t0, int64_t t1);

/// The weight gradients of a (l, d) are independent terms, each writing its own
/// parameters (or part of one): the input weight's (dW_ih += dgates^T x), then each
/// product's (dW += dC^T A), then each sum the cell declares (biases, peepholes). Each
/// term must sum its blocks in the order of for_each_weight_grad_block; two terms may run
/// at the same time.
int64_t weight_grad_terms(const ProblemDesc& desc);

/// Adds term `term` of the weight gradients of steps [t0,t1) of (l,d) to pass.grads.
/// Every product runs on the calling thread alone, so its bits do not depend on the
/// schedule.
template <class T>
void weight_grad(Pass<T>& pass, int64_t l, int64_t d, int64_t t0, int64_t t1, int64_t term);

/// Every term.
template <class T>
void weight_grad(Pass<T>& pass, int64_t l, int64_t d, int64_t t0, int64_t t1);

}  // namespace rnnwave
