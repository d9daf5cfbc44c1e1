#include "io/zip_builder.h"

#include <algorithm>

namespace rnnwave::testing {

void append(std::vector<std::byte>& out, std::string_view text) {
  for (char c : text) out.push_back(static_cast<std::byte>(c));
}

void append_le(std::vector<std::byte>& out, uint64_t value, int size) {
  for (int i = 0; i < size; ++i) out.push_back(static_cast<std::byte>((value >> (8 * i)) & 0xff));
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

std::vector<std::byte> deflate_stored(const std::vector<std::byte>& data) {
  std::vector<std::byte> out;
  size_t done = 0;
  do {
    const size_t length = std::min<size_t>(data.size() - done, 65535);
    const bool last = done + length == data.size();
    out.push_back(std::byte{static_cast<unsigned char>(last ? 1 : 0)});  // BFINAL, BTYPE 00
    append_le(out, length, 2);
    append_le(out, ~length & 0xffff, 2);
    out.insert(out.end(), data.begin() + static_cast<std::ptrdiff_t>(done),
               data.begin() + static_cast<std::ptrdiff_t>(done + length));
    done += length;
  } while (done < data.size());
  return out;
}

}  // namespace rnnwave::testing
