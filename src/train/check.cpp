#include "train/check.h"

#include <cmath>

#include "common/memory_limits.h"
#include "common/strings.h"
#include "rnnwave/tensor.h"

namespace rnnwave::train {

void check_stack_training_fits(const ModelSpec& spec) {
  const double parameters = static_cast<double>(spec.parameter_count());
  check_fits_in_memory(4.0 * 5.0 * parameters,
                       cat("training ", describe(spec), " (", spec.parameter_count(),
                           " parameters: values, gradients, a packed copy and optimizer state)"));
}

void expect_size(std::string_view what, size_t actual, const std::vector<int64_t>& shape) {
  const int64_t expected = shape_elements(shape);
  if (static_cast<uint64_t>(expected) != actual) {
    fail(what, ": expected ", shape_to_string(shape), " (", expected, " elements), got ", actual,
         " elements");
  }
}

void expect_at_least(std::string_view what, int64_t value, int64_t minimum) {
  if (value < minimum) fail(what, " must be >= ", minimum, ", got ", value);
}

void expect_ids_below(std::string_view what, std::span<const int64_t> ids, int64_t limit) {
  for (size_t m = 0; m < ids.size(); ++m) {
    if (ids[m] < 0 || ids[m] >= limit) {
      fail(what, "[", m, "] = ", ids[m], " is outside [0, ", limit, ")");
    }
  }
}

template <class T>
double checked_weight_sum(std::string_view what, std::span<const T> weights) {
  double sum = 0;
  for (size_t m = 0; m < weights.size(); ++m) {
    const T w = weights[m];
    if (!std::isfinite(w) || w < T(0)) {
      fail(what, "[", m, "] = ", w, ": row weights must be finite and >= 0");
    }
    sum += static_cast<double>(w);
  }
  return sum;
}

template double checked_weight_sum<float>(std::string_view, std::span<const float>);
template double checked_weight_sum<double>(std::string_view, std::span<const double>);

}  // namespace rnnwave::train
