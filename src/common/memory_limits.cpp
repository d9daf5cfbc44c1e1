#include "common/memory_limits.h"

#include <unistd.h>

#include <limits>

#include "common/strings.h"

namespace rnnwave {

int64_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(pages) * page_size;
}

int64_t checked_mul(int64_t a, int64_t b, std::string_view what) {
  int64_t product = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &product)) {
    fail(what, ": size ", a, " x ", b, " is out of range");
  }
  return product;
}

void check_fits_in_memory(double bytes, std::string_view what) {
  const double limit = static_cast<double>(physical_memory_bytes());
  if (bytes > limit) {
    fail(what, " needs ", format_bytes(bytes), " but this machine has ", format_bytes(limit),
         " of memory");
  }
}

}  // namespace rnnwave
