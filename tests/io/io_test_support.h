// Helpers shared by the io tests: temporary directories, hand-made .npy and .zip images,
// and running NumPy to check interoperability.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "io/zip_builder.h"
#include "support/run_command.h"

namespace rnnwave::testing {

/// A fresh directory (mkdtemp) removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }
  /// Names of the entries in the directory, sorted (to check no temporary file is left).
  std::vector<std::string> entries() const;

 private:
  std::string path_;
};

std::vector<std::byte> to_bytes(std::string_view text);

void write_bytes(const std::string& path, const std::vector<std::byte>& bytes);

/// An .npy image with the given header text and raw data. `major` selects format version
/// 1.0, 2.0 or 3.0. With `pad`, the header gets spaces and a newline so that the data is
/// 64-byte aligned, as numpy writes it; without, it is used verbatim.
std::vector<std::byte> make_npy(std::string_view header, const std::vector<std::byte>& data,
                                int major = 1, bool pad = true);

/// Little-endian bytes of the given values.
template <class T>
std::vector<std::byte> raw_bytes(const std::vector<T>& values) {
  std::vector<std::byte> out(values.size() * sizeof(T));
  for (size_t i = 0; i < values.size(); ++i) {
    const auto* p = reinterpret_cast<const std::byte*>(&values[i]);
    std::copy(p, p + sizeof(T), out.begin() + static_cast<std::ptrdiff_t>(i * sizeof(T)));
  }
  return out;
}

using PythonResult = CommandResult;

/// Runs `script` with /usr/bin/python3 (NumPy imported as np beforehand), with sys.argv[1]
/// = `argument`. A missing python3 or numpy is an ordinary failure, not a skip: the interop
/// tests are the only proof that numpy accepts what we write.
PythonResult run_python(const std::string& script, const std::string& argument);

}  // namespace rnnwave::testing
