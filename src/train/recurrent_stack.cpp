#include "train/recurrent_stack.h"

#include "common/strings.h"

namespace rnnwave::train {

RecurrentStack::RecurrentStack(const Weights& weights, const ExecOptions& exec) : rnn_(std::in_place, weights, exec) {}

RecurrentStack::~RecurrentStack() = default;

void RecurrentStack::set_weights(const Weights& weights) {
  if (stage_) {
    stage_->set_weights(weights);
  } else {
    rnn_->set_weights(weights);
  }
}

void RecurrentStack::use_pipeline(dist::World& world, const Weights& weights) {
  if (stage_) fail("the stack is pipelined already");
  stage_ = std::make_unique<dist::PipelineStage>(world, weights, rnn_->options(), dist::PipelineResults::every_rank);
  rnn_.reset();  // the stage holds this rank's layers
}

void RecurrentStack::forward(const ForwardArgs<float>& args) const {
  if (stage_) {
    stage_->forward(args);
  } else {
    rnn_->forward(args);
  }
}

void RecurrentStack::forward(const ForwardArgs<float>& args, Workspace& workspace) {
  if (stage_) {
    stage_->forward(args, workspace);
  } else {
    rnn_->forward(args, workspace);
  }
}

void RecurrentStack::backward(const BackwardArgs<float>& args, Workspace& workspace) {
  if (stage_) {
    stage_->backward(args, workspace);
  } else {
    rnn_->backward(args, workspace);
  }
}

}  // namespace rnnwave::train
