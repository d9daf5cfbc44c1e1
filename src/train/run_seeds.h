// The random streams of a training run, each a pure function of (config.seed, epoch, batch),
// so that a run resumed at an epoch boundary draws exactly what an uninterrupted one does.
#pragma once

#include <cstdint>

#include "rnnwave/random.h"

namespace rnnwave::train {

/// Streams of counter_key(seed, stream, counter).
enum RunStream : uint64_t {
  kStreamStack = 1,      ///< initial weights of the recurrent stack
  kStreamHead = 2,       ///< initial weights of the output layer
  kStreamEmbedding = 3,  ///< initial embedding table
  kStreamShuffle = 4,    ///< the order of training examples (epoch_permutation's seed)
  kStreamBatch = 5,      ///< per-batch keys: dropout masks
};

/// The seed of one initialisation.
inline uint64_t init_seed(uint64_t seed, RunStream stream) { return counter_key(seed, stream, 0); }

/// The seed given to epoch_permutation / length_bucketed_batches with the epoch index.
inline uint64_t shuffle_seed(uint64_t seed) { return counter_key(seed, kStreamShuffle, 0); }

/// The key of batch `batch` (0-based) of epoch `epoch` (0-based); every dropout mask of the
/// batch is drawn from it.
inline uint64_t batch_key(uint64_t seed, int64_t epoch, int64_t batch) {
  return counter_key(counter_key(seed, kStreamBatch, static_cast<uint64_t>(epoch)), 0,
                     static_cast<uint64_t>(batch));
}

/// The key of shard `shard` of a batch cut into several (TrainConfig::shards > 1): every
/// dropout mask of the shard is drawn from it, whichever process computes the shard.
/// (One shard uses batch_key itself: the run of a whole batch at once.)
inline uint64_t shard_key(uint64_t seed, int64_t epoch, int64_t batch, int64_t shard) {
  return counter_key(batch_key(seed, epoch, batch), 1, static_cast<uint64_t>(shard));
}

/// Dropout sites under one batch key: Dropout(p, key, site) / ForwardArgs::dropout_seed.
enum DropoutSite : uint64_t {
  kDropEmbedding = 1,  ///< language model: embedding -> stack
  kDropStack = 2,      ///< between the layers of the stack (ForwardArgs::dropout_seed)
  kDropHead = 3,       ///< stack (or pooled vector) -> output layer
};

/// ForwardArgs::dropout_seed of a batch.
inline uint64_t stack_dropout_seed(uint64_t key) { return counter_key(key, kDropStack, 0); }

}  // namespace rnnwave::train
