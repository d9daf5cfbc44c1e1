// Builds without MPI: a World is always the single process.
#include "common/strings.h"
#include "dist/transport.h"

namespace rnnwave::dist {

bool built_with_mpi() { return false; }

namespace detail {

std::unique_ptr<Transport> make_mpi_transport(const WorldOptions&, const LaunchInfo&) {
  fail("dist: this rnnwave was built without MPI");
}

}  // namespace detail
}  // namespace rnnwave::dist
