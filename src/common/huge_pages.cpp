#include "rnnwave/huge_pages.h"

#include <sys/mman.h>

#include <cstdlib>

namespace rnnwave {

void* allocate_huge_pages(size_t bytes) {
  if (bytes == 0 || bytes > SIZE_MAX - kHugePageBytes) throw std::bad_alloc();
  bytes = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  void* memory = std::aligned_alloc(kHugePageBytes, bytes);
  if (memory == nullptr) throw std::bad_alloc();
  // Advice only: a kernel without transparent huge pages refuses it, and the array
  // works the same on small pages.
  madvise(memory, bytes, MADV_HUGEPAGE);
  return memory;
}

void free_huge_pages(void* memory) noexcept { std::free(memory); }

}  // namespace rnnwave
