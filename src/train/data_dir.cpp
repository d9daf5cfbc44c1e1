// Where the data sets are looked for when a run does not say.
#include <cstdlib>
#include <filesystem>

#include "rnnwave/train/trainer.h"

// Set by src/train/CMakeLists.txt: the data folder beside the source tree.
#ifndef RNNWAVE_DEFAULT_DATA_DIR
#define RNNWAVE_DEFAULT_DATA_DIR "data"
#endif

namespace rnnwave {

std::string default_data_dir() {
  if (const char* env = std::getenv("RNNWAVE_DATA_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return std::filesystem::path(RNNWAVE_DEFAULT_DATA_DIR).lexically_normal().string();
}

}  // namespace rnnwave
