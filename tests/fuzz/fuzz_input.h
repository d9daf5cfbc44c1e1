// Turning fuzzer bytes into archives: shared by the .npz and checkpoint harnesses.
//
// libzip is not instrumented, so the fuzzer cannot learn to fix CRCs itself; a
// description of members that the harness wraps into a well-formed archive (correct CRCs,
// optionally lying sizes) lets mutated contents reach our own checks.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "io/zip_builder.h"

namespace rnnwave::fuzzing {

/// Consumes the input front to back; reads past the end give zeros.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  uint64_t number(int bytes) {
    uint64_t value = 0;
    for (int i = 0; i < bytes; ++i) value |= static_cast<uint64_t>(pos_ < size_ ? data_[pos_++] : 0) << (8 * i);
    return value;
  }
  std::vector<std::byte> bytes(size_t count) {
    count = std::min(count, size_ - std::min(pos_, size_));
    std::vector<std::byte> out(reinterpret_cast<const std::byte*>(data_ + pos_),
                               reinterpret_cast<const std::byte*>(data_ + pos_ + count));
    pos_ += count;
    return out;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

/// Raw DEFLATE (no zlib header), as zip members hold it.
inline std::vector<std::byte> deflate_raw(const std::vector<std::byte>& input) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) __builtin_trap();
  std::vector<std::byte> out(deflateBound(&stream, input.size()));
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(input.data()));
  stream.avail_in = static_cast<uInt>(input.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  if (deflate(&stream, Z_FINISH) != Z_STREAM_END) __builtin_trap();
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

/// Per member: flags (bit 0 deflate, bit 1 zip64, bit 2 lie about the size, bit 3 wrong
/// CRC, bit 4 mark as deflated without compressing), a name of up to `max_name` bytes,
/// up to 64 KiB of content, and the lying size if bit 2 is set.
inline std::vector<std::byte> wrap_in_zip(Reader& in, size_t max_name = 15) {
  std::vector<rnnwave::testing::ZipEntry> entries;
  while (!in.done() && entries.size() < 8) {
    const auto flags = static_cast<unsigned>(in.number(1));
    const auto name_bytes = in.bytes(static_cast<size_t>(in.number(1) % (max_name + 1)));
    std::string name(reinterpret_cast<const char*>(name_bytes.data()), name_bytes.size());
    std::vector<std::byte> content = in.bytes(static_cast<size_t>(in.number(2)));
    const uint64_t size = content.size();
    const uint32_t crc = rnnwave::testing::crc32(content);
    if (flags & 1u) content = deflate_raw(content);
    rnnwave::testing::ZipEntry entry(std::move(name), std::move(content));
    entry.method = (flags & (1u | 16u)) ? 8 : 0;
    entry.zip64 = (flags & 2u) != 0;
    entry.declared_size = (flags & 4u) ? in.number(8) : size;
    entry.crc = (flags & 8u) ? crc ^ 1u : crc;
    entries.push_back(std::move(entry));
  }
  return rnnwave::testing::make_zip(entries);
}

}  // namespace rnnwave::fuzzing
