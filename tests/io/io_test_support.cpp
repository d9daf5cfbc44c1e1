#include "io/io_test_support.h"

#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace rnnwave::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "rnnwave_io_test.XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::add, ignored);
  std::filesystem::remove_all(path_, ignored);
}

std::vector<std::string> TempDir::entries() const {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(path_)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::byte> to_bytes(std::string_view text) {
  std::vector<std::byte> out;
  append(out, text);
  return out;
}

void write_bytes(const std::string& path, const std::vector<std::byte>& bytes) {
  std::ofstream file(path, std::ios::binary);
  file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!file) throw std::runtime_error("cannot write " + path);
}

std::vector<std::byte> make_npy(std::string_view header, const std::vector<std::byte>& data, int major,
                                bool pad) {
  std::string text(header);
  const size_t prefix = major == 1 ? 10 : 12;
  if (pad) {
    while ((prefix + text.size() + 1) % 64 != 0) text += ' ';
    text += '\n';
  }
  std::vector<std::byte> out = to_bytes("\x93NUMPY");
  out.push_back(static_cast<std::byte>(major));
  out.push_back(std::byte{0});
  append_le(out, text.size(), major == 1 ? 2 : 4);
  append(out, text);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

PythonResult run_python(const std::string& script, const std::string& argument) {
  TempDir scratch;
  const std::string script_path = scratch.file("script.py");
  {
    std::ofstream file(script_path);
    file << "import sys\nimport numpy as np\n" << script << "\n";
  }
  return run_command("/usr/bin/python3 '" + script_path + "' '" + argument + "'");
}

}  // namespace rnnwave::testing
