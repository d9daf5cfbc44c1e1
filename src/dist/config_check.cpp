// The start-up handshake: hashes to rank 0, its verdict to all, and the differing value
// from the rank that has it.
#include "rnnwave/dist/config_check.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/strings.h"
#include "dist/config_digest.h"
#include "dist/transport.h"
#include "rnnwave/dist/run.h"

namespace rnnwave::dist {
namespace detail {

uint64_t fnv1a(std::string_view text) {
  uint64_t hash = 14695981039346656037ull;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

ConfigDigest config_digest(std::span<const ConfigItem> items) {
  if (items.size() > static_cast<size_t>(kDigestItems)) {
    fail("check_same_config: ", items.size(), " configuration items, at most ", kDigestItems);
  }
  ConfigDigest digest{};
  digest[0] = items.size();
  for (size_t i = 0; i < items.size(); ++i) {
    digest[1 + 2 * i] = fnv1a(items[i].name);
    digest[2 + 2 * i] = fnv1a(items[i].value);
  }
  return digest;
}

int first_difference(const ConfigDigest& reference, const ConfigDigest& other) {
  const uint64_t common = std::min(reference[0], other[0]);
  for (uint64_t i = 0; i < common; ++i) {
    if (reference[1 + 2 * i] != other[1 + 2 * i] || reference[2 + 2 * i] != other[2 + 2 * i]) {
      return static_cast<int>(i);
    }
  }
  return reference[0] == other[0] ? -1 : static_cast<int>(common);
}

std::string quote(std::string_view text, size_t max_length) {
  static const char* const kHex = "0123456789abcdef";
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < max_length; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  out += text.size() > max_length ? "'..." : "'";
  return out;
}

std::string difference_message(std::span<const ConfigItem> mine, int index, int rank, bool has_theirs,
                               const ConfigItem& theirs, int64_t their_count) {
  const bool has_mine = index < static_cast<int>(mine.size());
  if (!has_mine || !has_theirs) {
    return cat("ranks disagree on the configuration: rank 0 gives ", mine.size(), " items, rank ", rank, " gives ",
               their_count);
  }
  const ConfigItem& own = mine[static_cast<size_t>(index)];
  if (own.name != theirs.name) {
    return cat("ranks disagree on the configuration: item ", index, " is ", quote(own.name), " on rank 0 but ",
               quote(theirs.name), " on rank ", rank);
  }
  return cat("ranks disagree on ", quote(own.name), ": ", quote(own.value), " on rank 0, ", quote(theirs.value),
             " on rank ", rank);
}

}  // namespace detail

namespace {

using detail::Message;

constexpr int kDigestTag = 1;
constexpr int kVerdictTag = 2;
constexpr int kItemTag = 3;
constexpr size_t kNameBytes = 256;
constexpr size_t kValueBytes = 768;

/// One item as fixed-size bytes: [count of items: int64][name][value], zero-padded.
struct ItemText {
  int64_t count = 0;
  char name[kNameBytes] = {};
  char value[kValueBytes] = {};
};

ItemText pack_item(std::span<const ConfigItem> items, int index) {
  ItemText text;
  text.count = static_cast<int64_t>(items.size());
  if (index < static_cast<int>(items.size())) {
    const ConfigItem& item = items[static_cast<size_t>(index)];
    std::memcpy(text.name, item.name.data(), std::min(item.name.size(), kNameBytes - 1));
    std::memcpy(text.value, item.value.data(), std::min(item.value.size(), kValueBytes - 1));
  }
  return text;
}

template <class T>
Message bytes_of(Message::Kind kind, int peer, int tag, T* data, size_t count = 1) {
  return {kind, peer, tag, const_cast<std::remove_const_t<T>*>(data), static_cast<int64_t>(count * sizeof(T))};
}

std::vector<ConfigItem> with_library_items(const World& world, std::span<const ConfigItem> items) {
  if (items.size() > static_cast<size_t>(kMaxConfigItems)) {
    fail("check_same_config: ", items.size(), " configuration items, at most ", kMaxConfigItems);
  }
  std::vector<ConfigItem> all{{"rnnwave distributed protocol", "1"}, {"MPI library", world.mpi_library()}};
  all.insert(all.end(), items.begin(), items.end());
  return all;
}

void check_on_rank0(World& world, detail::Transport& t, int channel, std::span<const ConfigItem> items,
                    const detail::ConfigDigest& mine) {
  const int ranks = world.size();
  std::vector<detail::ConfigDigest> digests(static_cast<size_t>(ranks));
  std::vector<Message> receives;
  for (int q = 1; q < ranks; ++q) receives.push_back(bytes_of(Message::Kind::receive, q, kDigestTag, &digests[q]));
  detail::exchange(t, channel, "exchanging configuration hashes", world.options().timeout, std::move(receives));
  std::array<int64_t, 3> verdict{0, -1, -1};  // differs, item, rank
  for (int q = 1; q < ranks && verdict[0] == 0; ++q) {
    const int index = detail::first_difference(mine, digests[q]);
    if (index >= 0) verdict = {1, index, q};
  }
  std::vector<Message> sends;
  for (int q = 1; q < ranks; ++q) sends.push_back(bytes_of(Message::Kind::send, q, kVerdictTag, verdict.data(), 3));
  detail::exchange(t, channel, "sending the configuration verdict", world.options().timeout, std::move(sends));
  if (verdict[0] == 0) return;
  auto theirs = std::make_unique<ItemText>();
  const int rank = static_cast<int>(verdict[2]);
  detail::exchange(t, channel, "receiving the differing configuration item", world.options().timeout,
                   {bytes_of(Message::Kind::receive, rank, kItemTag, theirs.get())});
  const int index = static_cast<int>(verdict[1]);
  const bool has_theirs = index < theirs->count;
  const ConfigItem item{std::string(theirs->name, strnlen(theirs->name, kNameBytes)),
                        std::string(theirs->value, strnlen(theirs->value, kValueBytes))};
  throw CollectiveError(detail::difference_message(items, index, rank, has_theirs, item, theirs->count));
}

void check_on_other_rank(World& world, detail::Transport& t, int channel, std::span<const ConfigItem> items,
                         const detail::ConfigDigest& mine) {
  std::array<int64_t, 3> verdict{};
  detail::exchange(t, channel, "exchanging configuration hashes with rank 0", world.options().timeout,
                   {bytes_of(Message::Kind::send, 0, kDigestTag, &mine),
                    bytes_of(Message::Kind::receive, 0, kVerdictTag, verdict.data(), 3)});
  if (verdict[0] == 0) return;
  if (verdict[2] == world.rank()) {
    const auto text = std::make_unique<ItemText>(pack_item(items, static_cast<int>(verdict[1])));
    detail::exchange(t, channel, "sending the differing configuration item to rank 0", world.options().timeout,
                     {bytes_of(Message::Kind::send, 0, kItemTag, text.get())});
  }
  throw CollectiveError("the configuration differs between ranks (rank 0 says how)");
}

}  // namespace

void check_same_config(World& world, std::span<const ConfigItem> items) {
  const std::vector<ConfigItem> all = with_library_items(world, items);
  const detail::ConfigDigest digest = detail::config_digest(all);
  detail::Transport* t = world.transport();
  if (t == nullptr || world.size() == 1) return;
  const int channel = t->open_channel("the configuration check");
  if (world.rank() == 0) {
    check_on_rank0(world, *t, channel, all, digest);
  } else {
    check_on_other_rank(world, *t, channel, all, digest);
  }
}

}  // namespace rnnwave::dist
