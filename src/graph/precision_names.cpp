// Names of the precisions, indexed by the enum.
#include <array>

#include "common/strings.h"
#include "rnnwave/schedule.h"

namespace rnnwave {
namespace {

constexpr std::array<std::string_view, kPrecisionCount> kPrecisionNames = {"fp32", "bf16"};
static_assert(static_cast<int>(Precision::bf16) == kPrecisionCount - 1);

}  // namespace

std::string_view to_string(Precision precision) {
  const auto index = static_cast<size_t>(precision);
  if (index >= kPrecisionNames.size()) fail("invalid precision ", index);
  return kPrecisionNames[index];
}

Precision parse_precision(std::string_view name) {
  std::string valid;
  for (Precision p : kAllPrecisions) {
    if (to_string(p) == name) return p;
    valid += valid.empty() ? "" : ", ";
    valid += to_string(p);
  }
  fail("unknown precision ", quote_for_message(name), " (valid: ", valid, ")");
}

}  // namespace rnnwave
