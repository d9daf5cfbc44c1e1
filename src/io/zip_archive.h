// Zip archives in memory, through libzip: the container format of .npz.
//
// Why a separate file: libzip's C API needs careful ownership handling (a source belongs
// to the archive only once opening succeeds) and defensive size checks; keeping that here
// leaves npz.cpp about arrays only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rnnwave {

/// One member as the archive's central directory describes it.
struct ZipMember {
  std::string name;
  uint64_t size = 0;             ///< declared uncompressed size
  uint64_t compressed_size = 0;
  uint64_t index = 0;            ///< position in the archive
};

/// A zip archive opened in place (the bytes are referenced, not copied, and must outlive
/// the reader). Opening checks the whole directory: every member stored or deflated, not
/// encrypted, with sizes that can be true (a compressed size inside the archive, a stored
/// member's two sizes equal, no more than deflate can produce from its compressed size).
/// Members are inflated only when read, so a caller reads only the members it needs.
class ZipReader {
 public:
  /// Throws Error prefixed with `what` carrying libzip's message for a corrupt archive.
  ZipReader(std::span<const std::byte> archive, std::string_view what);
  ~ZipReader();
  ZipReader(ZipReader&&) noexcept;
  ZipReader& operator=(ZipReader&&) noexcept;

  /// In archive order.
  const std::vector<ZipMember>& members() const { return members_; }

  /// "WHAT: member 'NAME'" (the name escaped and shortened), for messages.
  std::string label(const ZipMember& member) const;

  /// The member's uncompressed bytes. Refused before anything is inflated: a declared size
  /// above `max_bytes` (what the caller can use; the message says "more than EXPECTED")
  /// or above the memory available. The data is inflated in chunks into a buffer that
  /// grows with the bytes actually there, so a member lying about its size costs no more
  /// than its real data; then libzip's CRC and the declared size are checked (data that
  /// ends early or runs past it is an error).
  std::vector<std::byte> read(const ZipMember& member,
                              uint64_t max_bytes = std::numeric_limits<uint64_t>::max(),
                              std::string_view expected = "") const;

  /// At most the first `count` bytes of the member (fewer if it is shorter), without
  /// inflating the rest; nothing is verified (the CRC covers the whole member).
  std::vector<std::byte> read_prefix(const ZipMember& member, size_t count) const;

 private:
  struct Archive;
  std::unique_ptr<Archive> archive_;
  std::string what_;
  std::vector<ZipMember> members_;
};

/// Calls `visit(name, bytes)` for each member of the zip archive in `archive`, in archive
/// order, with the member's uncompressed bytes (valid only during the call): ZipReader's
/// checks, every member read.
void for_each_zip_member(std::span<const std::byte> archive, std::string_view what,
                         const std::function<void(const std::string& name,
                                                  std::span<const std::byte> bytes)>& visit);

/// A zip archive (in memory) holding the given members uncompressed (ZIP_CM_STORE, as
/// np.savez does), in the given order, with a fixed timestamp so that equal contents give
/// equal bytes. `what` names the destination in messages.
std::vector<std::byte> make_stored_zip(
    const std::vector<std::pair<std::string, std::vector<std::byte>>>& members, std::string_view what);

}  // namespace rnnwave
