// Refusing absurd sizes before allocating them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rnnwave {

/// Physical memory of this machine in bytes.
int64_t physical_memory_bytes();

/// What limits the memory this process can still take, in bytes; -1 where unknown.
struct MemoryLimits {
  int64_t physical = -1;       ///< installed memory
  int64_t mem_available = -1;  ///< the kernel's estimate for new allocations (MemAvailable)
  int64_t cgroup_limit = -1;   ///< the tightest memory limit of this process's cgroups
  int64_t cgroup_usage = -1;   ///< what that cgroup already uses

  /// The smallest of MemAvailable and the cgroup's limit minus its usage (physical
  /// memory if neither is known).
  int64_t available() const;
  /// "(MemAvailable 3.1 GiB of 15.6 GiB; cgroup limit 8.0 GiB, 5.2 GiB in use)", for
  /// messages.
  std::string describe() const;
};

/// Reads /proc/meminfo and the memory controller of the cgroups in /proc/self/cgroup
/// (v2: memory.max and memory.current; v1: memory.limit_in_bytes and
/// memory.usage_in_bytes), each cgroup and its ancestors, under `proc` and `sys_fs_cgroup`
/// (parameters so that tests can give a fake tree).
MemoryLimits read_memory_limits(const std::string& proc = "/proc",
                                const std::string& sys_fs_cgroup = "/sys/fs/cgroup");

/// a * b, or throws Error naming `what` if the product overflows int64 or is negative.
int64_t checked_mul(int64_t a, int64_t b, std::string_view what);

/// Throws Error if `bytes` (needed for `what`) exceed the memory this process can still
/// take (MemoryLimits::available, read fresh), stating both. Sizes up to 64 MiB pass
/// without reading anything: the check is for absurd sizes, and it runs on every tensor.
void check_fits_in_memory(double bytes, std::string_view what);

}  // namespace rnnwave
