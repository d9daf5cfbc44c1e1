// rnnwave/dist/config_check.h — the start-up handshake: do all ranks run the same thing?
#pragma once

#include <span>
#include <string>

#include "rnnwave/dist/world.h"

namespace rnnwave::dist {

/// One item of a run's configuration, compared across ranks: e.g. {"flags", the
/// command line that determines results}, {"build", the build id}, {"data order", a hash
/// of the data's order}. Values longer than a few hundred bytes are fine (only hashes
/// travel), but are shown cut in messages.
struct ConfigItem {
  std::string name;
  std::string value;
};

/// At most this many items (the library adds two of its own).
constexpr int kMaxConfigItems = 62;

/// Collective: every rank calls it with its own items, in the same order, before any
/// other communication of the run. Each rank's items are hashed (64-bit FNV-1a per name
/// and value), rank 0 compares every rank's hashes with its own, and if any differ every
/// rank throws CollectiveError (run_distributed then prints rank 0's message and every
/// rank exits with status 1). Rank 0's message names the first item that differs, the
/// lowest rank that differs and both values, quoted and cut:
///   "ranks disagree on 'flags': '--lr 0.1' on rank 0, '--lr 0.2' on rank 2"
/// The library adds two items of its own in front: the protocol version of this layer
/// and the MPI library's version. One rank: checks only the item count. Throws Error for
/// more than kMaxConfigItems items.
void check_same_config(World& world, std::span<const ConfigItem> items);

}  // namespace rnnwave::dist
