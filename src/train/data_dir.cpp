// Where the data sets are looked for when a run does not say:
//   1. $RNNWAVE_DATA_DIR, if set and not empty;
//   2. in a program of rnnwave's build tree (build/rnnwave, the tests, the Python module),
//      the data folder beside the source tree, which source_tree_data_dir.cpp defines and
//      only those programs link;
//   3. else "data" in the working directory.
// The library itself holds no path of the machine it was built on, so an installed library
// (and the installed tool) follows rules 1 and 3 only.
#include <cstdlib>
#include <filesystem>

#include "rnnwave/train/trainer.h"

// Weak: null unless the program links source_tree_data_dir.cpp's definition.
extern "C" __attribute__((weak)) const char* rnnwave_source_tree_data_dir();

namespace rnnwave {

std::string default_data_dir() {
  if (const char* env = std::getenv("RNNWAVE_DATA_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  if (rnnwave_source_tree_data_dir != nullptr) {
    return std::filesystem::path(rnnwave_source_tree_data_dir()).lexically_normal().string();
  }
  return "data";
}

}  // namespace rnnwave
