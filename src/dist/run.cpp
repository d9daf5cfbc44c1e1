// run_distributed: one exit path for every failure of a distributed program.
#include "rnnwave/dist/run.h"

#include <cstdio>
#include <memory>

#include "rnnwave/dist/launcher.h"

namespace rnnwave::dist {
namespace {

void print_error(const WorldOptions& options, const char* message) {
  std::fprintf(stderr, "%s: error: %s\n", options.program.c_str(), message);
  std::fflush(stderr);
}

/// A rank's own failure: alone it just reports; among several it ends the job.
int fail_alone(World& world, const char* message) {
  if (world.size() > 1) world.abort(message);
  print_error(world.options(), message);
  return 1;
}

}  // namespace

int run_distributed(const WorldOptions& options, const std::function<int(World&)>& body) {
  std::unique_ptr<World> world;
  try {
    world = std::make_unique<World>(options);
  } catch (const std::exception& e) {
    // Not joined to the others (if any): only the launcher's rank 0 speaks.
    if (detect_launcher().rank <= 0) print_error(options, e.what());
    return 1;
  }
  try {
    return body(*world);
  } catch (const CollectiveError& e) {
    if (world->rank() == 0) print_error(options, e.what());
    world->barrier("leaving together after an error every rank raised");
    return 1;
  } catch (const std::exception& e) {
    return fail_alone(*world, e.what());
  } catch (...) {
    return fail_alone(*world, "unknown exception");
  }
}

}  // namespace rnnwave::dist
