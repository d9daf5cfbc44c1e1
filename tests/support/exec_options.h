// The schedules and thread counts every correctness test runs with.
#pragma once

#include <string>
#include <vector>

#include "rnnwave/schedule.h"

namespace rnnwave::testing {

/// Every available schedule at several thread counts (1, 2 and, where it differs, the
/// number of cores and an oversubscribed count).
std::vector<ExecOptions> tested_exec_options();

/// "wavefront_2threads" — for test names.
std::string exec_name(const ExecOptions& options);

}  // namespace rnnwave::testing
