#include "common/memory_limits.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>

#include "common/strings.h"

namespace rnnwave {
namespace {

/// Below this, check_fits_in_memory reads nothing.
constexpr double kAlwaysFits = 64.0 * 1024 * 1024;

/// The first number in `path` (a cgroup file), or -1 if it cannot be read or says "max".
int64_t read_number(const std::string& path) {
  std::ifstream in(path);
  int64_t value = -1;
  if (!(in >> value) || value < 0) return -1;
  return value;
}

/// MemAvailable of /proc/meminfo in bytes, or -1.
int64_t read_mem_available(const std::string& proc) {
  std::ifstream in(proc + "/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream fields(line.substr(13));
    int64_t kib = -1;
    if (fields >> kib && kib >= 0) return kib * 1024;
  }
  return -1;
}

/// The cgroup directories of the memory controller of this process and their ancestors:
/// v2 ("0::/path") under sys_fs_cgroup, v1 ("N:...memory...:/path") under .../memory.
void add_limits(MemoryLimits& limits, const std::string& dir, const char* limit_file,
                const char* usage_file) {
  const int64_t limit = read_number(dir + "/" + limit_file);
  // v1 writes "no limit" as a huge number (PAGE_COUNTER_MAX pages).
  if (limit < 0 || limit >= (int64_t{1} << 62)) return;
  const int64_t usage = std::max<int64_t>(0, read_number(dir + "/" + usage_file));
  if (limits.cgroup_limit < 0 || limit - usage < limits.cgroup_limit - limits.cgroup_usage) {
    limits.cgroup_limit = limit;
    limits.cgroup_usage = usage;
  }
}

void read_cgroup_limits(MemoryLimits& limits, const std::string& proc, const std::string& root) {
  std::ifstream in(proc + "/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    const size_t first = line.find(':');
    const size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    const bool v2 = line.compare(0, first, "0") == 0 && controllers.empty();
    const bool v1 = (',' + controllers + ',').find(",memory,") != std::string::npos;
    if (!v2 && !v1) continue;
    const std::string base = v2 ? root : root + "/memory";
    // The cgroup and every ancestor: a limit set higher up binds too.
    while (true) {
      if (v2) add_limits(limits, base + path, "memory.max", "memory.current");
      else add_limits(limits, base + path, "memory.limit_in_bytes", "memory.usage_in_bytes");
      if (path.empty() || path == "/") break;
      const size_t slash = path.find_last_of('/');
      path = slash == 0 || slash == std::string::npos ? "" : path.substr(0, slash);
    }
  }
}

}  // namespace

int64_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(pages) * page_size;
}

int64_t MemoryLimits::available() const {
  int64_t result = -1;
  if (mem_available >= 0) result = mem_available;
  if (cgroup_limit >= 0) {
    const int64_t room = std::max<int64_t>(0, cgroup_limit - cgroup_usage);
    result = result < 0 ? room : std::min(result, room);
  }
  return result >= 0 ? result : physical;
}

std::string MemoryLimits::describe() const {
  const auto bytes = [](int64_t n) { return format_bytes(static_cast<double>(n)); };
  std::string text = "(";
  if (mem_available >= 0) {
    text += cat("MemAvailable ", bytes(mem_available), " of ", bytes(physical));
  } else {
    text += cat(bytes(physical), " installed");
  }
  if (cgroup_limit >= 0) {
    text += cat("; cgroup limit ", bytes(cgroup_limit), ", ", bytes(cgroup_usage), " in use");
  }
  return text + ")";
}

MemoryLimits read_memory_limits(const std::string& proc, const std::string& sys_fs_cgroup) {
  MemoryLimits limits;
  limits.physical = physical_memory_bytes();
  limits.mem_available = read_mem_available(proc);
  read_cgroup_limits(limits, proc, sys_fs_cgroup);
  return limits;
}

int64_t checked_mul(int64_t a, int64_t b, std::string_view what) {
  int64_t product = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &product)) {
    fail(what, ": size ", a, " x ", b, " is out of range");
  }
  return product;
}

void check_fits_in_memory(double bytes, std::string_view what) {
  if (bytes <= kAlwaysFits) return;
  const MemoryLimits limits = read_memory_limits();
  if (bytes > static_cast<double>(limits.available())) {
    fail_as(ErrorKind::out_of_memory, what, " needs ", format_bytes(bytes), " but only ",
            format_bytes(static_cast<double>(limits.available())), " of memory is available ",
            limits.describe());
  }
}

}  // namespace rnnwave
