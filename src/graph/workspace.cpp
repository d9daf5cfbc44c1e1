#include "graph/workspace.h"

#include "common/memory_limits.h"
#include "common/strings.h"

namespace rnnwave {
namespace {

/// Memory is checked only when a buffer must grow: a workspace reused at the same sizes
/// (every batch of a training run) costs nothing here.
template <class T>
void grow(AlignedBuffer<T>& buffer, int64_t elements, int64_t also_held, const char* what,
          const ProblemDesc& p) {
  if (elements <= buffer.capacity()) return;
  check_fits_in_memory(static_cast<double>(elements + also_held) * sizeof(T),
                       cat(what, " of ", describe(p.spec), " for T=", p.T, " N=", p.N));
  buffer.reserve(elements);
}

}  // namespace

template <class T>
void BasicWorkspace<T>::Impl::prepare(const ProblemDesc& problem, double dropout_p, uint64_t seed,
                                      int64_t first_layer) {
  desc = problem;
  has_forward = false;
  owner = nullptr;
  dropout = desc.dropout ? dropout_p : 0;
  dropout_seed = seed;
  dropout_first_layer = first_layer;
  grow(forward_, desc.layout.forward_size, 0, "the forward workspace", desc);
}

template <class T>
void BasicWorkspace<T>::Impl::prepare_backward() {
  grow(backward_, desc.layout.backward_size, forward_.capacity(), "the training workspace", desc);
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
