// A word-level language model: embedding -> dropout -> recurrent stack -> dropout -> linear
// over the vocabulary, trained with truncated backpropagation through time.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "kernels/packed_gemm.h"
#include "rnnwave/huge_pages.h"
#include "rnnwave/rnn.h"
#include "rnnwave/train/embedding.h"
#include "rnnwave/train/linear.h"
#include "rnnwave/train/loss.h"
#include "rnnwave/train/trainer.h"
#include "train/builtin_task.h"
#include "train/recurrent_stack.h"

namespace rnnwave::train {

/// For token ids x [T, N] (V words, E embedding size, H hidden size, L layers):
///   e = dropout(embedding(x)) [T, N, E];  y, (h_n, c_n) = stack(e, (h_0, c_0)) [T, N, H]
///   logits = head(dropout(y)) [T, N, V];  loss = mean over T*N of cross-entropy
/// as pytorch/examples' word_language_model RNNModel (untied). Parameters
/// "embedding.weight" [V, E], "rnn.*", "head.weight" [V, H], "head.bias" [V];
/// initialised as that example does: embedding and head weight uniform in [-0.1, 0.1),
/// head bias 0, the stack as PyTorch (U(-1/sqrt(H), 1/sqrt(H))), all from the seed.
///
/// The output layer overlaps the recurrence: the head's forward, the loss and the
/// gradient with respect to y of each block of steps run inside the forward graph
/// (ForwardArgs::on_output_block) as soon as the block's outputs are final. Their two
/// products use the head's weight packed once per parameter change (kernels/packed_gemm.h),
/// whose every element is one sequential sum over k, and the loss is computed per step and
/// summed in step order, so the results are bit-identical for every thread count,
/// schedule and step block. The head's weight gradient is one product over all rows
/// afterwards (BasicLinear::backward).
class LanguageModel {
 public:
  /// The hidden state carried from one BPTT segment to the next: h, c [L, N, H] (c for
  /// LSTM only). Empty = zeros.
  struct State {
    std::vector<float> h, c;
    void reset() { h.clear(); c.clear(); }
  };

  LanguageModel(const TrainConfig& config, int64_t vocab_size);

  int64_t vocab_size() const { return embedding_.vocab_size(); }

  std::vector<Parameter<float>> parameters();
  /// "head" (group 0), then "layer L-1" ... "layer 0", then "embedding": the order in
  /// which train_batch finishes them (TrainingTask::gradient_groups).
  std::vector<GradientGroup> gradient_groups() const;
  /// The function train_batch calls with each group of gradient_groups() once it is final.
  void set_gradients_final(GradientsFinal hook) { gradients_final_ = std::move(hook); }
  void parameters_changed();
  /// Collective: the stack runs as a layer pipeline over the ranks of `world`
  /// (RecurrentStack::use_pipeline); everything else alike on every rank.
  void use_pipeline(dist::World& world) { rnn_.use_pipeline(world, weights_); }

  /// Forward and backward of one segment: inputs and targets [T, N] (ids in [0, V)).
  /// Gradients of every parameter are overwritten; `state` is read as the initial state
  /// and replaced by the final one (detached: no gradient flows into the previous
  /// segment). `key` is the batch key (run_seeds.h). Returns the mean cross-entropy
  /// (weight = T*N tokens). The gradients are those of grad_share times that mean (a
  /// shard of N of a batch's M columns passes N / M: the gradient of its summed loss over
  /// the batch's tokens).
  LossValue train_batch(int64_t steps, int64_t batch, std::span<const int64_t> inputs,
                        std::span<const int64_t> targets, State& state, uint64_t key,
                        double grad_share = 1.0);

  /// Evaluation of one segment: the summed negative log-likelihood of the targets.
  double eval_batch(int64_t steps, int64_t batch, std::span<const int64_t> inputs,
                    std::span<const int64_t> targets, State& state) const;

 private:
  ModelSpec spec_;
  double dropout_;
  Embedding embedding_;
  Embedding embedding_grad_;
  Weights weights_;
  Weights weight_grads_;
  RecurrentStack rnn_;
  GradientsFinal gradients_final_;
  Linear head_;
  Linear head_grad_;

  /// Runs body(t0, t1) over [begin, end) in chunks of at most kChunkSteps steps: on this
  /// thread alone inside a task of the forward graph, else on the OpenMP threads.
  void for_each_chunk(int64_t begin, int64_t end, const std::function<void(int64_t, int64_t)>& body) const;
  /// logits [R, V] of rows x [R, H] (R = rows), bias included.
  void head_logits(const float* x, int64_t rows, float* logits) const;

  // The head's weight W [V, H] packed as B = W^T [H, V] (logits = x W^T + b) and as
  // B = W [V, H] (grad_x = grad_logits W); remade by parameters_changed.
  kernels::PackedMatrix<float> head_for_logits_;
  kernels::PackedMatrix<float> head_for_grad_;

  // Buffers of a training batch, reused.
  Workspace workspace_;
  LargeVector<float> embedded_, dropped_embedded_, output_, head_input_, grad_logits_;
  LargeVector<float> grad_output_, grad_dropped_embedded_, grad_embedded_, hn_, cn_;
  std::vector<double> step_loss_;
};

}  // namespace rnnwave::train
