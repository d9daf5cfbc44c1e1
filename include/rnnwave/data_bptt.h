// rnnwave/data_bptt.h — a token stream cut into batches for truncated backpropagation
// through time, as pytorch/examples' word_language_model does.
#pragma once

#include <cstdint>
#include <span>

#include "rnnwave/tensor.h"

namespace rnnwave {

/// The stream laid out as N parallel columns: rows = len(ids) / N (the remainder of the
/// stream is dropped), and column n holds the contiguous chunk
/// ids[n*rows, (n+1)*rows), i.e. out[r, n] = ids[n*rows + r]. The result is [rows, N],
/// row-major (PyTorch's data.view(N, -1).t().contiguous()). Throws Error unless
/// N >= 1 and the stream has at least N tokens.
BasicTensor<int64_t> batchify(std::span<const int64_t> ids, int64_t batch);

/// One BPTT segment of a batchified stream.
struct BpttBatch {
  BasicTensor<int64_t> input;   ///< [T, N] = data[i, i+T)
  BasicTensor<int64_t> target;  ///< [T, N] = data[i+1, i+1+T): the next token of each input
};

/// The segment starting at row i of data [rows, N], T = min(bptt, rows - 1 - i) steps.
/// Throws Error unless data has rank 2, bptt >= 1 and 0 <= i < rows - 1.
BpttBatch get_batch(const BasicTensor<int64_t>& data, int64_t i, int64_t bptt);

}  // namespace rnnwave
