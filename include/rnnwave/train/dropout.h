// rnnwave/train/dropout.h — inverted dropout on the non-recurrent connections of a model
// (embedding -> stack, stack -> output layer), with masks that depend on counters only.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace rnnwave {

/// Whether a pass trains (dropout active) or evaluates (dropout is the identity).
enum class Phase { training, evaluation };

inline constexpr int kPhaseCount = 2;
inline constexpr std::array<Phase, kPhaseCount> kAllPhases = {Phase::training, Phase::evaluation};

std::string_view to_string(Phase phase);

/// Inverted dropout with probability p: in training, element i of a tensor is kept and
/// scaled by 1/(1-p) if
///     dropout_keep(counter_key(seed, stream, step), first + i, p)
/// and zeroed otherwise (rnnwave/dropout.h: the rule of the engine's dropout between
/// layers too); in evaluation it passes unchanged. The mask is a function of (seed, stream,
/// step, element index) alone: the same for float and double, for any number of threads
/// and any way of cutting the work, and recomputed by backward instead of stored. Give each dropout site of a model its own stream and pass
/// the training step (or any counter that changes between batches) as `step`.
class Dropout {
 public:
  /// p in [0, 1) (Error otherwise); p = 0 makes training the identity too.
  Dropout(double p, uint64_t seed, uint64_t stream);

  double probability() const { return p_; }
  uint64_t seed() const { return seed_; }
  uint64_t stream() const { return stream_; }

  /// y = mask * x / (1-p) (training) or x (evaluation). x and y have the same size and
  /// are either disjoint or the same memory (in place). `first` is the index of x[0] in
  /// the whole tensor, for a caller that processes a tensor in pieces.
  template <class T>
  void forward(std::span<const T> x, std::span<T> y, Phase phase, uint64_t step,
               uint64_t first = 0) const;

  /// grad_x = mask * grad_y / (1-p) with the mask of the forward call with the same
  /// (phase, step, first); grad_y and grad_x as x and y of forward.
  template <class T>
  void backward(std::span<const T> grad_y, std::span<T> grad_x, Phase phase, uint64_t step,
                uint64_t first = 0) const;

  /// mask[i] = 1 where forward keeps element first + i at this step, 0 where it drops it.
  void mask(std::span<uint8_t> mask, uint64_t step, uint64_t first = 0) const;

 private:
  double p_ = 0;
  uint64_t seed_ = 0;
  uint64_t stream_ = 0;
};

}  // namespace rnnwave
