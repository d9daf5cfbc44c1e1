// rnnwave/dist/pipeline.h — a recurrent stack run as a layer pipeline over the ranks:
// each rank owns a contiguous range of layers (pipeline_layers) and runs them as its own
// task graph; every block of steps of a boundary layer's output flows to the next rank
// as soon as it is final, so layers on different ranks overlap in time as the wavefront
// overlaps them on the cores of one machine (docs/distributed.md, "The layer pipeline").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "rnnwave/dist/layer_range.h"
#include "rnnwave/dist/world.h"
#include "rnnwave/rnn.h"

namespace rnnwave::dist {

/// Which ranks receive the results of a pass (the whole stack's outputs and gradients).
enum class PipelineResults {
  first_rank,  ///< rank 0 alone: a caller that writes them (rnnwave forward --pipeline)
  every_rank,  ///< every rank, the same bits: a caller that goes on alike on every rank
               ///< (the Trainer: loss, optimizer step and checkpoint on every rank)
};

/// One rank's stage of a pipelined stack: the forward pass (inference or training) and
/// the backward pass; one pass at a time.
class PipelineStage {
 public:
  /// Collective: every rank passes the whole model's weights (the same on every rank) and
  /// keeps the layers pipeline_layers(L, world.size(), world.rank()). `options` are this
  /// rank's (threads may differ between ranks; results do not depend on them); `results`
  /// the same on every rank. Throws CollectiveError (on every rank alike) when there are
  /// more ranks than layers.
  PipelineStage(World& world, const Weights& weights, ExecOptions options = {},
                PipelineResults results = PipelineResults::first_rank);
  ~PipelineStage();
  PipelineStage(const PipelineStage&) = delete;
  PipelineStage& operator=(const PipelineStage&) = delete;

  /// This rank's layers, and its model (the layers renumbered from 0).
  LayerRange layers() const;
  const Rnn& rnn() const;

  /// Replaces the weights (of the whole model, the same spec; this rank keeps its
  /// layers'), as Rnn::set_weights. Not collective: every rank sets the same weights
  /// before its next pass.
  void set_weights(const Weights& weights);

  /// The steps per block that flow between ranks for a problem of T steps and N rows:
  /// ExecOptions::step_block if set, else the automatic step block of the whole model's
  /// plan at one thread (not of this rank's layers: about 64 rows, or 256 where some
  /// layer's input weights exceed 4 MiB) but at most 16 steps, the same on every rank.
  int64_t pipe_block(int64_t steps, int64_t batch) const;

  /// Collective: the whole stack's forward pass. `args` are those of Rnn::forward for the
  /// whole model, the same shapes on every rank: rank 0 reads `input` (the other ranks
  /// ignore its values, and may pass a span of the right size over any memory), and
  /// every rank reads `lengths`, its layers' share of `h0` and `c0`. Rank 0 (every rank
  /// with PipelineResults::every_rank) receives the results: `output`, and `hn`, `cn` if
  /// given; the other ranks write only their layers' share of hn and cn and scratch in
  /// `output`. on_input_block must be empty; on_output_block, on the ranks that receive
  /// the results, is called for each block in order as it arrives (after this rank's own
  /// layers are done). The bits equal those of Rnn::forward of the whole model in one
  /// process. A rank waits at most
  /// `receive_timeout` from the start of the pass for each block (and for the results)
  /// before the job is ended.
  void forward(const ForwardArgs<float>& args, std::optional<Seconds> receive_timeout = {}) const;

  /// Collective, training: as forward, and keeps in `workspace` what backward needs (for
  /// this rank's layers). Dropout (args.dropout, dropout_seed, dropout_first_layer) masks
  /// every layer's input as in the whole stack, the input of a rank's first layer on
  /// arrival from the rank below.
  void forward(const ForwardArgs<float>& args, Workspace& workspace,
               std::optional<Seconds> receive_timeout = {}) const;

  /// Collective: the whole stack's backward pass after forward(args, workspace) on every
  /// rank. `args` are those of Rnn::backward for the whole model, the same shapes on every
  /// rank: the top rank reads `grad_output` (the others ignore its values), every rank its
  /// layers' share of `grad_hn` and `grad_cn`. The gradient with respect to each boundary
  /// layer's output flows down block by block as soon as it is final. Every rank writes
  /// its layers' share of `grad_h0`, `grad_c0` and `*grad_weights` (if given); rank 0
  /// (every rank with PipelineResults::every_rank) receives the other ranks' shares and
  /// `grad_input`, so that its results are those of Rnn::backward of the whole model in
  /// one process, bit for bit. on_grad_output_block, on_grad_input_block and
  /// on_layer_grads_final must be empty.
  void backward(const BackwardArgs<float>& args, Workspace& workspace,
                std::optional<Seconds> receive_timeout = {}) const;

 private:
  void run_forward(const ForwardArgs<float>& args, Workspace* workspace, std::optional<Seconds> timeout) const;

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rnnwave::dist
