// rnnwave/train/trainer.h — training runs: a task (data, model, loss), an optimizer with a
// learning-rate schedule, epochs with validation, and checkpoints that resume bit-exactly.
//
// The task is one of the three built in (TrainConfig::task, below) or the program's own: a
// TrainingTask (task.h) made by a TaskFactory, trained with the same loop, checkpoints,
// resume and progress (examples/train_custom_task.cpp).
//
// The built-in tasks:
//   synthetic: the adding problem (data_adding.h): a recurrent stack, the last valid
//              state (or the mean, per `pooling`), a linear regressor, mean squared error.
//              Needs no data files. The data set is the same for every seed (samples of
//              SyntheticAdding with seed 0, all of length synthetic_steps): training samples
//              [0, synthetic_train), validation and test samples [0, synthetic_eval) of their
//              own streams. A prediction within 0.04 of the target counts as correct.
//   digits:    FSDD spoken digits (data_fsdd.h): 40 log-mel features per 10 ms frame,
//              normalised with the statistics of FSDD's training split, variable-length
//              batches of similar lengths (length_bucketed_batches, no padding computed past
//              each sequence's end), a recurrent stack (usually bidirectional), pooling
//              (last or mean), dropout, a linear classifier over 10 digits, softmax
//              cross-entropy. Validation is a fixed part of the training split, the same for
//              every seed: every 10th recording of its byte-sorted file list (positions 0, 10,
//              20, ...: 270 recordings), the other 2,430 train; the test split (takes 0-4,
//              300 recordings) is for `evaluate(test)` only.
//   wikitext2: word-level language modelling (data_wikitext.h), as pytorch/examples'
//              word_language_model: embedding, dropout, a recurrent stack (dropout between
//              layers), dropout, a linear head over the vocabulary, softmax cross-entropy per
//              step; truncated backpropagation through time over segments of `bptt` steps of
//              the training stream in `batch_size` columns, the hidden state carried from one
//              segment to the next (detached) and reset at the start of each epoch.
//              Validation and test streams in 10 columns, scored likewise.
//              Perplexity = exp(summed negative log-likelihood / tokens scored).
//              The head's forward, loss and gradient run inside the stack's forward graph
//              (ForwardArgs::on_output_block), overlapping the recurrence.
// max_train / max_eval cut the sets for quick runs: the first tokens of a wikitext2 stream;
// for digits, that many recordings evenly spread over the list (independent of the seed);
// for synthetic, the first samples.
//
// Every run is a function of its TrainConfig: the same config gives the same numbers at any
// thread count, schedule or step block, and a run resumed from an epoch's checkpoint ends
// exactly as an uninterrupted one. Random draws (initial weights, shuffles, dropout masks)
// are counter-based functions of (seed, epoch, batch), never of a generator's history.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rnnwave/cell.h"
#include "rnnwave/error.h"
#include "rnnwave/schedule.h"
#include "rnnwave/train/lr_schedule.h"
#include "rnnwave/train/optimizer.h"
#include "rnnwave/train/sequence_pool.h"
#include "rnnwave/train/task.h"

namespace rnnwave {

namespace dist {
class World;
}

/// The built-in tasks.
enum class TrainTask { synthetic, digits, wikitext2 };

inline constexpr int kTrainTaskCount = 3;
inline constexpr std::array<TrainTask, kTrainTaskCount> kAllTrainTasks = {
    TrainTask::synthetic, TrainTask::digits, TrainTask::wikitext2};

std::string_view to_string(TrainTask task);
/// Inverse of to_string; throws Error listing the valid names.
TrainTask parse_train_task(std::string_view name);

/// Everything that defines a run. Start from defaults_for(task) and change what you need.
struct TrainConfig {
  /// The built-in task. Not used by a run of a TaskFactory's task (which stores the
  /// factory's name instead; its config() has the default here).
  TrainTask task = TrainTask::synthetic;
  /// The folder holding the data sets (fsdd/, wikitext-2/); "" = default_data_dir().
  std::string data_dir;

  // The recurrent stack.
  CellKind cell = CellKind::lstm;
  int64_t hidden_size = 128;   ///< H per direction
  int64_t layers = 2;          ///< L
  bool bidirectional = false;  ///< D = 2 if set (not for wikitext2)
  int64_t embedding_size = 0;  ///< wikitext2: 0 = hidden_size
  Pooling pooling = Pooling::last;  ///< digits, synthetic
  double dropout = 0;          ///< on non-recurrent connections, in [0, 1)

  // Optimisation.
  OptimizerOptions optimizer;  ///< its learning_rate is the schedule's initial rate
  LrScheduleOptions lr_schedule;  ///< `initial` is overwritten by optimizer.learning_rate
  double clip_norm = 0;        ///< global gradient-norm clipping; 0 = none
  int64_t batch_size = 32;     ///< sequences per batch (also per evaluation batch, but
                               ///< wikitext2 evaluates in 10 columns)
  int64_t bptt = 35;           ///< wikitext2: steps per truncated-BPTT batch
  int64_t epochs = 10;         ///< the length of a full run (train_epoch runs one at a time)
  uint64_t seed = 1;           ///< initial weights, shuffles, dropout masks
  /// S, in [1, batch_size]: each batch is cut by row into S fixed contiguous shards
  /// (shard s holds rows [s n / S, (s+1) n / S) of a batch of n rows; wikitext2: columns),
  /// and its gradient is the sum of the S shard gradients by the shard tree
  /// (rnnwave/dist/shard_tree.h), each shard's gradient being that of its summed loss over
  /// the batch's item count. 1 = the whole batch at once (no tree). Part of the run's
  /// identity: a run with S shards gives the same bits in one process and on any number of
  /// MPI ranks dividing S (Trainer::distribute), but other bits than with another S.
  /// Dropout masks are drawn per shard from (seed, epoch, batch, shard). Evaluation is
  /// cut into S parts alike (TrainingTask::evaluate_part), its sums added by the tree.
  int64_t shards = 1;

  // Subsets, for quick runs and tests: 0 = everything.
  int64_t max_train = 0;       ///< training sequences (digits, synthetic) or tokens (wikitext2)
  int64_t max_eval = 0;        ///< validation/test sequences or tokens

  // The synthetic task.
  int64_t synthetic_steps = 50;     ///< T of each sequence
  int64_t synthetic_train = 2000;   ///< training sequences
  int64_t synthetic_eval = 500;     ///< validation and test sequences, each

  /// digits: leave out the recordings that cannot be used (too short, corrupt, misnamed,
  /// of another format) instead of refusing the data set; data_notes() names them.
  bool skip_bad_recordings = false;

  /// How the recurrent stack runs (schedule, threads); the other layers use the same
  /// thread count. Not part of the run's identity: results do not depend on it.
  ExecOptions exec;

  /// Throws Error naming the first out-of-range field and its value.
  void validate() const;
};

/// Sensible defaults per task:
///   synthetic: 1 x 64 LSTM, pooling last, Adam 1e-2, clip 1, batch 32, 10 epochs;
///   digits:    bidirectional 2 x 128 LSTM, pooling mean, dropout 0.2, Adam 1e-3, clip 5,
///              batch 32, 15 epochs;
///   wikitext2: 2 x 650 LSTM, embedding 650, dropout 0.5, SGD lr 20 divided by 4 whenever the
///              validation loss does not improve (plateau, factor 0.25, patience 0), clip
///              0.25, batch 20, bptt 35, 40 epochs.
/// All: seed 1, constant schedule unless said, wavefront schedule on every core.
TrainConfig defaults_for(TrainTask task);

/// The fields of a config that define a run, as JSON text (the form checkpoints store):
/// {"task": "digits", "cell": "lstm", ..., "optimizer": {...}, "lr_schedule": {...}}.
/// The ExecOptions are left out: they do not change results.
std::string to_json(const TrainConfig& config);

/// Where the data sets are looked for: $RNNWAVE_DATA_DIR if set and not empty; else, in
/// the programs of rnnwave's build tree (build/rnnwave, the tests, the Python module), the
/// data folder beside the source tree; else "data" in the working directory (an installed
/// library and the installed tool hold no path of the machine they were built on).
std::string default_data_dir();

/// What one epoch did. Losses are the task's: mean squared error (synthetic), mean
/// cross-entropy per recording (digits) or per token (wikitext2, natural log). Accuracy is
/// for digits and synthetic (synthetic: predictions within 0.04 of the target), perplexity
/// for wikitext2; the other is NaN.
struct EpochMetrics {
  int64_t epoch = 0;              ///< 1-based
  double train_loss = 0;          ///< mean over the epoch's batches of each batch's mean loss
  double valid_loss = 0;          ///< mean over the validation items (dropout off)
  double valid_accuracy = 0;
  double valid_perplexity = 0;
  double learning_rate = 0;       ///< the rate used during the epoch
  double train_seconds = 0;       ///< wall time of the training part (not validation)
  double items_per_second = 0;    ///< sequences/s, or tokens/s for wikitext2
};

/// How the combination of the gradients over the ranks overlapped the backward pass,
/// summed over the batches of an epoch (Trainer::communication). Per batch, `combining` is
/// the time during which at least one gradient bucket was being combined (from its start,
/// as the task finished its group, to its completion on the progress thread) and
/// `waiting` the time the trainer then blocked until all were complete: the exposed part.
/// The rest was hidden behind the backward pass of the layers below. `waiting` also counts
/// the time the trainer's thread takes to wake after the last completion, so on a busy
/// machine it can exceed `combining` (nothing hidden). Zeros when the run is not
/// distributed.
struct CommunicationStats {
  double combining_seconds = 0;
  double waiting_seconds = 0;
  int64_t batches = 0;
  /// (combining - waiting) / combining, in [0, 1]; 0 when nothing was combined.
  double hidden_share() const {
    if (combining_seconds <= 0) return 0;
    const double hidden = (combining_seconds - waiting_seconds) / combining_seconds;
    return hidden < 0 ? 0 : hidden;
  }
};

/// Reported after every batch, for progress bars.
struct TrainProgress {
  int64_t epoch = 0;          ///< 1-based
  int64_t batch = 0;          ///< 1-based, within the epoch
  int64_t batches = 0;        ///< in the epoch
  double loss = 0;            ///< running mean over the epoch so far
  double items_per_second = 0;
  double seconds = 0;         ///< since the epoch started
};

/// A program's own task for the Trainer (task.h).
///   name  [a-z0-9_]+, at most 32 characters, not the name of a built-in task: stored in
///         checkpoints as the config's "task", and checked on resume;
///   make  makes the task. `saved` null: a fresh run; create the model from the config
///         (its seed) and your own settings, and load the data (or leave that to
///         load_data). `saved` not null: a run restored from a checkpoint; *saved is what
///         task_state() returned when it was written; create a model of the same sizes
///         (the Trainer then loads the parameter values) and leave the data to load_data.
///         Settings of your own that change results belong in the factory (captured) and,
///         if a resume must check them, in task_state.
/// An Error the factory throws reaches the caller prefixed with "task '<name>': "; any
/// other exception becomes such an Error.
struct TaskFactory {
  std::string name;
  std::function<std::unique_ptr<TrainingTask>(const TrainConfig& config, const TaskState* saved)> make;
};

/// A training run. Not copyable; movable.
class Trainer {
 public:
  /// Validates the config, loads the data and creates the model from the seed (PyTorch's
  /// initialisation). Throws Error for a bad config or missing/corrupt data.
  explicit Trainer(const TrainConfig& config);
  /// A run of the program's own task: validates the config (its optimizer, schedule,
  /// clip_norm, batch_size, epochs, shards, seed and exec are the Trainer's; the task may
  /// read any field), makes the task with factory.make(config, nullptr) and checks its
  /// parameters() (unique non-empty names, shapes matching the value and grad sizes).
  /// Throws Error naming the problem.
  Trainer(const TrainConfig& config, TaskFactory factory);
  /// Restores a run from a checkpoint written by save_checkpoint: config, parameters,
  /// optimizer and schedule state, history. `exec` replaces the saved ExecOptions. Throws
  /// Error naming the file and the problem for a missing, truncated or corrupt checkpoint
  /// (the zip CRCs are checked), a missing, extra or mis-shaped entry, or an invalid config.
  /// The data set is not read until train_epoch or evaluate needs it (then it must be the
  /// data the run was trained on), so predict_digit (digits.h) and export_parameters work without it.
  static Trainer from_checkpoint(const std::string& path, const ExecOptions& exec);
  /// The same for a run of the program's own task: the checkpoint's task must be
  /// factory.name (Error otherwise), and factory.make(config, &saved task state) makes it.
  static Trainer from_checkpoint(const std::string& path, const ExecOptions& exec, TaskFactory factory);
  ~Trainer();
  Trainer(Trainer&&) noexcept;
  Trainer& operator=(Trainer&&) noexcept;

  const TrainConfig& config() const;
  /// The task's name: a built-in task's (to_string(config().task)) or the factory's.
  const std::string& task_name() const;
  /// The task being trained (a program's own task: the object its factory made).
  TrainingTask& task();
  const TrainingTask& task() const;
  int64_t epochs_done() const;
  const std::vector<EpochMetrics>& history() const;

  /// Trains one epoch, validates, steps the learning-rate schedule (with the validation
  /// loss) and returns the epoch's metrics (also appended to history()). Each batch: forward,
  /// backward, clip_grad_norm over every parameter (if clip_norm > 0), one optimizer step.
  /// A NaN or infinity in a step (the loss, a gradient, an activation) or in the
  /// validation loss throws Error "training diverged at epoch E, batch B of N (...)",
  /// suggesting a lower learning rate or gradient clipping; the run is then left mid-epoch
  /// (restart it from its last checkpoint).
  EpochMetrics train_epoch(const std::function<void(const TrainProgress&)>& on_progress = {});

  /// Data-parallel training over the ranks of `world` (rnnwave/dist/world.h): rank r
  /// computes shards [r S/K, (r+1) S/K) of every batch (dist::ShardPlan, S =
  /// config().shards, K = world.size()) and the ranks combine the shards' gradients and
  /// loss sums by the shard tree (dist::ShardReducer), so every rank takes the same
  /// optimizer step, with the same bits as one process with S shards. Collective: every
  /// rank calls it, with the same config, before the first train_epoch; the world must
  /// outlive the trainer. Throws Error when K does not divide S. Evaluation is divided
  /// too: rank r scores parts [r S/K, (r+1) S/K) of each split (TrainingTask::
  /// evaluate_part), whose sums the shard tree adds, so every rank gets the same score
  /// as one process with the same S (a task without evaluate_part is scored whole on
  /// every rank). Error after pipeline.
  void distribute(dist::World& world);

  /// Layer-pipelined training over the ranks of `world`: rank r runs the recurrent layers
  /// dist::pipeline_layers(L, K, r) of every pass (dist::PipelineStage), each block of a
  /// boundary layer's output flowing up as soon as it is final and its gradient flowing
  /// down, and every rank receives the stack's results, so that the rest of the model,
  /// the loss, the optimizer step and evaluation run alike on every rank: the same bits
  /// as one process (with the same shards, computed in turn on every rank). Collective:
  /// every rank calls it, with the same config, before the first train_epoch; the world
  /// must outlive the trainer. Built-in tasks only; Error after distribute (one or the
  /// other); CollectiveError when K exceeds the stack's layers.
  void pipeline(dist::World& world);

  /// What distribute does for evaluation alone (no gradient buffers): for a run that is
  /// only scored over the ranks (`rnnwave eval` under mpirun). Collective; Error when K
  /// does not divide S.
  void distribute_evaluation(dist::World& world);

  /// The combination's overlap with the backward pass in the last epoch trained
  /// (CommunicationStats); zeros before distribute. Timing only: never part of a
  /// checkpoint or of history().
  const CommunicationStats& communication() const;

  /// A hash of the data this run trains and validates on in the order it sees it (the
  /// arrays of export_data), as 16 hex digits: ranks of a distributed run compare it at
  /// start. Reads the data set if not yet read. Built-in tasks only (Error otherwise).
  std::string data_order_digest();

  /// Sets the number of epochs the run aims at (config().epochs), which the next
  /// checkpoint keeps: what a resumed run continues to. Throws Error below 1 or below
  /// epochs_done().
  void set_epochs(int64_t epochs);

  /// Reads the data set now if it is not read yet (a restored run reads it on first
  /// need): Error if it is missing, corrupt or not the data of this run. For callers that
  /// must know the data is there before they write anything.
  void load_data();

  /// What loading the data left out, to tell the user ("FSDD: 2 of 3000 recordings ...
  /// cannot be used: ..." with skip_bad_recordings), or "".
  std::string data_notes() const;

  /// Scores the validation or test split with dropout off (the test split of synthetic is
  /// its own stream; of digits, FSDD's test takes; of wikitext2, wiki.test.tokens), in
  /// config().shards parts (divided over the ranks after distribute). Collective after
  /// distribute: every rank calls it.
  EvalResult evaluate(EvalSplit split);

  /// Writes the whole state atomically (a crash mid-write leaves the previous file): one
  /// .npz holding a format version, the config as JSON (uint8 member "config"), every
  /// parameter ("param/<torch name>"), the optimizer's and the schedule's state, the epochs
  /// done and the history, and what the task needs to predict without its data set (digits:
  /// the feature statistics; wikitext2: the vocabulary size). Call it between epochs.
  void save_checkpoint(const std::string& path) const;

  /// The model's parameters as an .npz with PyTorch state_dict names of the equivalent
  /// torch module ("rnn.weight_ih_l0", "head.weight", "embedding.weight", ...).
  void export_parameters(const std::string& path) const;

  /// The data this run trains and validates on, in the order it sees it, as an .npz
  /// written atomically, so that another framework (bench/train/pytorch_train.py) can
  /// train the same model on exactly the same batches. Reads the data set if not yet
  /// read (Error if it is missing or corrupt). Built-in tasks only (Error otherwise).
  /// The arrays, each int64 or float32:
  ///   task                    [1] int64: 0 synthetic, 1 digits, 2 wikitext2
  ///   synthetic and digits, for each split S in train, valid, test:
  ///     S_features            [sum of lengths, F] float32: the sequences one after another
  ///                           (synthetic: F = 2, value and marker; digits: the normalised
  ///                           log-mel features)
  ///     S_lengths             [count] int64: steps of each sequence
  ///     S_targets             [count] float32 (synthetic: the sum) or int64 (digits: 0-9)
  ///   and for each epoch e = 1 .. config().epochs:
  ///     epoch{e}_order        [train count] int64: training sequences in the order seen
  ///     epoch{e}_batch_sizes  [batches] int64: batch b is the next batch_sizes[b] of them
  ///   wikitext2:
  ///     train_ids, valid_ids, test_ids   [tokens] int64: token streams whose batchify
  ///                           (data_bptt.h) is what the run reads, segment after segment,
  ///                           every epoch
  ///     vocab_size            [1] int64
  void export_data(const std::string& path);

  struct Impl;

 private:
  explicit Trainer(std::unique_ptr<Impl> impl);
  static Trainer restore(const std::string& path, const ExecOptions& exec, const TaskFactory* factory);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rnnwave
