// rnnwave/huge_pages.h — where the large arrays of a model and its training state live.
//
// An array of 2 MiB or more starts on a 2 MiB boundary, and the 2 MiB pages it fills are
// advised to use transparent huge pages before anything touches them (its tail stays on
// small pages, so it holds no more memory than it uses). The optimizer, the gradient
// norm and a language model's head stream hundreds of MiB per batch: with them on 4 KiB
// pages a WikiText-2 epoch at one thread took 1.6-1.7x as long (docs/benchmarks.md).
// Where the kernel has transparent huge pages off, the advice does nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

namespace rnnwave {

inline constexpr size_t kHugePageBytes = size_t{2} << 20;

/// `bytes` (>= 1) on a huge-page boundary, the huge pages it fills advised
/// MADV_HUGEPAGE; uninitialised. Throws std::bad_alloc. Free with free_huge_pages.
void* allocate_huge_pages(size_t bytes);
void free_huge_pages(void* memory) noexcept;

struct FreeHugePages {
  void operator()(void* memory) const noexcept { free_huge_pages(memory); }
};

/// An uninitialised array of `count` (>= 1) values from allocate_huge_pages, freed when
/// dropped: a large scratch that every user writes before reading.
template <class T>
std::unique_ptr<T[], FreeHugePages> make_huge_pages_array(size_t count) {
  if (count > SIZE_MAX / sizeof(T)) throw std::bad_array_new_length();
  return std::unique_ptr<T[], FreeHugePages>(static_cast<T*>(allocate_huge_pages(count * sizeof(T))));
}

/// A std::allocator that places arrays of kHugePageBytes or more with
/// allocate_huge_pages, smaller ones as std::allocator does.
template <class T>
struct HugePageAllocator {
  using value_type = T;

  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}

  T* allocate(size_t count) {
    if (count > std::allocator_traits<std::allocator<T>>::max_size(std::allocator<T>{})) {
      throw std::bad_array_new_length();
    }
    if (!huge(count)) return std::allocator<T>{}.allocate(count);
    return static_cast<T*>(allocate_huge_pages(count * sizeof(T)));
  }
  void deallocate(T* memory, size_t count) noexcept {
    if (huge(count)) {
      free_huge_pages(memory);
    } else {
      std::allocator<T>{}.deallocate(memory, count);
    }
  }

  friend bool operator==(const HugePageAllocator&, const HugePageAllocator&) { return true; }

 private:
  static bool huge(size_t count) { return count * sizeof(T) >= kHugePageBytes; }
};

/// The container of a model's parameters, gradients and other arrays that may be large.
template <class T>
using LargeVector = std::vector<T, HugePageAllocator<T>>;

}  // namespace rnnwave
