// rnnwave/data_adding.h — the adding problem (Hochreiter & Schmidhuber 1997): a synthetic
// regression task that needs no data and tests memory over T steps.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "rnnwave/tensor.h"

namespace rnnwave {

/// The three independent streams of samples under one seed.
enum class AddingSplit { train, validation, test };
inline constexpr int kAddingSplitCount = 3;
inline constexpr std::array<AddingSplit, kAddingSplitCount> kAllAddingSplits = {
    AddingSplit::train, AddingSplit::validation, AddingSplit::test};
/// "train", "validation", "test".
std::string_view to_string(AddingSplit split);

struct AddingOptions {
  int64_t steps = 100;            ///< T, >= 2 (>= 3 with variable lengths)
  bool variable_lengths = false;  ///< lengths uniform in [ceil(T/2), T], else all T
  uint64_t seed = 0;
};

/// N sequences of the adding problem, padded to T steps.
struct AddingBatch {
  Tensor input;                  ///< [T, N, 2]: channel 0 the values, channel 1 the markers; 0 past each length
  std::vector<int64_t> lengths;  ///< [N], in [1, T]
  Tensor target;                 ///< [N]: the sum of the two marked values
};

/// Sample i of a split is a function of (seed, split, i) only, so a batch holds the same
/// sequences whatever the batch size, thread count or order of calls. Sample i draws from
/// SplitMix64(derive_seed(derive_seed(seed, split index 0/1/2), i)), in this order:
///   - with variable lengths, its length len = ceil(T/2) + below(T - ceil(T/2) + 1), else T;
///   - the first marker p = below(len / 2) and the second q = len/2 + below(len - len/2)
///     (one in each half of its own length, integer division);
///   - values x[t] = uniform_float() for t = 0 .. len-1 (uniform in [0, 1)).
/// The marker channel is 1 at p and q and 0 elsewhere; the target is x[p] + x[q] (float).
class SyntheticAdding {
 public:
  /// Throws Error for a T out of range.
  explicit SyntheticAdding(AddingOptions options);

  const AddingOptions& options() const { return options_; }

  /// Samples [first, first + count) of `split`. Throws Error if first < 0 or count < 1, or
  /// if the batch would not fit in memory.
  AddingBatch samples(AddingSplit split, int64_t first, int64_t count) const;

  /// Training batch b of size N: training samples [b*N, (b+1)*N).
  AddingBatch batch(int64_t batch_index, int64_t batch_size) const;

  /// The fixed validation / test sets: samples [0, count) of those splits.
  AddingBatch validation_set(int64_t count) const { return samples(AddingSplit::validation, 0, count); }
  AddingBatch test_set(int64_t count) const { return samples(AddingSplit::test, 0, count); }

 private:
  AddingOptions options_;
};

}  // namespace rnnwave
