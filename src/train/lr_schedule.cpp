#include "rnnwave/train/lr_schedule.h"

#include <cmath>
#include <limits>
#include <numbers>

#include "common/strings.h"

namespace rnnwave {
namespace {

struct KindName {
  LrScheduleKind kind;
  std::string_view name;
};
constexpr std::array<KindName, kLrScheduleKindCount> kKindNames = {{
    {LrScheduleKind::constant, "constant"},
    {LrScheduleKind::step, "step"},
    {LrScheduleKind::plateau, "plateau"},
    {LrScheduleKind::cosine, "cosine"},
}};
static_assert(kKindNames.size() == kAllLrScheduleKinds.size());

/// ReduceLROnPlateau ignores a reduction smaller than this (its `eps`).
constexpr double kPlateauEps = 1e-8;

constexpr const char* kStateKeys[] = {"epoch", "rate", "best", "bad_epochs"};

bool is_count(double value) {
  return value >= 0 && value < 9007199254740992.0 && value == std::floor(value);
}

}  // namespace

std::string_view to_string(LrScheduleKind kind) {
  for (const KindName& entry : kKindNames) {
    if (entry.kind == kind) return entry.name;
  }
  return "?";
}

LrScheduleKind parse_lr_schedule_kind(std::string_view name) {
  std::string valid;
  for (const KindName& entry : kKindNames) {
    if (entry.name == name) return entry.kind;
    valid += cat(valid.empty() ? "" : ", ", entry.name);
  }
  fail("unknown learning-rate schedule '", name, "' (valid: ", valid, ")");
}

void LrScheduleOptions::validate() const {
  if (to_string(kind) == "?") fail("unknown learning-rate schedule kind ", static_cast<int>(kind));
  if (!(std::isfinite(initial) && initial > 0)) {
    fail("lr schedule: initial rate must be finite and > 0, got ", initial);
  }
  if (!(factor > 0 && factor < 1)) fail("lr schedule: factor must be in (0, 1), got ", factor);
  if (every < 1) fail("lr schedule: every must be >= 1, got ", every);
  if (patience < 0) fail("lr schedule: patience must be >= 0, got ", patience);
  if (!(threshold >= 0 && threshold < 1)) {
    fail("lr schedule: threshold must be in [0, 1), got ", threshold);
  }
  if (!(minimum >= 0 && minimum <= initial)) {
    fail("lr schedule: minimum must be in [0, initial rate ", initial, "], got ", minimum);
  }
  if (period < 1) fail("lr schedule: period must be >= 1, got ", period);
}

LrSchedule::LrSchedule(const LrScheduleOptions& options)
    : options_(options),
      rate_(options.initial),
      best_(std::numeric_limits<double>::infinity()) {
  options_.validate();
}

double LrSchedule::end_epoch(double validation_loss) {
  epoch_ += 1;
  const LrScheduleOptions& o = options_;
  switch (o.kind) {
    case LrScheduleKind::constant:
      break;
    case LrScheduleKind::step:
      rate_ = o.initial * std::pow(o.factor, static_cast<double>(epoch_ / o.every));
      break;
    case LrScheduleKind::cosine:
      rate_ = o.minimum + (o.initial - o.minimum) *
                              (1 + std::cos(std::numbers::pi * static_cast<double>(epoch_) /
                                            static_cast<double>(o.period))) / 2;
      break;
    case LrScheduleKind::plateau:
      if (validation_loss < best_ * (1 - o.threshold)) {  // false for NaN
        best_ = validation_loss;
        bad_epochs_ = 0;
      } else {
        bad_epochs_ += 1;
      }
      if (bad_epochs_ > o.patience) {
        const double reduced = std::max(rate_ * o.factor, o.minimum);
        if (rate_ - reduced > kPlateauEps) rate_ = reduced;
        bad_epochs_ = 0;
      }
      break;
  }
  return rate_;
}

std::map<std::string, double> LrSchedule::state() const {
  return {{"epoch", static_cast<double>(epoch_)},
          {"rate", rate_},
          {"best", best_},
          {"bad_epochs", static_cast<double>(bad_epochs_)}};
}

void LrSchedule::load_state(const std::map<std::string, double>& state) {
  for (const auto& [key, value] : state) {
    bool known = false;
    for (const char* expected : kStateKeys) known = known || key == expected;
    if (!known) fail("lr schedule state: unexpected key ", quote_for_message(key));
  }
  for (const char* key : kStateKeys) {
    if (state.count(key) == 0) fail("lr schedule state: missing key '", key, "'");
  }
  const double epoch = state.at("epoch"), rate = state.at("rate"), best = state.at("best");
  const double bad = state.at("bad_epochs");
  if (!is_count(epoch)) fail("lr schedule state: 'epoch' must be a non-negative integer, got ", epoch);
  if (!is_count(bad)) {
    fail("lr schedule state: 'bad_epochs' must be a non-negative integer, got ", bad);
  }
  if (!(std::isfinite(rate) && rate > 0)) {
    fail("lr schedule state: 'rate' must be finite and > 0, got ", rate);
  }
  if (std::isnan(best)) fail("lr schedule state: 'best' is NaN");
  epoch_ = static_cast<int64_t>(epoch);
  rate_ = rate;
  best_ = best;
  bad_epochs_ = static_cast<int64_t>(bad);
}

}  // namespace rnnwave
