// rnnwave/tensor.h — a minimal owning n-dimensional array (row-major, C order).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace rnnwave {

/// "[2, 3, 4]"
std::string shape_to_string(const std::vector<int64_t>& shape);

/// Number of elements of a shape; throws Error if a dimension is negative or the
/// product overflows int64.
int64_t shape_elements(const std::vector<int64_t>& shape);

/// An owning row-major array of T with a shape. Used for files and by the CLI; the
/// compute API itself takes std::span views over caller-owned memory.
template <class T>
class BasicTensor {
 public:
  BasicTensor() = default;
  /// Zero-filled tensor of the given shape.
  explicit BasicTensor(std::vector<int64_t> shape);
  /// Takes ownership of data; throws Error if data.size() != product of shape.
  BasicTensor(std::vector<int64_t> shape, std::vector<T> data);

  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(int64_t i) const { return shape_.at(static_cast<size_t>(i)); }
  int64_t size() const { return static_cast<int64_t>(data_.size()); }
  bool empty() const { return data_.empty(); }

  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }
  std::span<T> span() { return data_; }
  std::span<const T> span() const { return data_; }
  std::vector<T>& vector() { return data_; }
  const std::vector<T>& vector() const { return data_; }

 private:
  std::vector<int64_t> shape_;
  std::vector<T> data_;
};

using Tensor = BasicTensor<float>;

extern template class BasicTensor<float>;
extern template class BasicTensor<double>;
extern template class BasicTensor<int64_t>;

}  // namespace rnnwave
