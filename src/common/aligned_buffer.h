// A cache-line-aligned array that only grows. Contents are uninitialised: every user
// writes before reading (see graph/workspace.h for which rows are zeroed and why).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <utility>

#include "rnnwave/huge_pages.h"

namespace rnnwave {

template <class T>
class AlignedBuffer {
 public:
  static constexpr size_t kAlignment = 64;

  AlignedBuffer() = default;
  /// A buffer moved from is empty (capacity 0), so that it can be reserved again.
  AlignedBuffer(AlignedBuffer&& other) noexcept
      : data_(std::move(other.data_)), capacity_(std::exchange(other.capacity_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept {
    data_ = std::move(other.data_);
    capacity_ = std::exchange(other.capacity_, 0);
    return *this;
  }

  /// Makes room for at least `count` elements. Growing discards the old contents; a
  /// buffer that is large enough keeps its contents.
  void reserve(int64_t count) {
    if (count <= capacity_) return;
    size_t bytes = static_cast<size_t>(count) * sizeof(T);
    data_.reset();  // first, so the old and the new buffer are never held together
    capacity_ = 0;
    // Large buffers on huge pages (rnnwave/huge_pages.h): far fewer page faults and TLB
    // misses when a pass first touches hundreds of MiB.
    void* memory;
    if (bytes >= kHugePageBytes) {
      memory = allocate_huge_pages(bytes);
    } else {
      memory = std::aligned_alloc(kAlignment, (bytes + kAlignment - 1) / kAlignment * kAlignment);
      if (memory == nullptr) throw std::bad_alloc();
    }
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
