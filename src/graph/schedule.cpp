// The table of schedules. Adding a schedule adds one file and one row here.
#include "graph/schedule.h"

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

template <class T>
void run_forward(Pass<T>& pass, Trace* trace) {
  schedule_ops<T>(pass.desc().plan.schedule).forward(pass, trace);
}

template <class T>
void run_backward(Pass<T>& pass, Trace* trace) {
  schedule_ops<T>(pass.desc().plan.schedule).backward(pass, trace);
}

template void run_forward<float>(Pass<float>&, Trace*);
template void run_forward<double>(Pass<double>&, Trace*);
template void run_backward<float>(Pass<float>&, Trace*);
template void run_backward<double>(Pass<double>&, Trace*);

}  // namespace rnnwave
