// Launcher detection from the environment.
#include "rnnwave/dist/launcher.h"

#include <charconv>
#include <cstdlib>
#include <string_view>

#include "common/strings.h"

namespace rnnwave::dist {
namespace {

std::optional<int> parse_int(const char* text) {
  if (text == nullptr) return std::nullopt;
  const std::string_view view(text);
  int value = 0;
  const auto [end, ec] = std::from_chars(view.data(), view.data() + view.size(), value);
  if (ec != std::errc() || end != view.data() + view.size() || value < 0) return std::nullopt;
  return value;
}

}  // namespace

LaunchInfo detect_launcher(const std::function<const char*(const char*)>& getenv) {
  const auto get = [&](const char* name) -> const char* {
    return getenv ? getenv(name) : std::getenv(name);
  };
  LaunchInfo info;
  // Size variables first (they decide), then rank variables.
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MPI_LOCALNRANKS"}) {
    if (const auto value = parse_int(get(name))) {
      info.launched = true;
      if (info.size < *value) {
        info.size = *value;
        info.evidence = cat(name, "=", *value);
      }
    }
  }
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"}) {
    if (const auto value = parse_int(get(name))) {
      if (!info.launched || info.evidence.empty()) info.evidence = cat(name, "=", *value);
      info.launched = true;
      if (info.rank < 0) info.rank = *value;
    }
  }
  return info;
}

bool launched_as_many(const LaunchInfo& info) {
  return info.launched && (info.size > 1 || info.rank > 0);
}

void refuse_launcher_without_mpi(const LaunchInfo& info) {
  if (!launched_as_many(info)) return;
  const std::string copies = info.size > 1 ? cat(info.size) : std::string("several");
  fail("this rnnwave was built without MPI but was started by an MPI launcher as one of ", copies,
       " processes (", info.evidence, "): it would run ", copies,
       " independent copies; rebuild with MPI (see README, 'On a cluster') or run it without mpirun");
}

}  // namespace rnnwave::dist
