// `rnnwave train --export-data FILE.npz`: the data a run trains and validates on, in the
// order it sees it, so that another framework (bench/train/pytorch_train.py) can train the
// same model on exactly the same batches.
//
// The arrays (every one int64 or float32):
//   task                      [1] int64: 0 synthetic, 1 digits, 2 wikitext2
//   synthetic and digits, for each split S in train, valid, test:
//     S_features              [sum of lengths, F] float32: the sequences one after another
//                             (synthetic: F = 2, value and marker channels; digits: the
//                             normalised log-mel features)
//     S_lengths               [count] int64: steps of each sequence
//     S_targets               [count] float32 (synthetic: the sum) or int64 (digits: 0-9)
//   and for each epoch e = 1 .. epochs:
//     epoch{e}_order          [train count] int64: training sequences in the order seen
//     epoch{e}_batch_sizes    [batches] int64: batch b is the next batch_sizes[b] of them
//   wikitext2:
//     train_ids, valid_ids, test_ids   [tokens] int64: the token streams (after --max-train
//                                      / --max-eval); batches are batchify + get_batch
//                                      (data_bptt.h), in order, every epoch
//     vocab_size              [1] int64
// These mirror the Trainer's task code (src/train/*_task.cpp): the same data subsets, the
// same shuffles (epoch_permutation / length_bucketed_batches under the run's shuffle seed).
#pragma once

#include <string>

#include "rnnwave/train/trainer.h"

namespace rnnwave::tools {

/// Writes the data of a run with `config` (validated) to `path` (.npz, atomically).
/// Throws Error for missing or corrupt data.
void export_training_data(const TrainConfig& config, const std::string& path);

}  // namespace rnnwave::tools
