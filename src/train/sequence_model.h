// A recurrent stack read out once per sequence: stack -> pooling -> dropout -> linear.
// The model of the digits task (10 logits) and of the adding problem (1 prediction).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "rnnwave/rnn.h"
#include "rnnwave/train/linear.h"
#include "rnnwave/train/sequence_pool.h"
#include "rnnwave/train/trainer.h"
#include "train/builtin_task.h"
#include "train/recurrent_stack.h"

namespace rnnwave::train {

/// For input x [T, N, I] with lengths [N]:
///   y = stack(x) [T, N, D*H];  p = pool(y) [N, D*H];  out = head(dropout(p)) [N, O]
/// with dropout also between the layers of the stack. Parameters "rnn.*" (the stack, as
/// torch.nn.LSTM/GRU/RNN) and "head.weight" [O, D*H], "head.bias" [O]; initialised as
/// PyTorch does, from the config's seed.
class SequenceModel {
 public:
  SequenceModel(const TrainConfig& config, int64_t input_size, int64_t outputs);

  int64_t input_size() const { return spec_.input_size; }
  int64_t outputs() const { return head_.out_features(); }

  std::vector<Parameter<float>> parameters();
  /// "head" (group 0), then "layer L-1" ... "layer 0" (TrainingTask::gradient_groups).
  std::vector<GradientGroup> gradient_groups() const;
  /// The function backward calls with each group of gradient_groups() once it is final.
  void set_gradients_final(GradientsFinal hook) { gradients_final_ = std::move(hook); }
  void parameters_changed();
  /// Collective: the stack runs as a layer pipeline over the ranks of `world`
  /// (RecurrentStack::use_pipeline); everything else alike on every rank.
  void use_pipeline(dist::World& world) { rnn_.use_pipeline(world, weights_); }

  /// Training forward: out [N, O], written. `key` is the batch's key (run_seeds.h). Keeps
  /// what backward needs.
  void forward_train(int64_t steps, int64_t batch, std::span<const float> input,
                     std::span<const int64_t> lengths, uint64_t key, std::span<float> out);
  /// Gradients of every parameter (overwritten) from grad_out [N, O] of the last
  /// forward_train.
  void backward(std::span<const float> grad_out);

  /// Inference: out [N, O], written.
  void forward_eval(int64_t steps, int64_t batch, std::span<const float> input,
                    std::span<const int64_t> lengths, std::span<float> out) const;

 private:
  ModelSpec spec_;
  Pooling pooling_;
  double dropout_;
  Weights weights_;
  Weights weight_grads_;
  RecurrentStack rnn_;
  Linear head_;
  Linear head_grad_;
  GradientsFinal gradients_final_;

  // The last training batch.
  Workspace workspace_;
  int64_t steps_ = 0;
  int64_t batch_ = 0;
  uint64_t key_ = 0;
  std::vector<int64_t> lengths_;
  std::vector<float> output_, pooled_, dropped_;
  std::vector<float> grad_dropped_, grad_pooled_, grad_output_;
};

}  // namespace rnnwave::train
