// The World: MPI when started by a launcher in a build with MPI, the single process
// otherwise.
#include "rnnwave/dist/world.h"

#include <atomic>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <sstream>

#include "common/strings.h"
#include "dist/transport.h"
#include "rnnwave/dist/launcher.h"

namespace rnnwave::dist {
namespace {

std::atomic<bool> g_world_exists{false};

void validate(const WorldOptions& options) {
  if (!(options.timeout.count() > 0)) {
    fail("dist: the deadline must be positive, got ", options.timeout.count(), " s");
  }
  if (options.max_message_bytes < 1 || options.max_message_bytes > INT_MAX) {
    fail("dist: max_message_bytes must be in [1, ", INT_MAX, "], got ", options.max_message_bytes);
  }
  if (options.max_poll_interval.count() < 1) {
    fail("dist: max_poll_interval must be at least 1 us, got ", options.max_poll_interval.count(), " us");
  }
}

}  // namespace

namespace detail {

std::string format_seconds(Seconds s) {
  std::ostringstream out;
  out << std::setprecision(3) << s.count() << " s";
  return out.str();
}

}  // namespace detail

World::World(WorldOptions options) : options_(std::move(options)) {
  validate(options_);
  if (g_world_exists.exchange(true)) fail("dist: a World exists already (one per process)");
  try {
    const LaunchInfo launch = detect_launcher();
    if (!built_with_mpi()) {
      refuse_launcher_without_mpi(launch);
      return;
    }
    if (!launch.launched) return;
    transport_ = detail::make_mpi_transport(options_, launch);
    rank_ = transport_->rank();
    size_ = transport_->size();
  } catch (...) {
    g_world_exists = false;
    throw;
  }
}

World::~World() {
  transport_.reset();
  g_world_exists = false;
}

std::string World::mpi_library() const { return transport_ ? transport_->library_version() : std::string(); }

void World::abort(std::string_view message) const {
  if (transport_) transport_->abort(cat(options_.program, ": error: rank ", rank_, ": ", message));
  std::fprintf(stderr, "%s: error: %.*s\n", options_.program.c_str(), static_cast<int>(message.size()),
               message.data());
  std::fflush(stderr);
  std::exit(1);
}

void World::barrier(std::string_view what) {
  if (transport_) transport_->barrier(what);
}

}  // namespace rnnwave::dist
