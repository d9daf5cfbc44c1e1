// Argument checks shared by the training layers: one-line Errors with the values.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "rnnwave/model.h"

namespace rnnwave::train {

/// Throws Error "<what>: expected [3, 4] (12 elements), got 10 elements" unless `actual`
/// is the number of elements of `shape` (whose dimensions must be >= 0).
void expect_size(std::string_view what, size_t actual, const std::vector<int64_t>& shape);

/// Throws Error unless training the recurrent stack `spec` can fit in the memory still
/// available (MemAvailable, the cgroup's limit): its parameters five times over (values,
/// gradients, the kernels' packed copy and two optimizer buffers), checked before any of
/// them is allocated.
void check_stack_training_fits(const ModelSpec& spec);

/// Throws Error "<what> must be >= <minimum>, got <value>".
void expect_at_least(std::string_view what, int64_t value, int64_t minimum);

/// Throws Error naming the first position whose id is outside [0, limit):
/// "<what>[7] = 12 is outside [0, 10)".
void expect_ids_below(std::string_view what, std::span<const int64_t> ids, int64_t limit);

/// Throws Error unless every weight is finite and >= 0 (naming the first that is not).
/// Returns their sum in double, in order.
template <class T>
double checked_weight_sum(std::string_view what, std::span<const T> weights);

}  // namespace rnnwave::train
