// The hashes the handshake exchanges, and how rank 0 finds the first difference.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rnnwave/dist/config_check.h"

namespace rnnwave::dist::detail {

/// 64-bit FNV-1a: not cryptographic, enough to tell configurations apart by accident.
uint64_t fnv1a(std::string_view text);

/// [item count, hash(name 0), hash(value 0), hash(name 1), ...], zero-padded to a fixed
/// size so that every rank sends the same number of bytes.
constexpr int kDigestItems = kMaxConfigItems + 2;  // the caller's and the library's
using ConfigDigest = std::array<uint64_t, 1 + 2 * kDigestItems>;
ConfigDigest config_digest(std::span<const ConfigItem> items);

/// The first item at which `other` differs from `reference`: its index (an index at or
/// past one side's count means the counts differ), or -1 when they agree.
int first_difference(const ConfigDigest& reference, const ConfigDigest& other);

/// Rank 0's message for a difference at item `index` with rank `rank`: items `mine` (rank
/// 0's) against the one item rank `rank` reported (name, value; empty name and
/// has_theirs = false when it has fewer items).
std::string difference_message(std::span<const ConfigItem> mine, int index, int rank, bool has_theirs,
                               const ConfigItem& theirs, int64_t their_count);

/// `text` in single quotes with bytes outside printable ASCII escaped as \xNN, cut with
/// "..." past max_length: safe to embed in a one-line message.
std::string quote(std::string_view text, size_t max_length = 120);

}  // namespace rnnwave::dist::detail
