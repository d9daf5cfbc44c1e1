#include "rnnwave/huge_pages.h"

#include <sys/mman.h>

#include <cstdlib>

namespace rnnwave {

void* allocate_huge_pages(size_t bytes) {
  if (bytes == 0 || bytes > SIZE_MAX - kHugePageBytes) throw std::bad_alloc();
  const size_t rounded = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  void* memory = std::aligned_alloc(kHugePageBytes, rounded);
  if (memory == nullptr) throw std::bad_alloc();
  // Only the huge pages the array fills are advised: the tail stays on small pages, so
  // that an array just over a multiple of 2 MiB does not hold a whole page more (the
  // untouched rest of the rounded allocation is never resident). Advice only: a kernel
  // without transparent huge pages refuses it, and the array works the same.
  const size_t whole = bytes / kHugePageBytes * kHugePageBytes;
  if (whole > 0) madvise(memory, whole, MADV_HUGEPAGE);
  return memory;
}

void free_huge_pages(void* memory) noexcept { std::free(memory); }

}  // namespace rnnwave
