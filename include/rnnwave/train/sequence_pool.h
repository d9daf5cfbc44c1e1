// rnnwave/train/sequence_pool.h — one vector per sequence from a recurrent stack's output,
// for classifying variable-length sequences.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace rnnwave {

/// How the [T, N, D*H] output of a stack becomes one [D*H] vector per sequence.
///   last: the state at each sequence's end: for direction 0 the output at t = len-1,
///         for direction 1 (reverse) the output at t = 0 — the top layer's h_n, as
///         torch.cat([h_n[-2], h_n[-1]], 1) for a bidirectional PyTorch stack fed a
///         packed sequence;
///   mean: the mean of the outputs over the sequence's valid steps t < len (summed in
///         increasing t).
enum class Pooling { last, mean };

inline constexpr int kPoolingCount = 2;
inline constexpr std::array<Pooling, kPoolingCount> kAllPoolings = {Pooling::last, Pooling::mean};

std::string_view to_string(Pooling pooling);
/// Inverse of to_string; throws Error listing the valid names.
Pooling parse_pooling(std::string_view name);

/// The layout of a recurrent stack's output (glossary of model.h).
struct SequenceShape {
  int64_t steps = 0;       ///< T >= 1
  int64_t batch = 0;       ///< N >= 1
  int64_t directions = 1;  ///< D, 1 or 2
  int64_t hidden = 0;      ///< H >= 1
};

/// pooled [N, D*H] from output [T, N, D*H]. lengths [N], each in [1, T] (empty = all T),
/// as given to the stack's forward pass. Throws Error on a size or length mismatch.
template <class T>
void pool_sequence(Pooling pooling, const SequenceShape& shape, std::span<const T> output,
                   std::span<const int64_t> lengths, std::span<T> pooled);

/// The gradient of pool_sequence: grad_output [T, N, D*H] is overwritten with the
/// gradient scattered back from grad_pooled [N, D*H] (last: copied to the steps it was
/// read from; mean: grad_pooled / len at every valid step); zero everywhere else.
template <class T>
void pool_sequence_backward(Pooling pooling, const SequenceShape& shape,
                            std::span<const int64_t> lengths, std::span<const T> grad_pooled,
                            std::span<T> grad_output);

}  // namespace rnnwave
