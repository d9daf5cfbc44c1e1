// The .npy preamble and header: what the array is and where its bytes are.
//
// Layout (numpy/lib/format.py): "\x93NUMPY", major and minor version bytes, the header
// length (uint16 little-endian in version 1.0, uint32 in 2.0 and 3.0), then the header,
// a Python dict literal padded with spaces and a newline, then the raw data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rnnwave {

/// The most dimensions an .npy array may have, here as in numpy 2 (numpy 1 allows 32).
/// Bounding it keeps a hostile header from costing time in proportion to its length.
constexpr size_t kMaxRank = 64;

/// A numeric dtype the readers can convert: kind 'f' (IEEE float), 'i' (signed) or 'u'
/// (unsigned), with its size in bytes and byte order.
struct NpyDtype {
  char kind = 'f';
  int size = 4;
  bool big_endian = false;
  std::string descr;  // as written in the file, e.g. "<f4", for messages

  /// "float32", "int16", "uint64".
  std::string name() const;
};

struct NpyHeader {
  NpyDtype dtype;
  bool fortran_order = false;
  std::vector<int64_t> shape;  // () for a scalar
  int64_t elements = 0;        // product of shape (1 for a scalar)
  int64_t data_offset = 0;     // bytes before the data
  int64_t data_bytes = 0;      // elements * dtype.size
};

/// Validates everything about an .npy image except the values themselves: magic, version,
/// header length, the header dict (exactly 'descr', 'fortran_order', 'shape'), a
/// supported numeric dtype, a non-negative shape of at most kMaxRank dimensions whose
/// byte size does not overflow, and a
/// data section of exactly that size (a shorter one is "truncated", a longer one has
/// "trailing bytes"). Nothing is allocated in proportion to the claimed shape, so a
/// hostile header fails fast. Throws Error prefixed with `what`. With `with_data` false,
/// `bytes` may end after the header (the data is not checked): what a reader needs to
/// see a member's shape without inflating it.
NpyHeader parse_npy_header(std::span<const std::byte> bytes, std::string_view what,
                           bool with_data = true);

/// The length of the preamble and header that an .npy image beginning with `start`
/// declares (`start` holding at least its first 12 bytes), or 0 if `start` is not the
/// beginning of a supported .npy image (parse_npy_header then says why).
int64_t npy_header_bytes(std::span<const std::byte> start);

/// The preamble and header numpy would write for a C-order array of `shape` with dtype
/// `descr`: version 1.0, padded with spaces and a newline so that the data starts at a
/// multiple of 64 bytes. Throws Error for a rank above kMaxRank.
std::vector<std::byte> format_npy_header(std::string_view descr, const std::vector<int64_t>& shape);

}  // namespace rnnwave
