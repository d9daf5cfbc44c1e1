#include "io/io_test_support.h"

#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
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

void append(std::vector<std::byte>& out, std::string_view text) {
  for (char c : text) out.push_back(static_cast<std::byte>(c));
}

void append_le(std::vector<std::byte>& out, uint64_t value, int size) {
  for (int i = 0; i < size; ++i) out.push_back(static_cast<std::byte>((value >> (8 * i)) & 0xff));
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

uint32_t crc32(const std::vector<std::byte>& data) {
  uint32_t crc = 0xffffffffu;
  for (std::byte b : data) {
    crc ^= static_cast<uint32_t>(b);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::vector<std::byte> make_zip(const std::vector<ZipEntry>& entries) {
  constexpr uint16_t kTime = 0;
  constexpr uint16_t kDate = (20 << 9) | (1 << 5) | 1;  // 2000-01-01
  std::vector<std::byte> out;
  std::vector<std::byte> directory;
  for (const ZipEntry& entry : entries) {
    const uint64_t size = entry.declared_size.value_or(entry.data.size());
    const uint64_t compressed = entry.data.size();
    const uint32_t crc = entry.crc.value_or(crc32(entry.data));
    const uint64_t offset = out.size();
    const uint16_t version = entry.zip64 ? 45 : 20;
    std::vector<std::byte> extra;
    if (entry.zip64) {
      append_le(extra, 0x0001, 2);
      append_le(extra, 16, 2);
      append_le(extra, size, 8);
      append_le(extra, compressed, 8);
    }
    const uint64_t size32 = entry.zip64 ? 0xffffffffu : size;
    const uint64_t compressed32 = entry.zip64 ? 0xffffffffu : compressed;

    append_le(out, 0x04034b50, 4);
    append_le(out, version, 2);
    append_le(out, 0, 2);  // flags
    append_le(out, entry.method, 2);
    append_le(out, kTime, 2);
    append_le(out, kDate, 2);
    append_le(out, crc, 4);
    append_le(out, compressed32, 4);
    append_le(out, size32, 4);
    append_le(out, entry.name.size(), 2);
    append_le(out, extra.size(), 2);
    append(out, entry.name);
    out.insert(out.end(), extra.begin(), extra.end());
    out.insert(out.end(), entry.data.begin(), entry.data.end());

    append_le(directory, 0x02014b50, 4);
    append_le(directory, version, 2);  // made by
    append_le(directory, version, 2);  // needed
    append_le(directory, 0, 2);
    append_le(directory, entry.method, 2);
    append_le(directory, kTime, 2);
    append_le(directory, kDate, 2);
    append_le(directory, crc, 4);
    append_le(directory, compressed32, 4);
    append_le(directory, size32, 4);
    append_le(directory, entry.name.size(), 2);
    append_le(directory, extra.size(), 2);
    append_le(directory, 0, 2);  // comment
    append_le(directory, 0, 2);  // disk
    append_le(directory, 0, 2);  // internal attributes
    append_le(directory, 0, 4);  // external attributes
    append_le(directory, offset, 4);
    append(directory, entry.name);
    directory.insert(directory.end(), extra.begin(), extra.end());
  }
  const uint64_t directory_offset = out.size();
  out.insert(out.end(), directory.begin(), directory.end());
  append_le(out, 0x06054b50, 4);
  append_le(out, 0, 2);
  append_le(out, 0, 2);
  append_le(out, entries.size(), 2);
  append_le(out, entries.size(), 2);
  append_le(out, directory.size(), 4);
  append_le(out, directory_offset, 4);
  append_le(out, 0, 2);
  return out;
}

PythonResult run_python(const std::string& script, const std::string& argument) {
  TempDir scratch;
  const std::string script_path = scratch.file("script.py");
  {
    std::ofstream file(script_path);
    file << "import sys\nimport numpy as np\n" << script << "\n";
  }
  const std::string command = "/usr/bin/python3 '" + script_path + "' '" + argument + "' 2>&1";
  PythonResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    result.output = "popen failed for: " + command;
    return result;
  }
  std::array<char, 4096> buffer;
  size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace rnnwave::testing
