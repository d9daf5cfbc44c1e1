// Names of the schedules, indexed by the enum.
#include <array>

#include "common/strings.h"
#include "rnnwave/schedule.h"

namespace rnnwave {
namespace {

constexpr std::array<std::string_view, kScheduleCount> kScheduleNames = {
    "sequential", "layerwise", "wavefront"};
static_assert(static_cast<int>(Schedule::wavefront) == kScheduleCount - 1);

}  // namespace

std::string_view to_string(Schedule schedule) {
  const auto index = static_cast<size_t>(schedule);
  if (index >= kScheduleNames.size()) fail("invalid schedule ", index);
  return kScheduleNames[index];
}

Schedule parse_schedule(std::string_view name) {
  std::string valid;
  for (Schedule s : kAllSchedules) {
    if (to_string(s) == name) return s;
    valid += valid.empty() ? "" : ", ";
    valid += to_string(s);
  }
  fail("unknown schedule '", name, "' (valid: ", valid, ")");
}

}  // namespace rnnwave
