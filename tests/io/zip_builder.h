// Hand-built zip archives for tests and fuzzing: members with chosen (possibly lying)
// sizes, CRCs and methods, which no zip library would write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rnnwave::testing {

void append(std::vector<std::byte>& out, std::string_view text);
/// `value` as `size` little-endian bytes.
void append_le(std::vector<std::byte>& out, uint64_t value, int size);

/// One member of a hand-built zip archive. The declared sizes and CRC may lie, to test
/// how the reader copes with hostile archives.
struct ZipEntry {
  ZipEntry(std::string name_, std::vector<std::byte> data_) : name(std::move(name_)), data(std::move(data_)) {}

  std::string name;
  std::vector<std::byte> data;  // written as is (already compressed if method is 8)
  uint16_t method = 0;          // 0 stored, 8 deflated
  std::optional<uint64_t> declared_size;  // default: data.size()
  std::optional<uint32_t> crc;            // default: CRC-32 of data
  bool zip64 = false;                     // sizes in a zip64 extra field, as np.savez does
};

/// A zip archive of the entries, in order (duplicates allowed).
std::vector<std::byte> make_zip(const std::vector<ZipEntry>& entries);

uint32_t crc32(const std::vector<std::byte>& data);

/// `data` as a raw DEFLATE stream of stored blocks (no compression, no zlib needed): a
/// member with method 8 that any inflater reads back as `data`, so that its declared
/// size may lie up to deflate's 1032:1 bound.
std::vector<std::byte> deflate_stored(const std::vector<std::byte>& data);

}  // namespace rnnwave::testing
