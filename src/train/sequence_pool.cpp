#include "rnnwave/train/sequence_pool.h"

#include <algorithm>
#include <string>
#include <vector>

#include "common/strings.h"
#include "train/check.h"
#include "train/parallel.h"

namespace rnnwave {
namespace {

struct PoolingName {
  Pooling pooling;
  std::string_view name;
};
constexpr std::array<PoolingName, kPoolingCount> kPoolingNames = {{
    {Pooling::last, "last"},
    {Pooling::mean, "mean"},
}};
static_assert(kPoolingNames.size() == kAllPoolings.size());

/// Throws unless the shape is valid and lengths are empty or [N] in [1, T].
void check_shape(std::string_view what, const SequenceShape& shape,
                 std::span<const int64_t> lengths) {
  train::expect_at_least(cat(what, ": steps T"), shape.steps, 1);
  train::expect_at_least(cat(what, ": batch N"), shape.batch, 1);
  train::expect_at_least(cat(what, ": hidden H"), shape.hidden, 1);
  if (shape.directions != 1 && shape.directions != 2) {
    fail(what, ": directions D must be 1 or 2, got ", shape.directions);
  }
  if (lengths.empty()) return;
  train::expect_size(cat(what, ": lengths [N]"), lengths.size(), {shape.batch});
  for (int64_t n = 0; n < shape.batch; ++n) {
    if (lengths[n] < 1 || lengths[n] > shape.steps) {
      fail(what, ": lengths[", n, "] = ", lengths[n], " is outside [1, T = ", shape.steps, "]");
    }
  }
}

int64_t length_of(const SequenceShape& shape, std::span<const int64_t> lengths, int64_t n) {
  return lengths.empty() ? shape.steps : lengths[n];
}

}  // namespace

std::string_view to_string(Pooling pooling) {
  for (const PoolingName& entry : kPoolingNames) {
    if (entry.pooling == pooling) return entry.name;
  }
  return "?";
}

Pooling parse_pooling(std::string_view name) {
  std::string valid;
  for (const PoolingName& entry : kPoolingNames) {
    if (entry.name == name) return entry.pooling;
    valid += cat(valid.empty() ? "" : ", ", entry.name);
  }
  fail("unknown pooling '", name, "' (valid: ", valid, ")");
}

template <class T>
void pool_sequence(Pooling pooling, const SequenceShape& shape, std::span<const T> output,
                   std::span<const int64_t> lengths, std::span<T> pooled) {
  check_shape("pool_sequence", shape, lengths);
  const int64_t hidden = shape.hidden, width = shape.directions * shape.hidden;
  train::expect_size("pool_sequence: output [T, N, D*H]", output.size(),
                     {shape.steps, shape.batch, width});
  train::expect_size("pool_sequence: pooled [N, D*H]", pooled.size(), {shape.batch, width});
  const auto at = [&](int64_t t, int64_t n) { return output.data() + (t * shape.batch + n) * width; };
  train::parallel_blocks(shape.batch, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> sum(pooling == Pooling::mean ? static_cast<size_t>(width) : 0);
    for (int64_t n = begin; n < end; ++n) {
      const int64_t len = length_of(shape, lengths, n);
      T* out = pooled.data() + n * width;
      if (pooling == Pooling::last) {
        std::copy(at(len - 1, n), at(len - 1, n) + hidden, out);
        if (shape.directions == 2) std::copy(at(0, n) + hidden, at(0, n) + width, out + hidden);
        continue;
      }
      std::fill(sum.begin(), sum.end(), 0.0);
      for (int64_t t = 0; t < len; ++t) {
        const T* row = at(t, n);
        for (int64_t j = 0; j < width; ++j) sum[j] += static_cast<double>(row[j]);
      }
      for (int64_t j = 0; j < width; ++j) out[j] = static_cast<T>(sum[j] / static_cast<double>(len));
    }
  });
}

template <class T>
void pool_sequence_backward(Pooling pooling, const SequenceShape& shape,
                            std::span<const int64_t> lengths, std::span<const T> grad_pooled,
                            std::span<T> grad_output) {
  check_shape("pool_sequence_backward", shape, lengths);
  const int64_t hidden = shape.hidden, width = shape.directions * shape.hidden;
  train::expect_size("pool_sequence_backward: grad_pooled [N, D*H]", grad_pooled.size(),
                     {shape.batch, width});
  train::expect_size("pool_sequence_backward: grad_output [T, N, D*H]", grad_output.size(),
                     {shape.steps, shape.batch, width});
  // Every element of grad_output is written once: its share of the gradient, or zero.
  train::parallel_blocks(shape.steps, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      for (int64_t n = 0; n < shape.batch; ++n) {
        const int64_t len = length_of(shape, lengths, n);
        const T* g = grad_pooled.data() + n * width;
        T* out = grad_output.data() + (t * shape.batch + n) * width;
        if (pooling == Pooling::last) {
          if (t == len - 1) std::copy(g, g + hidden, out);
          else std::fill(out, out + hidden, T(0));
          if (shape.directions == 2) {
            if (t == 0) std::copy(g + hidden, g + width, out + hidden);
            else std::fill(out + hidden, out + width, T(0));
          }
        } else if (t < len) {
          for (int64_t j = 0; j < width; ++j) {
            out[j] = static_cast<T>(static_cast<double>(g[j]) / static_cast<double>(len));
          }
        } else {
          std::fill(out, out + width, T(0));
        }
      }
    }
  });
}

#define RNNWAVE_INSTANTIATE(T)                                                                 \
  template void pool_sequence<T>(Pooling, const SequenceShape&, std::span<const T>,          \
                                 std::span<const int64_t>, std::span<T>);                     \
  template void pool_sequence_backward<T>(Pooling, const SequenceShape&,                     \
                                          std::span<const int64_t>, std::span<const T>,       \
                                          std::span<T>);
RNNWAVE_INSTANTIATE(float)
RNNWAVE_INSTANTIATE(double)
#undef RNNWAVE_INSTANTIATE

}  // namespace rnnwave
