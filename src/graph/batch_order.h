// Variable-length batches: the order in which the engine keeps the rows of a batch.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace rnnwave {

/// The engine keeps the rows of a batch sorted by decreasing length (stable), so that
/// the sequences still running at step t are the first active(t) rows: every GEMM of a
/// step works on a row prefix, with no masking and no wasted rows. This is the layout
/// of torch.nn.utils.rnn.pack_padded_sequence.
struct BatchOrder {
  int64_t steps = 0;  // T
  int64_t batch = 0;  // N
  /// True when the rows are already in that order (equal lengths, or none given):
  /// caller buffers are then used as they are, with no gather or scatter.
  bool identity = true;
  std::vector<int64_t> source;   // source[i]: the caller's row of internal row i
  std::vector<int64_t> lengths;  // lengths[i]: length of internal row i, non-increasing
  std::vector<int64_t> active;   // active[t]: rows with length > t, t in [0, T)

  /// lengths empty means every sequence has `steps` steps. Lengths must already be
  /// validated to lie in [1, steps].
  static BatchOrder make(int64_t steps, int64_t batch, std::span<const int64_t> lengths);

  /// Rows of [row_begin, row_end) still running at step t: [row_begin, min(row_end, active[t])).
  int64_t active_end(int64_t t, int64_t row_begin, int64_t row_end) const;
};

/// Copies rows between caller order and internal order. A tensor [outer, N, inner] is
/// gathered (dst row i = src row source[i]) or scattered (dst row source[i] = src row i).
template <class T>
void gather_rows(const BatchOrder& order, int64_t outer, int64_t inner, const T* src, T* dst);
template <class T>
void scatter_rows(const BatchOrder& order, int64_t outer, int64_t inner, const T* src, T* dst);

}  // namespace rnnwave
