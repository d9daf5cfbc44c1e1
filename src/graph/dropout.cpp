#include "graph/dropout.h"

#include "rnnwave/dropout.h"

namespace rnnwave {
namespace {

/// Multiplies each row of layer l's input at steps [t0, t1) by its mask and scale:
/// dst[t][i][j] = src[t][i][j] * (keep ? 1/(1-p) : 0). A row's mask elements are
/// numbered by the caller's row (order.source), so sorting by length changes nothing.
template <class T>
void mask_rows(WorkspaceImpl<T>& ws, int64_t l, int64_t t0, int64_t t1, const T* src_of_t0,
               T* dst_of_t0) {
  const int64_t DH = ws.desc.ld_h(), N = ws.desc.N, layer = ws.dropout_first_layer + l;
  for (int64_t t = t0; t < t1; ++t) {
    for (int64_t i = 0; i < N; ++i) {
      const uint64_t row = static_cast<uint64_t>(((layer * ws.desc.T + t) * N + ws.order.source[i]) * DH);
      const int64_t offset = ((t - t0) * N + i) * DH;
      apply_dropout_mask(std::span<const T>(src_of_t0 + offset, static_cast<size_t>(DH)),
                         std::span<T>(dst_of_t0 + offset, static_cast<size_t>(DH)), ws.dropout,
                         ws.dropout_seed, row);
    }
  }
}

}  // namespace

template <class T>
void apply_dropout(Pass<T>& pass, int64_t l, int64_t t0, int64_t t1) {
  auto& ws = pass.ws;
  mask_rows<T>(ws, l, t0, t1, ws.h(l - 1, WorkspaceImpl<T>::out_slot(t0)), ws.dropped(l, t0));
}

template <class T>
void apply_dropout_grad(Pass<T>& pass, int64_t l, int64_t t0, int64_t t1) {
  auto& ws = pass.ws;
  T* grad = ws.layer_input_grad(l, t0).p;
  mask_rows<T>(ws, l, t0, t1, grad, grad);
}

template void apply_dropout<float>(Pass<float>&, int64_t, int64_t, int64_t);
template void apply_dropout<double>(Pass<double>&, int64_t, int64_t, int64_t);
template void apply_dropout_grad<float>(Pass<float>&, int64_t, int64_t, int64_t);
template void apply_dropout_grad<double>(Pass<double>&, int64_t, int64_t, int64_t);

}  // namespace rnnwave
