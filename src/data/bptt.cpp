// Batchified token streams for truncated BPTT.
#include <algorithm>

#include "common/strings.h"
#include "rnnwave/data_bptt.h"

namespace rnnwave {

BasicTensor<int64_t> batchify(std::span<const int64_t> ids, int64_t batch) {
  const auto tokens = static_cast<int64_t>(ids.size());
  if (batch < 1) fail("batchify: batch must be at least 1, got ", batch);
  if (tokens < batch) fail("batchify: ", tokens, " tokens cannot fill one row of ", batch, " columns");
  const int64_t rows = tokens / batch;
  BasicTensor<int64_t> out({rows, batch});
  int64_t* data = out.data();
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t r = 0; r < rows; ++r) data[r * batch + n] = ids[static_cast<size_t>(n * rows + r)];
  }
  return out;
}

BpttBatch get_batch(const BasicTensor<int64_t>& data, int64_t i, int64_t bptt) {
  if (data.rank() != 2) fail("get_batch: expected data [rows, N], got ", shape_to_string(data.shape()));
  const int64_t rows = data.dim(0);
  const int64_t batch = data.dim(1);
  if (bptt < 1) fail("get_batch: bptt must be at least 1, got ", bptt);
  if (i < 0 || i >= rows - 1) {
    fail("get_batch: start row ", i, " is outside [0, rows - 1 = ", rows - 1, ") of data ",
         shape_to_string(data.shape()));
  }
  const int64_t steps = std::min(bptt, rows - 1 - i);
  BpttBatch out{BasicTensor<int64_t>({steps, batch}), BasicTensor<int64_t>({steps, batch})};
  const int64_t* source = data.data() + i * batch;
  std::copy(source, source + steps * batch, out.input.data());
  std::copy(source + batch, source + batch + steps * batch, out.target.data());
  return out;
}

}  // namespace rnnwave
