#include "train/sequence_model.h"

#include <algorithm>

#include "rnnwave/train/dropout.h"
#include "train/check.h"
#include "train/run_seeds.h"

namespace rnnwave::train {
namespace {

ModelSpec stack_spec(const TrainConfig& config, int64_t input_size) {
  ModelSpec spec{config.cell, input_size, config.hidden_size, config.layers, config.bidirectional};
  spec.validate();
  check_stack_training_fits(spec);
  return spec;
}

}  // namespace

SequenceModel::SequenceModel(const TrainConfig& config, int64_t input_size, int64_t outputs)
    : spec_(stack_spec(config, input_size)),
      pooling_(config.pooling),
      dropout_(config.dropout),
      weights_(Weights::uniform(spec_, init_seed(config.seed, kStreamStack))),
      weight_grads_(spec_),
      rnn_(weights_, config.exec),
      head_(Linear::uniform(spec_.directions() * spec_.hidden_size, outputs,
                            init_seed(config.seed, kStreamHead))),
      head_grad_(spec_.directions() * spec_.hidden_size, outputs) {}

std::vector<Parameter<float>> SequenceModel::parameters() {
  std::vector<Parameter<float>> params;
  for (const ParamInfo& info : weights_.params()) {
    params.push_back({"rnn." + info.name, info.shape, weights_.get(info.name),
                      weight_grads_.get(info.name)});
  }
  const int64_t in = head_.in_features(), out = head_.out_features();
  params.push_back({"head.weight", {out, in}, head_.weight(), head_grad_.weight()});
  params.push_back({"head.bias", {out}, head_.bias(), head_grad_.bias()});
  return params;
}

std::vector<GradientGroup> SequenceModel::gradient_groups() const {
  std::vector<GradientGroup> groups{{"head", {"head.weight", "head.bias"}}};
  for (GradientGroup& layer : stack_gradient_groups(weights_, "rnn.")) groups.push_back(std::move(layer));
  return groups;
}

void SequenceModel::parameters_changed() { rnn_.set_weights(weights_); }

void SequenceModel::forward_train(int64_t steps, int64_t batch, std::span<const float> input,
                                  std::span<const int64_t> lengths, uint64_t key,
                                  std::span<float> out) {
  const int64_t width = spec_.directions() * spec_.hidden_size;
  steps_ = steps;
  batch_ = batch;
  key_ = key;
  lengths_.assign(lengths.begin(), lengths.end());
  output_.resize(static_cast<size_t>(steps * batch * width));
  pooled_.resize(static_cast<size_t>(batch * width));
  dropped_.resize(pooled_.size());

  ForwardArgs<float> args;
  args.steps = steps;
  args.batch = batch;
  args.input = input;
  args.lengths = lengths_;
  args.output = output_;
  args.dropout = dropout_;
  args.dropout_seed = stack_dropout_seed(key);
  rnn_.forward(args, workspace_);
  const SequenceShape shape{steps, batch, spec_.directions(), spec_.hidden_size};
  pool_sequence<float>(pooling_, shape, output_, lengths_, pooled_);
  Dropout(dropout_, key, kDropHead).forward<float>(pooled_, dropped_, Phase::training, 0);
  head_.forward(dropped_, batch, out);
}

void SequenceModel::backward(std::span<const float> grad_out) {
  grad_dropped_.resize(dropped_.size());
  grad_pooled_.resize(pooled_.size());
  grad_output_.resize(output_.size());
  head_.backward(dropped_, grad_out, batch_, grad_dropped_, &head_grad_);
  if (gradients_final_) gradients_final_(0);
  Dropout(dropout_, key_, kDropHead).backward<float>(grad_dropped_, grad_pooled_, Phase::training, 0);
  const SequenceShape shape{steps_, batch_, spec_.directions(), spec_.hidden_size};
  pool_sequence_backward<float>(pooling_, shape, lengths_, grad_pooled_, grad_output_);
  BackwardArgs<float> args;
  args.grad_output = grad_output_;
  args.grad_weights = &weight_grads_;
  if (gradients_final_) {
    const int64_t top = spec_.layers - 1;
    args.on_layer_grads_final = [this, top](int64_t layer) { gradients_final_(1 + top - layer); };
  }
  rnn_.backward(args, workspace_);
}

void SequenceModel::forward_eval(int64_t steps, int64_t batch, std::span<const float> input,
                                 std::span<const int64_t> lengths, std::span<float> out) const {
  const int64_t width = spec_.directions() * spec_.hidden_size;
  std::vector<float> output(static_cast<size_t>(steps * batch * width));
  std::vector<float> pooled(static_cast<size_t>(batch * width));
  ForwardArgs<float> args;
  args.steps = steps;
  args.batch = batch;
  args.input = input;
  args.lengths = lengths;
  args.output = output;
  rnn_.forward(args);
  const SequenceShape shape{steps, batch, spec_.directions(), spec_.hidden_size};
  pool_sequence<float>(pooling_, shape, output, lengths, pooled);
  head_.forward(pooled, batch, out);
}

}  // namespace rnnwave::train
