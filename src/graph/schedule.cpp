// The table of schedules. Adding a schedule adds one file and one row here.
#include "graph/schedule.h"

#include <omp.h>

#include <array>

#include "common/strings.h"

namespace rnnwave {
namespace {

template <class T>
constexpr bool table_in_enum_order(const std::array<ScheduleOps<T>, kScheduleCount>& table) {
  for (size_t i = 0; i < table.size(); ++i) {
    if (static_cast<size_t>(table[i].schedule) != i) return false;
  }
  return true;
}

template <class T>
constexpr std::array<ScheduleOps<T>, kScheduleCount> kSchedules = {{
    {Schedule::sequential, &sequential_forward<T>, &sequential_backward<T>},
    {Schedule::layerwise, &layerwise_forward<T>, &layerwise_backward<T>},
    {Schedule::wavefront, &wavefront_forward<T>, &wavefront_backward<T>},
}};

static_assert(table_in_enum_order(kSchedules<float>), "kSchedules must follow the enum order");

template <class T>
const ScheduleOps<T>& schedule_ops(Schedule schedule) {
  const auto index = static_cast<size_t>(schedule);
  if (index >= kSchedules<T>.size()) fail("invalid schedule ", index);
  return kSchedules<T>[index];
}

}  // namespace

int resolve_threads(const ExecOptions& options) {
  // Far more threads than cores only adds contention; a typo like 10000 should not
  // start ten thousand threads.
  constexpr int kMaxThreads = 1024;
  if (options.threads < 0 || options.threads > kMaxThreads) {
    fail("threads must be in [0, ", kMaxThreads, "] (0 = all cores), got ", options.threads);
  }
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
