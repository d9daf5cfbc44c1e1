#include "rnnwave/tensor.h"

#include <cstdint>

#include "common/memory_limits.h"
#include "common/strings.h"

namespace rnnwave {

std::string shape_to_string(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

int64_t shape_elements(const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t extent : shape) {
    if (extent < 0) fail("shape ", shape_to_string(shape), " has a negative dimension");
    // The message is built only on failure: shapes are checked on every hot call.
    if (__builtin_mul_overflow(count, extent, &count)) {
      fail("shape ", shape_to_string(shape), " has more elements than fit in 64 bits");
    }
  }
  return count;
}

template <class T>
BasicTensor<T>::BasicTensor(std::vector<int64_t> shape) : shape_(std::move(shape)) {
  const int64_t count = shape_elements(shape_);
  check_fits_in_memory(static_cast<double>(count) * sizeof(T),
                       cat("a tensor of shape ", shape_to_string(shape_)));
  data_.assign(static_cast<size_t>(count), T{});
}

template <class T>
BasicTensor<T>::BasicTensor(std::vector<int64_t> shape, std::vector<T> data)
    : shape_(std::move(shape)), data_(std::move(data)) {
  const int64_t count = shape_elements(shape_);
  if (count != static_cast<int64_t>(data_.size())) {
    fail("tensor of shape ", shape_to_string(shape_), " needs ", count, " elements, got ",
         data_.size());
  }
}

template class BasicTensor<float>;
template class BasicTensor<double>;
template class BasicTensor<int64_t>;

}  // namespace rnnwave
