// The adding problem, one counter-based random stream per sample.
#include <array>

#include "common/memory_limits.h"
#include "common/strings.h"
#include "rnnwave/data_adding.h"
#include "rnnwave/random.h"

namespace rnnwave {
namespace {

constexpr std::array<std::string_view, kAddingSplitCount> kSplitNames = {"train", "validation", "test"};

}  // namespace

std::string_view to_string(AddingSplit split) {
  const auto index = static_cast<size_t>(split);
  if (index >= kSplitNames.size()) fail("invalid adding split ", index);
  return kSplitNames[index];
}

SyntheticAdding::SyntheticAdding(AddingOptions options) : options_(options) {
  const int64_t minimum = options.variable_lengths ? 3 : 2;
  if (options.steps < minimum) {
    fail("adding problem: steps must be at least ", minimum,
         options.variable_lengths ? " with variable lengths" : "", ", got ", options.steps);
  }
}

AddingBatch SyntheticAdding::samples(AddingSplit split, int64_t first, int64_t count) const {
  if (first < 0 || count < 1) {
    fail("adding problem: samples [", first, ", ", first, " + ", count, ") of the ",
         to_string(split), " split: need first >= 0 and count >= 1");
  }
  const int64_t steps = options_.steps;
  const int64_t elements = checked_mul(checked_mul(steps, count, "adding batch"), 2, "adding batch");
  check_fits_in_memory(4.0 * static_cast<double>(elements), "adding batch");

  AddingBatch out{Tensor({steps, count, 2}), std::vector<int64_t>(static_cast<size_t>(count)),
                  Tensor({count})};
  float* input = out.input.data();
  const uint64_t split_seed = derive_seed(options_.seed, static_cast<uint64_t>(split));
  const int64_t shortest = (steps + 1) / 2;
  for (int64_t n = 0; n < count; ++n) {
    SplitMix64 rng(derive_seed(split_seed, static_cast<uint64_t>(first + n)));
    const int64_t length = options_.variable_lengths
                               ? shortest + static_cast<int64_t>(rng.below(static_cast<uint64_t>(steps - shortest + 1)))
                               : steps;
    const int64_t half = length / 2;
    const auto p = static_cast<int64_t>(rng.below(static_cast<uint64_t>(half)));
    const int64_t q = half + static_cast<int64_t>(rng.below(static_cast<uint64_t>(length - half)));
    float sum = 0.0f;
    for (int64_t t = 0; t < length; ++t) {
      float* x = input + (t * count + n) * 2;
      x[0] = rng.uniform_float();
      x[1] = (t == p || t == q) ? 1.0f : 0.0f;
      if (t == p) sum += x[0];
      if (t == q) sum += x[0];
    }
    out.lengths[static_cast<size_t>(n)] = length;
    out.target.data()[n] = sum;
  }
  return out;
}

AddingBatch SyntheticAdding::batch(int64_t batch_index, int64_t batch_size) const {
  if (batch_index < 0 || batch_size < 1) {
    fail("adding problem: batch ", batch_index, " of size ", batch_size,
         ": need batch_index >= 0 and batch_size >= 1");
  }
  return samples(AddingSplit::train, checked_mul(batch_index, batch_size, "adding batch start"),
                 batch_size);
}

}  // namespace rnnwave
