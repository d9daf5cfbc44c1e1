#include "rnnwave/train/dropout.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "common/strings.h"
#include "rnnwave/dropout.h"
#include "train/check.h"
#include "train/parallel.h"

namespace rnnwave {
namespace {

/// apply_dropout_mask over blocks of x in parallel (each element depends on its own
/// counters only). x and y may be the same memory.
template <class T>
void apply_mask(std::span<const T> x, std::span<T> y, double p, uint64_t key, uint64_t first) {
  train::parallel_blocks(static_cast<int64_t>(x.size()), train::kElementBlock,
                         [&](int64_t begin, int64_t end) {
                           const auto b = static_cast<size_t>(begin);
                           const auto n = static_cast<size_t>(end - begin);
                           apply_dropout_mask(x.subspan(b, n), y.subspan(b, n), p, key,
                                              first + b);
                         });
}

template <class T>
void run(std::string_view what, const Dropout& dropout, std::span<const T> x, std::span<T> y,
         Phase phase, uint64_t step, uint64_t first) {
  if (x.size() != y.size()) {
    fail("dropout ", what, ": input has ", x.size(), " elements, output ", y.size());
  }
  const auto x_begin = reinterpret_cast<uintptr_t>(x.data());
  const auto y_begin = reinterpret_cast<uintptr_t>(y.data());
  const uintptr_t bytes = x.size() * sizeof(T);
  if (x_begin != y_begin && x_begin < y_begin + bytes && y_begin < x_begin + bytes) {
    fail("dropout ", what, ": input and output overlap without being the same memory");
  }
  if (phase == Phase::evaluation || dropout.probability() == 0) {
    if (x.data() != y.data()) std::copy(x.begin(), x.end(), y.begin());
    return;
  }
  apply_mask(x, y, dropout.probability(),
             counter_key(dropout.seed(), dropout.stream(), step), first);
}

}  // namespace

std::string_view to_string(Phase phase) {
  switch (phase) {
    case Phase::training: return "training";
    case Phase::evaluation: return "evaluation";
  }
  return "?";
}

Dropout::Dropout(double p, uint64_t seed, uint64_t stream) : p_(p), seed_(seed), stream_(stream) {
  if (!(p >= 0 && p < 1)) fail("dropout probability must be in [0, 1), got ", p);
}

template <class T>
void Dropout::forward(std::span<const T> x, std::span<T> y, Phase phase, uint64_t step,
                      uint64_t first) const {
  run("forward", *this, x, y, phase, step, first);
}

template <class T>
void Dropout::backward(std::span<const T> grad_y, std::span<T> grad_x, Phase phase,
                       uint64_t step, uint64_t first) const {
  run("backward", *this, grad_y, grad_x, phase, step, first);
}

void Dropout::mask(std::span<uint8_t> mask, uint64_t step, uint64_t first) const {
  const uint64_t key = counter_key(seed_, stream_, step);
  for (size_t i = 0; i < mask.size(); ++i) {
    mask[i] = dropout_keep(key, first + i, p_) ? 1 : 0;
  }
}

template void Dropout::forward<float>(std::span<const float>, std::span<float>, Phase, uint64_t,
                                      uint64_t) const;
template void Dropout::forward<double>(std::span<const double>, std::span<double>, Phase,
                                       uint64_t, uint64_t) const;
template void Dropout::backward<float>(std::span<const float>, std::span<float>, Phase, uint64_t,
                                       uint64_t) const;
template void Dropout::backward<double>(std::span<const double>, std::span<double>, Phase,
                                        uint64_t, uint64_t) const;

}  // namespace rnnwave
