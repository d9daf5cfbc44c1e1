// A cache-line-aligned array that only grows. Contents are uninitialised: every user
// writes before reading (see graph/workspace.h for which rows are zeroed and why).
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

namespace rnnwave {

template <class T>
class AlignedBuffer {
 public:
  static constexpr size_t kAlignment = 64;
  static constexpr size_t kHugePage = size_t{2} << 20;

  /// Makes room for at least `count` elements. Growing discards the old contents; a
  /// buffer that is large enough keeps its contents.
  void reserve(int64_t count) {
    if (count <= capacity_) return;
    size_t bytes = static_cast<size_t>(count) * sizeof(T);
    // Large buffers on 2 MiB boundaries, advised to use huge pages: far fewer page
    // faults and TLB misses when a pass first touches hundreds of MiB.
    const size_t alignment = bytes >= kHugePage ? kHugePage : kAlignment;
    bytes = (bytes + alignment - 1) / alignment * alignment;
    data_.reset();  // first, so the old and the new buffer are never held together
    capacity_ = 0;
    void* memory = std::aligned_alloc(alignment, bytes);
    if (memory == nullptr) throw std::bad_alloc();
    if (alignment == kHugePage) madvise(memory, bytes, MADV_HUGEPAGE);
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
