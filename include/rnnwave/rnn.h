// rnnwave/rnn.h — forward and backward passes of a recurrent stack on caller-owned buffers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "rnnwave/model.h"
#include "rnnwave/schedule.h"
#include "rnnwave/weights.h"

namespace rnnwave {

/// Inputs and outputs of a forward pass. Shapes use the glossary of model.h; every
/// tensor is dense and row-major. An empty span means "not given" where allowed.
template <class T>
struct ForwardArgs {
  int64_t steps = 0;  ///< T >= 1
  int64_t batch = 0;  ///< N >= 1
  std::span<const T> input;          ///< [T, N, I], finite
  /// [N], each in [1, T], any order; empty = every sequence has T steps. Semantics are
  /// torch.nn.utils.rnn.pack_padded_sequence(enforce_sorted=False): the reverse
  /// direction of sequence n starts at its own last step lengths[n]-1, outputs at steps
  /// t >= lengths[n] are zero, and h_n/c_n are the states at its own last step.
  std::span<const int64_t> lengths;
  std::span<const T> h0;             ///< [L*D, N, H], finite; empty = zeros
  std::span<const T> c0;             ///< [L*D, N, H], LSTM only; empty = zeros
  std::span<T> output;               ///< [T, N, D*H], written
  std::span<T> hn;                   ///< [L*D, N, H], written if given
  std::span<T> cn;                   ///< [L*D, N, H], LSTM only, written if given
  /// Training forward only (inference ignores it, as PyTorch's eval mode): inverted dropout
  /// with this probability, in [0, 1), on the outputs of every layer but the last — the
  /// `dropout` of torch.nn.LSTM. The element of (layer l, step t, the caller's row n,
  /// unit j) is kept where dropout_keep(dropout_seed, ((l*T + t)*N + n)*D*Hs + j, dropout)
  /// (rnnwave/dropout.h), so the masks do not depend on threads, schedule or batch order.
  double dropout = 0;
  uint64_t dropout_seed = 0;
  /// For a stage of a larger stack (a layer pipeline, rnnwave/dist/pipeline.h): the
  /// number of this model's layer 0 in the whole stack, so that the masks of layer l's
  /// input are those of the whole stack's layer dropout_first_layer + l (l in the
  /// formula above). >= 0; 0 for a whole stack.
  int64_t dropout_first_layer = 0;
  /// Optional: called once for each block of steps [t0, t1) (the blocks tile [0, T);
  /// their size is Plan::step_block: the whole sequence below 8 rows where the input
  /// weights exceed 4 MiB and T x N is at most the widest layer's I + H (docs/design.md
  /// §7), unless ExecOptions::step_block asks for less) as soon as
  /// `output` holds the final values of those steps. Under the wavefront schedule it runs as a task of the forward graph, while
  /// later steps are still being computed, so an output layer (e.g. a language model's
  /// softmax) overlaps the recurrence. Calls for different blocks may run at the same time
  /// on different threads: each must write only its own block's share of any buffer, and
  /// should compute single-threaded. An exception it throws ends the pass and is rethrown
  /// by forward. Other schedules call it after the pass, over [0, T) at once.
  std::function<void(int64_t t0, int64_t t1)> on_output_block;
  /// Optional: the input arrives block by block while the pass runs (a stage of a layer
  /// pipeline, fed by the rank below). When set, `input` need not hold its values at the
  /// call: the pass calls this once for each block of steps [t0, t1) (the blocks of
  /// on_output_block) before it reads those steps, in increasing t0, and the hook must
  /// return once `input` holds their final values. `input` is then not checked for
  /// finite values (they come from a layer below, computed from checked ones). Under the
  /// wavefront and sequential schedules each call is a task of the forward graph that the
  /// block's input projections depend on, and one thread takes it only when no other task
  /// is ready, so the layers above compute while the hook waits; the layerwise schedule
  /// calls it over [0, T) before the pass. An exception it throws ends the pass and is
  /// rethrown by forward.
  std::function<void(int64_t t0, int64_t t1)> on_input_block;
  /// With one thread: run the ready tasks of the upper layers first, and each output
  /// block as soon as it is final, so that on_output_block sees the first blocks early
  /// (a pipeline's next stage waits for them) instead of after the lower layers have run
  /// to the end. Costs some cache reuse (layers alternate block by block). Changes no
  /// result; other thread counts and schedules ignore it.
  bool output_early = false;
};

/// Inputs and outputs of a backward pass (backpropagation through time). The problem
/// (T, N, lengths, input) is that of the forward pass whose Workspace is passed in.
template <class T>
struct BackwardArgs {
  std::span<const T> grad_output;    ///< [T, N, D*H], finite; entries past a sequence's end are ignored
  std::span<const T> grad_hn;        ///< [L*D, N, H]; empty = zeros
  std::span<const T> grad_cn;        ///< [L*D, N, H], LSTM only; empty = zeros
  std::span<T> grad_input;           ///< [T, N, I], written if given (zero past each end)
  std::span<T> grad_h0;              ///< [L*D, N, H], written if given
  std::span<T> grad_c0;              ///< [L*D, N, H], LSTM only, written if given
  /// Overwritten with the gradient of every parameter if not null; its spec must equal
  /// the model's.
  BasicWeights<T>* grad_weights = nullptr;
  /// Optional: grad_output arrives block by block while the pass runs (a stage of a layer
  /// pipeline, fed by the rank above). When set, `grad_output` need not hold its values
  /// at the call: the pass calls this once for each block of steps [t0, t1) (the blocks of
  /// the forward pass's hooks) before it reads those steps, from the last block down, and
  /// the hook must return once they are final. They are not checked for finite values.
  /// As ForwardArgs::on_input_block: a task of the backward graph that one thread takes
  /// only when nothing else is ready; the layerwise schedule calls it over [0, T) first.
  std::function<void(int64_t t0, int64_t t1)> on_grad_output_block;
  /// Optional, with grad_input: called once for each block of steps [t0, t1) (the step
  /// blocks; never the shares of a block that input gradients may take without the
  /// hook) as soon as grad_input holds the final values of those steps (a pipeline stage
  /// sends them down to the rank below). Under the wavefront and sequential schedules it runs in the
  /// task that computes the block's input gradient; the layerwise schedule calls it over
  /// [0, T) after the pass. Calls for different blocks may run at the same time.
  std::function<void(int64_t t0, int64_t t1)> on_grad_input_block;
  /// With one thread: run the ready tasks of the lower layers first, so that
  /// on_grad_input_block sees the first blocks early. Changes no result.
  bool grad_input_early = false;
  /// Optional, with grad_weights: called once for each layer l, in the order L-1, L-2,
  /// ..., 0, as soon as grad_weights holds the final gradients of every parameter of layer
  /// l (both directions) — while the layers below are still in backward, so that a
  /// data-parallel trainer starts combining them (per-layer buckets). Threading: under the
  /// wavefront and sequential schedules it runs on the thread of the task that ends the
  /// layer's last weight-gradient block (a thread of the pass's pool), or, when a layer
  /// ends before the layer above it, right after the call for that layer on the thread
  /// that makes it; the layerwise schedule (and the wavefront schedule's backward pass in
  /// lock step, schedule.h) calls it on the calling thread after each layer's weight
  /// gradients. Calls never overlap one another and each sees every write
  /// of the tasks before it. It may read (or copy away) layer l's gradients in
  /// grad_weights and must not write them or anything else of the pass, nor call the
  /// model; it should be quick (it holds a thread of the pass), e.g. a copy and the start
  /// of a non-blocking reduction. An exception it throws ends the pass and is rethrown by
  /// backward. Changes no result.
  std::function<void(int64_t layer)> on_layer_grads_final;
};

namespace detail {
struct WorkspaceAccess;  // the engine's way in; nothing for users
}

/// What a forward pass keeps for the backward pass (states, gate activations) and the
/// scratch memory of both. Reusable across calls: it grows as needed and is freed
/// when destroyed. Opaque.
template <class T>
class BasicWorkspace {
 public:
  BasicWorkspace();
  ~BasicWorkspace();
  BasicWorkspace(BasicWorkspace&&) noexcept;
  BasicWorkspace& operator=(BasicWorkspace&&) noexcept;

  /// Bytes currently held.
  int64_t bytes() const;

 private:
  friend struct detail::WorkspaceAccess;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// How a pass is cut into tasks (the degrees of freedom of the wavefront schedule).
struct Plan {
  Schedule schedule = Schedule::sequential;
  int threads = 1;
  int64_t step_block = 1;    ///< steps per input-projection / input-gradient task (a
                             ///< bidirectional whole-sequence block below 8 rows: input
                             ///< gradients in a share of it per thread)
  int64_t batch_splits = 1;  ///< independent sub-batches
  int64_t hidden_splits = 1; ///< parts of each step, by hidden units
  int64_t weight_block = 1;  ///< steps per weight-gradient task (fixes the summation order)
};

/// A recurrent stack ready to run: a copy of the weights in the layout the kernels want.
///
/// T is float (the product) or double (used for gradient checks). Every method validates
/// its arguments once, then runs: a wrong size, a length outside [1, T] or a non-finite
/// input throws Error naming the argument and the values; nothing is written then.
template <class T>
class BasicRnn {
 public:
  explicit BasicRnn(const BasicWeights<T>& weights, ExecOptions options = {});
  ~BasicRnn();
  BasicRnn(BasicRnn&&) noexcept;
  BasicRnn& operator=(BasicRnn&&) noexcept;

  const ModelSpec& spec() const;
  const ExecOptions& options() const;
  void set_options(const ExecOptions& options);
  /// Replaces the parameters (same spec) — e.g. after an optimizer step. Repacks into the
  /// model's own memory (nothing allocated, no second copy held). Throws Error while a
  /// pass of this model runs on another thread.
  void set_weights(const BasicWeights<T>& weights);

  /// The plan a pass over T steps and N rows would follow with the current options: an
  /// inference pass, or a training pass (forward and backward) if `training`.
  Plan plan(int64_t steps, int64_t batch, bool training = false) const;

  /// Inference: computes output (and hn, cn if given).
  void forward(const ForwardArgs<T>& args) const;

  /// Training: as forward, and keeps in `workspace` what backward needs.
  void forward(const ForwardArgs<T>& args, BasicWorkspace<T>& workspace) const;

  /// Gradients of a loss with respect to input, h0, c0 and every parameter, given its
  /// gradients with respect to output, hn and cn. `workspace` must come from the
  /// training forward of this model (and must not have been reused since).
  void backward(const BackwardArgs<T>& args, BasicWorkspace<T>& workspace) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

using Rnn = BasicRnn<float>;
using Workspace = BasicWorkspace<float>;

extern template class BasicRnn<float>;
extern template class BasicRnn<double>;
extern template class BasicWorkspace<float>;
extern template class BasicWorkspace<double>;

}  // namespace rnnwave
