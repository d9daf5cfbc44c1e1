#include "rnnwave/rnn.h"

#include <mutex>
#include <type_traits>

#include "common/strings.h"
#include "graph/boundary.h"
#include "graph/graph_cache.h"
#include "graph/model_params.h"
#include "graph/problem.h"
#include "graph/schedule.h"
#include "kernels/packed_bf16.h"
#include "model/validate_args.h"
#include "rnnwave/planner.h"

namespace rnnwave {

template <class T>
struct BasicRnn<T>::Impl {
  Impl(const BasicWeights<T>& weights, const ExecOptions& exec)
      : params(std::make_unique<ModelParams<T>>(weights)), options(exec) {}
  std::unique_ptr<ModelParams<T>> params;  // repacked in place by set_weights
  ExecOptions options;
  // The task graphs of the problems seen, built once each.
  GraphCache graphs;
  // Inference reuses one workspace across calls: allocating and first touching hundreds
  // of MiB per call would cost more than the pass itself at small sizes.
  std::mutex scratch_mutex;
  BasicWorkspace<T> scratch;
};

template <class T>
BasicRnn<T>::BasicRnn(const BasicWeights<T>& weights, ExecOptions options) {
  resolve_threads(options);  // validates
  impl_ = std::make_unique<Impl>(weights, options);
}

template <class T>
BasicRnn<T>::~BasicRnn() = default;
template <class T>
BasicRnn<T>::BasicRnn(BasicRnn&&) noexcept = default;
template <class T>
BasicRnn<T>& BasicRnn<T>::operator=(BasicRnn&&) noexcept = default;

template <class T>
const ModelSpec& BasicRnn<T>::spec() const {
  return impl_->params->spec();
}

template <class T>
const ExecOptions& BasicRnn<T>::options() const {
  return impl_->options;
}

template <class T>
void BasicRnn<T>::set_options(const ExecOptions& options) {
  resolve_threads(options);
  impl_->options = options;
}

template <class T>
void BasicRnn<T>::set_weights(const BasicWeights<T>& weights) {
  if (!(weights.spec() == spec())) {
    fail("set_weights: weights are for ", describe(weights.spec()), ", the model is ",
         describe(spec()));
  }
  impl_->params->assign(weights);  // in place: no second packing held, nothing allocated
}

namespace {

template <class T>
WorkspaceImpl<T>& contents(BasicWorkspace<T>& workspace) {
  return detail::WorkspaceAccess::impl(workspace);
}

/// Runs the forward pass and fills the caller's buffers: the output by the graph's output
/// tasks where the schedule has them, else here, with the hook over all steps.
template <class T>
void run_forward_and_store(Pass<T>& pass, Trace* trace, const ForwardArgs<T>& args) {
  pass.output = args.output;
  if (args.on_output_block) pass.on_output_block = &args.on_output_block;
  if (args.on_input_block) pass.on_input_block = &args.on_input_block;
  pass.input = args.input;
  pass.output_early = args.output_early;
  run_forward(pass, trace);
  if (!pass.outputs_stored) {
    store_output_steps<T>(pass.ws, args.output, 0, args.steps);
    if (args.on_output_block) args.on_output_block(0, args.steps);
  }
  store_final_states<T>(pass.ws, {args.hn, args.cn});
}

/// Validates the arguments and sets the workspace up for a forward pass.
template <class T>
void start_forward(const ModelSpec& spec, const ExecOptions& options, const ForwardArgs<T>& args,
                   bool training, WorkspaceImpl<T>& ws) {
  validate_forward(spec, args);
  ws.order = BatchOrder::make(args.steps, args.batch, args.lengths);
  ws.prepare(describe_problem(spec, args.steps, args.batch, training, args.dropout > 0,
                              ws.order.identity, options),
             args.dropout, args.dropout_seed, args.dropout_first_layer);
  // A hook may write its block of the output, which a direct output would feed back into
  // the next step as its state: with one, the output is copied.
  place_output<T>(ws, args.on_output_block ? std::span<T>() : args.output,
                  {args.input, args.h0, args.c0, args.hn, args.cn});
  load_input<T>(ws, args.input, static_cast<bool>(args.on_input_block));
  load_initial_states<T>(ws, {args.h0, args.c0});
}

/// Readies a pass whose products are in bf16 (ExecOptions::precision): refuses bf16 where
/// it does not apply (training, double, a CPU without the instructions) and rounds the
/// weights on first use. Nothing to do in fp32.
template <class T>
void prepare_precision(const ExecOptions& options, const ModelParams<T>& params, const char* call) {
  if (options.precision != Precision::bf16) return;
  if (call != nullptr) {
    fail(call, ": bf16 precision is for inference only; training runs in fp32 "
         "(set ExecOptions::precision to fp32)");
  }
  if constexpr (!std::is_same_v<T, float>) {
    fail("bf16 precision is for float models; this one computes in double");
  }
  kernels::require_bf16();
  params.prepare_bf16();
}

}  // namespace

template <class T>
Plan BasicRnn<T>::plan(int64_t steps, int64_t batch, bool training) const {
  return plan_of(spec(), steps, batch, impl_->options, training);
}

template <class T>
void BasicRnn<T>::forward(const ForwardArgs<T>& args) const {
  // Concurrent inference calls on one model each get a workspace: the shared one if
  // free, else a fresh one.
  const WeightsHeld<T> held = impl_->params->hold_forward();
  prepare_precision(impl_->options, *impl_->params, nullptr);
  std::unique_lock<std::mutex> lock(impl_->scratch_mutex, std::try_to_lock);
  BasicWorkspace<T> fresh;
  auto& ws = lock.owns_lock() ? contents(impl_->scratch) : contents(fresh);
  start_forward(spec(), impl_->options, args, false, ws);
  Pass<T> pass{*impl_->params, ws};
  pass.graphs = &impl_->graphs;
  run_forward_and_store(pass, impl_->options.trace, args);
}

template <class T>
void BasicRnn<T>::forward(const ForwardArgs<T>& args, BasicWorkspace<T>& workspace) const {
  prepare_precision(impl_->options, *impl_->params, "forward with a workspace (training)");
  const WeightsHeld<T> held = impl_->params->hold_forward();
  auto& ws = contents(workspace);
  start_forward(spec(), impl_->options, args, true, ws);
  Pass<T> pass{*impl_->params, ws};
  pass.graphs = &impl_->graphs;
  run_forward_and_store(pass, impl_->options.trace, args);
  ws.owner = impl_.get();
  ws.has_forward = true;
}

template <class T>
void BasicRnn<T>::backward(const BackwardArgs<T>& args, BasicWorkspace<T>& workspace) const {
  prepare_precision(impl_->options, *impl_->params, "backward");
  auto& ws = contents(workspace);
  if (!ws.has_forward || ws.owner != impl_.get()) {
    fail("backward needs the workspace of a training forward of this model "
         "(call forward(args, workspace) first)");
  }
  validate_backward(spec(), ws.desc.T, ws.desc.N, args);
  ws.desc.plan = choose_plan(ws.desc, impl_->options);  // the options may have changed
  ws.prepare_backward();
  const bool input_grad = !args.grad_input.empty();
  const WeightsHeld<T> held =
      impl_->params->hold_backward(input_grad, impl_->options.single_weight_copy);
  load_output_grads<T>(ws, args.grad_output, {args.grad_hn, args.grad_cn}, args.grad_input,
                       static_cast<bool>(args.on_grad_output_block));
  Pass<T> pass{*impl_->params, ws, args.grad_weights, input_grad};
  pass.graphs = &impl_->graphs;
  if (args.on_grad_output_block) pass.on_grad_output_block = &args.on_grad_output_block;
  if (args.on_grad_input_block) pass.on_grad_input_block = &args.on_grad_input_block;
  if (args.on_layer_grads_final) pass.on_layer_grads_final = &args.on_layer_grads_final;
  pass.grad_output = args.grad_output;
  pass.grad_input = args.grad_input;
  pass.grad_input_early = args.grad_input_early;
  run_backward(pass, impl_->options.trace);
  store_input_grads<T>(ws, args.grad_input, {args.grad_h0, args.grad_c0},
                       static_cast<bool>(args.on_grad_input_block));
  // The backward pass overwrote the saved gates with their gradients.
  ws.has_forward = false;
}

template class BasicRnn<float>;
template class BasicRnn<double>;

}  // namespace rnnwave
