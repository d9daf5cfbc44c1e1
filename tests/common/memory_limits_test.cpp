#include "common/memory_limits.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "io/expect_error.h"
#include "io/io_test_support.h"

namespace rnnwave {
namespace {

using testing::TempDir;

void write_text(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

/// MemAvailable of the real /proc/meminfo, in bytes.
int64_t mem_available() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t kib = -1;
  while (in >> key) {
    if (key == "MemAvailable:" && in >> kib) return kib * 1024;
    in.ignore(1 << 10, '\n');
  }
  return -1;
}

// Installed memory is not what a process can take on a shared machine: a size between
// MemAvailable and the installed memory used to pass.
TEST(CheckFitsInMemory, ComparesWithAvailableNotInstalledMemory) {
  const int64_t available = mem_available();
  const int64_t installed = physical_memory_bytes();
  if (available < 0 || installed - available < (int64_t{512} << 20)) {
    GTEST_SKIP() << "MemAvailable is within 512 MiB of the installed memory here";
  }
  const double between = 0.5 * (static_cast<double>(available) + static_cast<double>(installed));
  EXPECT_ERROR_CONTAINING(check_fits_in_memory(between, "the test array"), "the test array needs ",
                          "of memory is available (MemAvailable ");
  EXPECT_NO_THROW(check_fits_in_memory(0.5 * static_cast<double>(available), "half of it"));
}

// A valid request too large for the machine is its own kind (Python: MemoryError); a
// size that overflows is a bad value.
TEST(CheckFitsInMemory, RefusalIsAnOutOfMemoryError) {
  EXPECT_ERROR_KIND(check_fits_in_memory(1e30, "a huge tensor"), ErrorKind::out_of_memory);
  EXPECT_ERROR_CONTAINING(check_fits_in_memory(1e30, "a huge tensor"), "a huge tensor needs ");
  EXPECT_ERROR_KIND(checked_mul(int64_t{1} << 62, 4, "a product"), ErrorKind::invalid_input);
}

TEST(MemoryLimits, ReadsMemAvailableAndACgroupV2LimitOfAnAncestor) {
  TempDir root;
  write_text(root.file("proc/meminfo"), "MemTotal:       16000000 kB\nMemAvailable:    8000000 kB\n");
  write_text(root.file("proc/self/cgroup"), "0::/jobs/job7\n");
  write_text(root.file("cg/jobs/memory.max"), "3000000000\n");
  write_text(root.file("cg/jobs/memory.current"), "1000000000\n");
  write_text(root.file("cg/jobs/job7/memory.max"), "max\n");
  write_text(root.file("cg/jobs/job7/memory.current"), "500000000\n");
  const MemoryLimits limits = read_memory_limits(root.file("proc"), root.file("cg"));
  EXPECT_EQ(limits.mem_available, int64_t{8000000} * 1024);
  EXPECT_EQ(limits.cgroup_limit, 3000000000);
  EXPECT_EQ(limits.cgroup_usage, 1000000000);
  EXPECT_EQ(limits.available(), 2000000000);  // the cgroup's room is less than MemAvailable
  EXPECT_NE(limits.describe().find("cgroup limit 2.8 GiB, 953.7 MiB in use"), std::string::npos)
      << limits.describe();
}

TEST(MemoryLimits, ReadsACgroupV1LimitAndIgnoresNoLimit) {
  TempDir root;
  write_text(root.file("proc/meminfo"), "MemAvailable:    1000 kB\n");
  write_text(root.file("proc/self/cgroup"), "5:cpu:/\n4:memory:/a/b\n0::/\n");
  write_text(root.file("cg/memory/a/b/memory.limit_in_bytes"), "9223372036854771712\n");  // no limit
  write_text(root.file("cg/memory/a/b/memory.usage_in_bytes"), "100\n");
  write_text(root.file("cg/memory/a/memory.limit_in_bytes"), "600000\n");
  write_text(root.file("cg/memory/a/memory.usage_in_bytes"), "100000\n");
  const MemoryLimits limits = read_memory_limits(root.file("proc"), root.file("cg"));
  EXPECT_EQ(limits.cgroup_limit, 600000);
  EXPECT_EQ(limits.available(), 500000);
  const MemoryLimits none = read_memory_limits(root.file("nowhere"), root.file("nowhere"));
  EXPECT_EQ(none.mem_available, -1);
  EXPECT_EQ(none.cgroup_limit, -1);
  EXPECT_EQ(none.available(), physical_memory_bytes());
}

}  // namespace
}  // namespace rnnwave
