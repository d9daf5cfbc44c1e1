// rnnwave/train/lr_schedule.h — the learning rate as a function of the epoch.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace rnnwave {

/// How the learning rate changes at the end of each epoch (e = epochs completed, lr0 the
/// initial rate):
///   constant: lr0.
///   step:     lr0 * factor^floor(e / every) — torch.optim.lr_scheduler.StepLR
///             (step_size = every, gamma = factor).
///   plateau:  multiplied by factor (not below minimum) once the validation loss has not
///             improved for more than `patience` epochs, an improvement being
///             loss < best * (1 - threshold) — torch's ReduceLROnPlateau (mode 'min',
///             threshold_mode 'rel', no cooldown). factor 0.25, patience 0, threshold 0 is
///             the rule of the Zaremba et al. / PyTorch word-language-model example:
///             "divide by 4 when the validation loss does not improve".
///   cosine:   minimum + (lr0 - minimum) * (1 + cos(pi * e / period)) / 2 —
///             torch's CosineAnnealingLR (T_max = period, eta_min = minimum).
enum class LrScheduleKind { constant, step, plateau, cosine };

inline constexpr int kLrScheduleKindCount = 4;
inline constexpr std::array<LrScheduleKind, kLrScheduleKindCount> kAllLrScheduleKinds = {
    LrScheduleKind::constant, LrScheduleKind::step, LrScheduleKind::plateau,
    LrScheduleKind::cosine};

std::string_view to_string(LrScheduleKind kind);
/// Inverse of to_string; throws Error listing the valid names.
LrScheduleKind parse_lr_schedule_kind(std::string_view name);

struct LrScheduleOptions {
  LrScheduleKind kind = LrScheduleKind::constant;
  double initial = 0.01;   ///< lr0 > 0
  double factor = 0.1;     ///< step, plateau: in (0, 1)
  int64_t every = 1;       ///< step: epochs per decay, >= 1
  int64_t patience = 0;    ///< plateau: epochs without improvement tolerated, >= 0
  double threshold = 0;    ///< plateau: relative improvement required, in [0, 1)
  double minimum = 0;      ///< plateau: floor; cosine: eta_min; in [0, lr0]
  int64_t period = 1;      ///< cosine: T_max >= 1

  /// Throws Error naming the first out-of-range option and its value.
  void validate() const;
};

/// A learning-rate schedule; call end_epoch once per epoch, after its validation, and
/// give the returned rate to the optimizer (BasicOptimizer::set_learning_rate).
class LrSchedule {
 public:
  /// Validates the options (throws Error).
  explicit LrSchedule(const LrScheduleOptions& options);

  const LrScheduleOptions& options() const { return options_; }
  /// The rate for the current epoch (lr0 before the first end_epoch).
  double rate() const { return rate_; }
  /// Epochs completed.
  int64_t epoch() const { return epoch_; }

  /// Ends an epoch and returns the rate for the next one. `validation_loss` is used by
  /// plateau only (a NaN never counts as an improvement); the others ignore it.
  double end_epoch(double validation_loss = 0);

  /// For checkpoints: "epoch", "rate", "best" (plateau's best loss, +inf before the first
  /// epoch) and "bad_epochs". Restoring them continues the schedule bit-exactly.
  std::map<std::string, double> state() const;
  /// Throws Error, changing nothing, for a missing or extra key or an impossible value.
  void load_state(const std::map<std::string, double>& state);

 private:
  LrScheduleOptions options_;
  int64_t epoch_ = 0;
  double rate_ = 0;
  double best_ = 0;
  int64_t bad_epochs_ = 0;
};

}  // namespace rnnwave
