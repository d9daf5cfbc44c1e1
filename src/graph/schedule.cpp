// The table of schedules. Adding a schedule adds one file and one row here.
#include "graph/schedule.h"

#include <omp.h>

#include <array>

#include "common/strings.h"

namespace rnnwave {
namespace {

template <class T>
constexpr std::array<ScheduleOps<T>, kScheduleCount> kSchedules = {{
    {Schedule::sequential, &sequential_forward<T>, &sequential_backward<T>},
    {Schedule::layerwise, nullptr, nullptr},
    {Schedule::wavefront, &wavefront_forward<T>, &wavefront_backward<T>},
}};

template <class T>
const ScheduleOps<T>& schedule_ops(Schedule schedule) {
  const auto index = static_cast<size_t>(schedule);
  if (index >= kSchedules<T>.size()) fail("invalid schedule ", index);
  const ScheduleOps<T>& ops = kSchedules<T>[index];
  if (ops.forward == nullptr) fail("schedule '", to_string(schedule), "' is not available yet");
  return ops;
}

}  // namespace

int resolve_threads(const ExecOptions& options) {
  if (options.threads < 0) fail("threads must be >= 0 (0 = all cores), got ", options.threads);
  return options.threads == 0 ? omp_get_num_procs() : options.threads;
}

template <class T>
void run_forward(Pass<T>& pass, const ExecOptions& options) {
  schedule_ops<T>(options.schedule).forward(pass, options);
}

template <class T>
void run_backward(Pass<T>& pass, const ExecOptions& options) {
  schedule_ops<T>(options.schedule).backward(pass, options);
}

template void run_forward<float>(Pass<float>&, const ExecOptions&);
template void run_forward<double>(Pass<double>&, const ExecOptions&);
template void run_backward<float>(Pass<float>&, const ExecOptions&);
template void run_backward<double>(Pass<double>&, const ExecOptions&);

}  // namespace rnnwave
