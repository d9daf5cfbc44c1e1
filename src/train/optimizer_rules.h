// The update rule of each optimizer kind, one file each (sgd.cpp, adam.cpp), and the
// table that names them. A new kind is one file and one row.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "rnnwave/train/optimizer.h"

namespace rnnwave::train {

/// What every parameter of one step shares.
struct StepScalars {
  double learning_rate = 0;
  int64_t step = 0;  ///< this step's number, counting from 1
};

/// Updates elements [begin, end) of one parameter in place: value, grad and each buffer
/// (in the order of the kind's buffer names) point at the parameter's first element.
template <class T>
using UpdateRule = void (*)(const OptimizerOptions& options, const StepScalars& scalars, T* value,
                            const T* grad, std::span<T* const> buffers, int64_t begin,
                            int64_t end);

template <class T>
void sgd_update(const OptimizerOptions&, const StepScalars&, T*, const T*, std::span<T* const>,
                int64_t, int64_t);
template <class T>
void adam_update(const OptimizerOptions&, const StepScalars&, T*, const T*, std::span<T* const>,
                 int64_t, int64_t);

/// Per-parameter buffers of each kind (sgd keeps none without momentum).
std::vector<std::string_view> sgd_buffers(const OptimizerOptions& options);
std::vector<std::string_view> adam_buffers(const OptimizerOptions& options);

struct OptimizerRule {
  OptimizerKind kind;
  std::string_view name;
  std::vector<std::string_view> (*buffers)(const OptimizerOptions&);
  UpdateRule<float> update_float;
  UpdateRule<double> update_double;
};

inline constexpr std::array<OptimizerRule, kOptimizerKindCount> kOptimizerRules = {{
    {OptimizerKind::sgd, "sgd", sgd_buffers, sgd_update<float>, sgd_update<double>},
    {OptimizerKind::adam, "adam", adam_buffers, adam_update<float>, adam_update<double>},
}};

/// The row of `kind`.
const OptimizerRule& optimizer_rule(OptimizerKind kind);

}  // namespace rnnwave::train
