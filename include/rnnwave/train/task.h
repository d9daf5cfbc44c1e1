// rnnwave/train/task.h — what the Trainer trains: a task's data, its model's parameters,
// one training batch's forward and backward, its metrics, and the state a checkpoint keeps.
//
// The three built-in tasks (synthetic, digits, wikitext2) implement this interface; a
// program trains its own model by implementing it too and handing the Trainer a
// TaskFactory (trainer.h). examples/train_custom_task.cpp is a complete example.
//
// The Trainer owns the loop around a task: batches in order, clipping, the optimizer step,
// the learning-rate schedule, validation, divergence checks, shards, checkpoints and
// resume. A task owns everything that depends on what it learns: data, batches, the model,
// the loss and its gradient, and scoring.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rnnwave/tensor.h"
#include "rnnwave/train/params.h"

namespace rnnwave {

enum class EvalSplit { validation, test };

/// A task's score of a split. loss is the task's (the quantity it minimises, averaged over
/// the items scored); accuracy and perplexity are NaN where the task has none.
struct EvalResult {
  double loss = 0;
  double accuracy = 0;    ///< NaN for wikitext2
  double perplexity = 0;  ///< NaN unless wikitext2
  int64_t items = 0;      ///< sequences or tokens scored
};

/// What part of a split scored (TrainingTask::evaluate_part): sums, so that the parts of a
/// split add up to the whole.
struct EvalSums {
  double loss = 0;     ///< the task's loss summed over the part's items
  double correct = 0;  ///< items scored correct; NaN for a task without accuracy
  int64_t items = 0;   ///< sequences or tokens scored; 0 for an empty part
  bool perplexity = false;  ///< the loss is a negative log-likelihood per item: report exp(mean)
};

/// The score of the summed parts of a split: loss and accuracy as means over the items,
/// perplexity exp(mean loss) where `sums.perplexity`, else NaN. NaN means for no items.
EvalResult eval_result(const EvalSums& sums);

/// Throws Error naming both unless parts >= 1 and 0 <= part < parts.
void check_eval_part(int64_t part, int64_t parts);

/// Part `part` of `parts` of a split of `count` batches: the batches part, part + parts,
/// part + 2 parts, ... (interleaved, so that parts of a split sorted by length cost
/// about the same), walked as `for (b = first; b < end; b += stride)`. A function of the
/// three alone; throws Error as check_eval_part.
struct StridedRange {
  int64_t first = 0, stride = 1, end = 0;
};
StridedRange eval_batches(int64_t count, int64_t part, int64_t parts);

/// What a training batch did; the gradients are left in the parameters' grad buffers.
struct BatchLoss {
  double mean = 0;    ///< the loss minimised (mean over the batch's items)
  int64_t items = 0;  ///< sequences (or tokens) in the batch, for throughput
};

/// What one shard of a training batch did (TrainConfig::shards); the gradient of
/// total / (the batch's item count) is left in the grad buffers, so that the shards'
/// gradients add up to the gradient of the batch's mean loss.
struct ShardLoss {
  double total = 0;   ///< the shard's summed loss
  int64_t items = 0;  ///< sequences (or tokens) in the shard; 0 for an empty shard
};

/// Rows [begin, end) of shard `shard` of `shards` of a batch of `rows` rows:
/// [shard rows / shards, (shard + 1) rows / shards), a function of the three alone.
struct RowRange {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};
RowRange shard_rows(int64_t rows, int64_t shard, int64_t shards);

/// Parameters whose gradients become final at one moment of a shard's backward (a
/// recurrent layer's, the head's, the embedding's): with several ranks the Trainer
/// combines each group as a bucket of its own (TrainingTask::gradient_groups).
struct GradientGroup {
  std::string name;                     ///< for messages and traces: "layer 1", "head"
  std::vector<std::string> parameters;  ///< names from TrainingTask::parameters()
};

/// What a task calls when the gradients of group `group` (an index into its
/// gradient_groups()) are final (TrainingTask::set_gradients_final).
using GradientsFinal = std::function<void(int64_t group)>;

/// Sets every gradient buffer of `params` to zero (the gradient of an empty shard).
void zero_gradients(std::span<const Parameter<float>> params);

/// What a checkpoint keeps of a task besides its parameters, by key (stored as
/// "task/<key>", float64): what the model's sizes depend on (a vocabulary size), what
/// prediction needs without the data set (feature statistics). At most 1 MiB per entry.
using TaskState = std::map<std::string, BasicTensor<double>>;

/// A task: data, model, loss and metrics. The Trainer calls, in this order: parameters()
/// once (after the factory made the task), then per epoch load_data(), begin_epoch(e) and
/// train_batch(b) (or train_shard) for b in [0, batches), each followed by the optimizer's
/// update of the parameter values and parameters_changed(); then load_data() and
/// evaluate(validation). Calls come from one thread; the task may run OpenMP inside.
///
/// Every result must be a function of the task's own settings and (epoch, batch): no
/// hidden generator state carried from call to call. That is what makes a run resumed from
/// a checkpoint end bit for bit as an uninterrupted one (draw shuffles and dropout masks
/// from counter-based functions of (seed, epoch, batch), as the built-in tasks do).
class TrainingTask {
 public:
  virtual ~TrainingTask() = default;

  /// Every parameter of the model, in a fixed order, with unique non-empty names (the
  /// checkpoint's "param/<name>" and the optimizer's state are keyed by them), each shape's
  /// product equal to value.size() and grad.size(). The views must stay valid, over the
  /// same memory, for the task's whole life: the Trainer asks once and keeps the list.
  /// The Trainer checks the list and throws Error naming the first bad parameter.
  virtual std::vector<Parameter<float>> parameters() = 0;

  /// Called after the Trainer changed parameter values (an optimizer step, a checkpoint
  /// loaded), for a model that keeps a derived copy (the recurrent stack packs its
  /// weights: Rnn::set_weights). Does nothing by default.
  virtual void parameters_changed() {}

  /// Loads the data set if it is not loaded yet; called before every epoch and every
  /// evaluation, so it must return at once when the data is there. A task restored from
  /// a checkpoint (factory given saved state) reads its data only here, so that what
  /// needs no data (export_parameters, a prediction) works without it. Throws Error for
  /// missing or corrupt data. Does nothing by default.
  virtual void load_data() {}

  /// Prepares epoch `epoch` (0-based) of training (its shuffle); returns its number of
  /// batches, at least 1.
  virtual int64_t begin_epoch(int64_t epoch) = 0;

  /// Forward and backward of batch `batch` (0-based, in [0, batches)) of the epoch begun
  /// last: the gradient of the batch's mean loss, overwriting every grad buffer (a
  /// parameter the batch does not touch gets zeros). Returns the mean loss and the item
  /// count. A non-finite loss ends training as diverged.
  virtual BatchLoss train_batch(int64_t batch) = 0;

  /// Forward and backward of shard `shard` of `shards` (> 1) of batch `batch`: the rows
  /// shard_rows(batch's rows, shard, shards), each shard's gradient being that of its
  /// summed loss divided by the whole batch's item count (grad buffers overwritten; zeros
  /// for an empty shard). Shards of one batch may be computed in any order, each once, and
  /// between two shards the Trainer copies the grad buffers away. Called only when
  /// TrainConfig::shards > 1. By default it throws Error: a task that does not implement
  /// it trains with shards = 1 only.
  virtual ShardLoss train_shard(int64_t batch, int64_t shard, int64_t shards);

  /// The parameters cut into groups whose gradients become final together during
  /// train_shard, in the order they do (the built-in tasks: the head's first, then each
  /// recurrent layer from the top, then the embedding), each parameter in exactly one
  /// group; the Trainer checks that and throws Error naming the first bad entry. Under
  /// mpirun the Trainer combines each group as a bucket of its own, starting it when the
  /// task announces it (set_gradients_final), so the combination overlaps the rest of the
  /// backward. {} (the default): one group of every parameter, combined after
  /// train_shard. Asked once, when the Trainer is distributed.
  virtual std::vector<GradientGroup> gradient_groups() { return {}; }

  /// Sets the function that train_shard calls, once the gradients of group g of
  /// gradient_groups() are final in the grad buffers, with g: at most once per group and
  /// shard, one call at a time, from any thread (e.g. the engine's, through
  /// BackwardArgs::on_layer_grads_final); after the call the task must not write that
  /// group's grad buffers again in this train_shard. The Trainer sets it around the last
  /// shard a rank computes of each batch and clears it (an empty function) afterwards;
  /// groups never announced are taken after train_shard returns, so a task may ignore it
  /// (the default) and lose only the overlap. An exception it throws must end
  /// train_shard.
  virtual void set_gradients_final(GradientsFinal hook) { (void)hook; }

  /// Scores a split with training off (no dropout); gradients are left as they are.
  virtual EvalResult evaluate(EvalSplit split) = 0;

  /// Scores part `part` of `parts` (>= 1) of a split, for an evaluation divided over the
  /// ranks of a data-parallel run (parts = TrainConfig::shards): the parts of a split may
  /// be scored in any order, on any rank, each once, and their sums, added by the shard
  /// tree, are the split's score. The parts must be a function of (split, part, parts)
  /// alone, and eval_result(evaluate_part(split, 0, 1)) should equal evaluate(split). By
  /// default returns nullopt: the task is scored whole, by evaluate(), on every rank.
  virtual std::optional<EvalSums> evaluate_part(EvalSplit split, int64_t part, int64_t parts);

  /// What a checkpoint keeps besides the parameters (TaskState); {} by default. The
  /// factory gets it back when a run is resumed.
  virtual TaskState task_state() const { return {}; }

  /// What loading the data left out, to tell the user, or "" (the default).
  virtual std::string data_notes() const { return ""; }
};

}  // namespace rnnwave
