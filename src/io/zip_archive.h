// Zip archives in memory, through libzip: the container format of .npz.
//
// Why a separate file: libzip's C API needs careful ownership handling (a source belongs
// to the archive only once opening succeeds) and defensive size checks; keeping that here
// leaves npz.cpp about arrays only.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rnnwave {

/// Calls `visit(name, bytes)` for each member of the zip archive in `archive`, in archive
/// order, with the member's uncompressed bytes (valid only during the call). Members may
/// be stored or deflated, zip64 or not. Before a member is decompressed its declared size
/// is checked against physical memory and against what its compressed size can possibly
/// expand to, so a lying header cannot trigger a huge allocation; after reading, libzip's
/// size and CRC checks apply. Throws Error prefixed with `what` (and the member name)
/// carrying libzip's message for a corrupt archive.
void for_each_zip_member(std::span<const std::byte> archive, std::string_view what,
                         const std::function<void(const std::string& name,
                                                  std::span<const std::byte> bytes)>& visit);

/// A zip archive (in memory) holding the given members uncompressed (ZIP_CM_STORE, as
/// np.savez does), in the given order, with a fixed timestamp so that equal contents give
/// equal bytes. `what` names the destination in messages.
std::vector<std::byte> make_stored_zip(
    const std::vector<std::pair<std::string, std::vector<std::byte>>>& members, std::string_view what);

}  // namespace rnnwave
