// A zero-initialised, cache-line-aligned array that only grows.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

namespace rnnwave {

template <class T>
class AlignedBuffer {
 public:
  static constexpr size_t kAlignment = 64;

  /// Makes room for at least `count` elements. Growing discards the old contents and
  /// zero-fills; a buffer that is large enough keeps its contents.
  void reserve(int64_t count) {
    if (count <= capacity_) return;
    const size_t bytes = (static_cast<size_t>(count) * sizeof(T) + kAlignment - 1) /
                         kAlignment * kAlignment;
    void* memory = std::aligned_alloc(kAlignment, bytes);
    if (memory == nullptr) throw std::bad_alloc();
    std::memset(memory, 0, bytes);
    data_.reset(static_cast<T*>(memory));
    capacity_ = count;
  }

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  int64_t capacity() const { return capacity_; }
  int64_t bytes() const { return capacity_ * static_cast<int64_t>(sizeof(T)); }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> data_;
  int64_t capacity_ = 0;
};

}  // namespace rnnwave
