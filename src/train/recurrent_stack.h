// The recurrent stack of a built-in task's model: an Rnn in this process, or this rank's
// stage of a layer pipeline over the ranks of a job (`rnnwave train --pipeline`).
#pragma once

#include <memory>
#include <optional>

#include "rnnwave/dist/pipeline.h"
#include "rnnwave/rnn.h"

namespace rnnwave::train {

/// Runs a stack's passes. Pipelined (use_pipeline), each rank computes its own layers and
/// every rank receives the whole stack's results with the bits of the one-process Rnn
/// (dist::PipelineResults::every_rank), so the rest of the model — embedding, head, loss,
/// optimizer — runs alike on every rank and needs no other communication.
class RecurrentStack {
 public:
  RecurrentStack(const Weights& weights, const ExecOptions& exec);
  ~RecurrentStack();
  RecurrentStack(const RecurrentStack&) = delete;
  RecurrentStack& operator=(const RecurrentStack&) = delete;

  /// As Rnn::set_weights (the whole stack's weights; a pipeline stage keeps its layers').
  void set_weights(const Weights& weights);

  /// Collective: from now on this rank runs its layers of the stack (dist::pipeline_layers)
  /// with `weights` (the whole stack's, the same on every rank). The world must outlive
  /// the stack. CollectiveError when the world has more ranks than the stack has layers.
  void use_pipeline(dist::World& world, const Weights& weights);
  bool pipelined() const { return stage_ != nullptr; }

  /// As Rnn::forward and Rnn::backward. Pipelined (collective): on_input_block,
  /// on_grad_output_block, on_grad_input_block and on_layer_grads_final must be empty;
  /// on_output_block is called block by block as the top layer's output arrives, after this
  /// rank's own layers are done.
  void forward(const ForwardArgs<float>& args) const;
  void forward(const ForwardArgs<float>& args, Workspace& workspace);
  void backward(const BackwardArgs<float>& args, Workspace& workspace);

 private:
  std::optional<Rnn> rnn_;  // none once pipelined
  std::unique_ptr<dist::PipelineStage> stage_;
};

}  // namespace rnnwave::train
