#include "graph/workspace.h"

#include <utility>

#include "common/memory_limits.h"
#include "common/strings.h"

namespace rnnwave {
namespace {

/// Lays out consecutive regions in one buffer: each region starts where the previous one
/// ends, rounded up to a cache line.
class Layout {
 public:
  explicit Layout(std::string_view what) : what_(what) {}
  /// Reserves a region of the product of `extents` elements and returns its offset.
  int64_t add(std::initializer_list<int64_t> extents) {
    int64_t count = 1;
    for (int64_t e : extents) count = checked_mul(count, e, what_);
    const int64_t offset = end_;
    constexpr int64_t kLine = 16;  // elements; 64 bytes for float
    if (__builtin_add_overflow(end_, (count + kLine - 1) / kLine * kLine, &end_)) {
      fail(what_, ": size overflows");
    }
    return offset;
  }
  int64_t size() const { return end_; }

 private:
  std::string_view what_;
  int64_t end_ = 0;
};

}  // namespace

template <class T>
void BasicWorkspace<T>::Impl::prepare(const ModelSpec& model, BatchOrder batch_order,
                                      bool training, double dropout_p, uint64_t seed) {
  spec = model;
  order = std::move(batch_order);
  L = spec.layers;
  D = spec.directions();
  T_ = order.steps;
  N = order.batch;
  H = spec.hidden_size;
  G = spec.gates();
  I = spec.input_size;
  has_forward = false;
  owner = nullptr;
  dropout = training ? dropout_p : 0;
  dropout_seed = seed;

  const bool lstm = spec.cell == CellKind::lstm;
  const bool gru = spec.cell == CellKind::gru;
  const bool copy_input = training || !order.identity;
  Layout layout("forward workspace");
  off_input_ = layout.add({copy_input ? T_ : 0, N, I});
  off_h_ = layout.add({L, T_ + 2, N, D * H});
  off_gates_ = layout.add({L, D, T_, N, G * H});
  off_c_ = layout.add({lstm ? L * D : 0, T_ + 2, N, H});
  off_hn_ = layout.add({gru ? L * D : 0, T_, N, H});
  off_rec_ = layout.add({gru ? L * D : 0, N, G * H});
  off_dropped_ = layout.add({dropout > 0 ? L - 1 : 0, T_, N, D * H});
  check_fits_in_memory(static_cast<double>(layout.size()) * sizeof(T),
                       cat("the forward workspace of ", describe(spec), " for T=", T_, " N=", N));
  forward_.reserve(layout.size());
}

template <class T>
void BasicWorkspace<T>::Impl::prepare_backward() {
  const bool lstm = spec.cell == CellKind::lstm;
  Layout layout("backward workspace");
  off_dh_above_ = layout.add({L, T_, N, D * H});
  off_drec_h_ = layout.add({L * D, T_ + 2, N, H});
  off_drec_c_ = layout.add({lstm ? L * D : 0, T_ + 2, N, H});
  off_grad_input_ = layout.add({order.identity ? 0 : T_, N, I});
  check_fits_in_memory(
      static_cast<double>(layout.size() + forward_.capacity()) * sizeof(T),
      cat("the training workspace of ", describe(spec), " for T=", T_, " N=", N));
  backward_.reserve(layout.size());
}

template <class T>
BasicWorkspace<T>::BasicWorkspace() : impl_(std::make_unique<Impl>()) {}
template <class T>
BasicWorkspace<T>::~BasicWorkspace() = default;
template <class T>
BasicWorkspace<T>::BasicWorkspace(BasicWorkspace&&) noexcept = default;
template <class T>
BasicWorkspace<T>& BasicWorkspace<T>::operator=(BasicWorkspace&&) noexcept = default;
template <class T>
int64_t BasicWorkspace<T>::bytes() const {
  return impl_->bytes();
}

template class BasicWorkspace<float>;
template class BasicWorkspace<double>;

}  // namespace rnnwave
