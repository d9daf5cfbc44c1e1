#include "rnnwave/rnn.h"

#include <mutex>

#include "common/strings.h"
#include "graph/boundary.h"
#include "graph/decomposition.h"
#include "graph/model_params.h"
#include "graph/schedule.h"
#include "model/validate_args.h"

namespace rnnwave {

template <class T>
struct BasicRnn<T>::Impl {
  Impl(const BasicWeights<T>& weights, const ExecOptions& exec)
      : params(std::make_unique<ModelParams<T>>(weights)), options(exec) {}
  std::unique_ptr<ModelParams<T>> params;  // replaced whole by set_weights
  ExecOptions options;
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
  const ModelSpec& a = weights.spec();
  const ModelSpec& b = spec();
  if (a.cell != b.cell || a.input_size != b.input_size || a.hidden_size != b.hidden_size ||
      a.layers != b.layers || a.bidirectional != b.bidirectional) {
    fail("set_weights: weights are for ", describe(a), ", the model is ", describe(b));
  }
  impl_->params = std::make_unique<ModelParams<T>>(weights);
}

namespace {

/// Runs the forward pass and fills the caller's buffers: the output by the graph's output
/// tasks where the schedule has them, else here, with the hook over all steps.
template <class T>
void run_forward_and_store(Pass<T>& pass, const ExecOptions& options, const ForwardArgs<T>& args) {
  pass.output = args.output;
  if (args.on_output_block) pass.on_output_block = &args.on_output_block;
  run_forward(pass, options);
  if (!pass.outputs_stored) {
    store_output_steps<T>(pass.ws, args.output, 0, args.steps);
    if (args.on_output_block) args.on_output_block(0, args.steps);
  }
  store_final_states<T>(pass.ws, args.hn, args.cn);
}

}  // namespace

template <class T>
Plan BasicRnn<T>::plan(int64_t steps, int64_t batch) const {
  const ExecOptions& options = impl_->options;
  const ModelSpec& s = spec();
  const GraphShape shape{s.layers, s.directions(), steps, batch, s.input_size, s.hidden_size,
                         s.gates()};
  const int threads = options.schedule == Schedule::sequential ? 1 : resolve_threads(options);
  if (options.schedule == Schedule::layerwise) {
    return {options.schedule, threads, steps, 1, 1, steps};
  }
  const Decomposition d = choose_decomposition(shape, threads, options);
  return {options.schedule, threads, d.step_block, d.splits(), d.parts(), d.weight_block};
}

template <class T>
void BasicRnn<T>::forward(const ForwardArgs<T>& args) const {
  // Concurrent inference calls on one model each get a workspace: the shared one if
  // free, else a fresh one.
  std::unique_lock<std::mutex> lock(impl_->scratch_mutex, std::try_to_lock);
  BasicWorkspace<T> fresh;
  auto& ws = lock.owns_lock() ? impl_->scratch.impl() : fresh.impl();
  validate_forward(spec(), args);
  ws.prepare(spec(), BatchOrder::make(args.steps, args.batch, args.lengths), false);
  load_input<T>(ws, args.input, false);
  load_initial_states<T>(ws, args.h0, args.c0);
  Pass<T> pass{*impl_->params, ws};
  run_forward_and_store(pass, impl_->options, args);
}

template <class T>
void BasicRnn<T>::forward(const ForwardArgs<T>& args, BasicWorkspace<T>& workspace) const {
  auto& ws = workspace.impl();
  validate_forward(spec(), args);
  ws.prepare(spec(), BatchOrder::make(args.steps, args.batch, args.lengths), true, args.dropout,
             args.dropout_seed);
  load_input<T>(ws, args.input, true);
  load_initial_states<T>(ws, args.h0, args.c0);
  Pass<T> pass{*impl_->params, ws};
  run_forward_and_store(pass, impl_->options, args);
  ws.owner = impl_.get();
  ws.has_forward = true;
}

template <class T>
void BasicRnn<T>::backward(const BackwardArgs<T>& args, BasicWorkspace<T>& workspace) const {
  auto& ws = workspace.impl();
  if (!ws.has_forward || ws.owner != impl_.get()) {
    fail("backward needs the workspace of a training forward of this model "
         "(call forward(args, workspace) first)");
  }
  validate_backward(spec(), ws.T_, ws.N, args);
  ws.prepare_backward();
  impl_->params->prepare_backward();
  load_output_grads<T>(ws, args.grad_output, args.grad_hn, args.grad_cn, args.grad_input);
  if (args.grad_weights != nullptr) {
    auto flat = args.grad_weights->flat();
    std::fill(flat.begin(), flat.end(), T(0));
  }
  Pass<T> pass{*impl_->params, ws, args.grad_weights, !args.grad_input.empty()};
  run_backward(pass, impl_->options);
  store_input_grads<T>(ws, args.grad_input, args.grad_h0, args.grad_c0);
  // The backward pass overwrote the saved gates with their gradients.
  ws.has_forward = false;
}

template class BasicRnn<float>;
template class BasicRnn<double>;

}  // namespace rnnwave
