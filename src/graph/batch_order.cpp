#include "graph/batch_order.h"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace rnnwave {

BatchOrder BatchOrder::make(int64_t steps, int64_t batch, std::span<const int64_t> lengths) {
  BatchOrder order;
  order.steps = steps;
  order.batch = batch;
  order.source.resize(static_cast<size_t>(batch));
  std::iota(order.source.begin(), order.source.end(), int64_t{0});
  if (lengths.empty()) {
    order.lengths.assign(static_cast<size_t>(batch), steps);
  } else {
    std::stable_sort(order.source.begin(), order.source.end(),
                     [&](int64_t a, int64_t b) { return lengths[a] > lengths[b]; });
    order.lengths.resize(static_cast<size_t>(batch));
    for (int64_t i = 0; i < batch; ++i) {
      order.lengths[i] = lengths[order.source[i]];
      order.identity = order.identity && order.source[i] == i;
    }
  }
  order.active.assign(static_cast<size_t>(steps), 0);
  for (int64_t t = 0; t < steps; ++t) {
    order.active[t] = std::upper_bound(order.lengths.begin(), order.lengths.end(), t,
                                       [](int64_t step, int64_t len) { return len <= step; }) -
                      order.lengths.begin();
  }
  return order;
}

int64_t BatchOrder::active_end(int64_t t, int64_t row_begin, int64_t row_end) const {
  return std::max(row_begin, std::min(row_end, active[t]));
}

template <class T>
void gather_rows(const BatchOrder& order, int64_t outer, int64_t inner, const T* src, T* dst) {
  const int64_t n = order.batch;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < n; ++i) {
      std::memcpy(dst + (o * n + i) * inner, src + (o * n + order.source[i]) * inner,
                  sizeof(T) * inner);
    }
  }
}

template <class T>
void scatter_rows(const BatchOrder& order, int64_t outer, int64_t inner, const T* src, T* dst) {
  const int64_t n = order.batch;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < n; ++i) {
      std::memcpy(dst + (o * n + order.source[i]) * inner, src + (o * n + i) * inner,
                  sizeof(T) * inner);
    }
  }
}

template void gather_rows<float>(const BatchOrder&, int64_t, int64_t, const float*, float*);
template void gather_rows<double>(const BatchOrder&, int64_t, int64_t, const double*, double*);
template void scatter_rows<float>(const BatchOrder&, int64_t, int64_t, const float*, float*);
template void scatter_rows<double>(const BatchOrder&, int64_t, int64_t, const double*, double*);

}  // namespace rnnwave
