// libFuzzer harness: parse_npz on hostile archives. rnnwave::Error is the only acceptable
// outcome besides success; any other exception, crash, sanitizer report, leak, hang or
// out-of-memory (a lying size field trusted) is a finding.
//
// The first input byte picks what the rest is:
//   even: the archive itself, byte for byte (hostile zip structure);
//   odd:  a description of members that the harness wraps into a well-formed archive
//         with correct CRCs, so that mutated member contents and lying size fields reach
//         the member checks and the .npy parser instead of stopping at libzip's CRC check
//         (libzip is not instrumented, so the fuzzer cannot learn to fix CRCs itself).
#include <zlib.h>

#include <cstdint>

#include "io/zip_builder.h"
#include "rnnwave/error.h"
#include "rnnwave/npy.h"

namespace {

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
std::vector<std::byte> deflate_raw(const std::vector<std::byte>& input) {
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
/// CRC, bit 4 mark as deflated without compressing), a name of up to 15 bytes, up to
/// 64 KiB of content, and the lying size if bit 2 is set.
std::vector<std::byte> wrap_in_zip(Reader& in) {
  std::vector<rnnwave::testing::ZipEntry> entries;
  while (!in.done() && entries.size() < 8) {
    const auto flags = static_cast<unsigned>(in.number(1));
    const auto name_bytes = in.bytes(static_cast<size_t>(in.number(1) % 16));
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::vector<std::byte> wrapped;
  std::span<const std::byte> archive(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
  if (data[0] & 1u) {
    Reader in(data + 1, size - 1);
    wrapped = wrap_in_zip(in);
    archive = wrapped;
  }
  try {
    const auto arrays = rnnwave::parse_npz<float>(archive, "fuzz.npz");
    for (const auto& [key, tensor] : arrays) {
      if (tensor.size() != rnnwave::shape_elements(tensor.shape())) __builtin_trap();
    }
  } catch (const rnnwave::Error&) {
  }
  return 0;
}
