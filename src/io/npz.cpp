// .npz archives: named .npy arrays in a zip file, as np.savez writes them.
#include <cstdint>
#include <optional>
#include <set>

#include "common/strings.h"
#include "io/npy_header.h"
#include "io/python_literal.h"
#include "io/zip_archive.h"
#include "rnnwave/npy.h"

namespace rnnwave {
namespace {

constexpr std::string_view kSuffix = ".npy";

/// numpy's key for a member: its name without a trailing ".npy".
std::string key_of(const std::string& member_name) {
  if (member_name.size() >= kSuffix.size() &&
      member_name.compare(member_name.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0) {
    return member_name.substr(0, member_name.size() - kSuffix.size());
  }
  return member_name;
}

/// The largest .npy header NpzFile reads to learn a shape: numpy writes version 1.0
/// headers (at most 64 KiB) for any array of up to 64 dimensions.
constexpr int64_t kMaxHeaderBytes = 65536 + 12;

/// Bytes of the widest dtype a reader converts (float64, int64, uint64).
constexpr int64_t kWidestElement = 8;

}  // namespace

struct NpzFile::Impl {
  std::vector<std::byte> owned;  // open(): the file's bytes
  std::string what;
  std::optional<ZipReader> zip;
  std::vector<std::string> keys;
  std::map<std::string, size_t> members;  // key -> index into zip->members()

  const ZipMember& member(const std::string& key) const {
    const auto it = members.find(key);
    if (it == members.end()) fail(what, ": no member ", quote_for_message(key + std::string(kSuffix)));
    return zip->members()[it->second];
  }
  /// The member's .npy header, inflating at most kMaxHeaderBytes.
  NpyHeader header(const std::string& key) const;
};

NpzFile NpzFile::open(const std::string& path) {
  std::vector<std::byte> bytes = read_file(path);
  const std::span<const std::byte> view = bytes;  // moving the vector keeps its buffer
  NpzFile file(view, path);
  file.impl_->owned = std::move(bytes);
  return file;
}

NpzFile::NpzFile(std::span<const std::byte> bytes, std::string_view what) : impl_(std::make_unique<Impl>()) {
  impl_->what = what;
  impl_->zip.emplace(bytes, what);
  const std::vector<ZipMember>& members = impl_->zip->members();
  for (size_t i = 0; i < members.size(); ++i) {
    const std::string key = key_of(members[i].name);
    if (!impl_->members.emplace(key, i).second) {
      // "x" and "x.npy", or a name repeated: which one numpy returns depends on its version.
      fail(what, ": member ", quote_for_message(key), ": duplicate key (member ",
           quote_for_message(members[i].name), " repeats it)");
    }
    impl_->keys.push_back(key);
  }
}

NpzFile::~NpzFile() = default;
NpzFile::NpzFile(NpzFile&&) noexcept = default;
NpzFile& NpzFile::operator=(NpzFile&&) noexcept = default;

const std::vector<std::string>& NpzFile::keys() const { return impl_->keys; }

bool NpzFile::contains(const std::string& key) const { return impl_->members.count(key) != 0; }

std::string NpzFile::label(const std::string& key) const {
  return cat(impl_->what, ": member ", quote_for_message(key));
}

std::vector<int64_t> NpzFile::shape(const std::string& key) const { return impl_->header(key).shape; }

std::string NpzFile::dtype(const std::string& key) const { return impl_->header(key).dtype.name(); }

NpyHeader NpzFile::Impl::header(const std::string& key) const {
  const ZipMember& member = this->member(key);
  const std::string label = cat(what, ": member ", quote_for_message(key));
  std::vector<std::byte> start = zip->read_prefix(member, 12);
  const int64_t header = npy_header_bytes(start);
  if (header > kMaxHeaderBytes) {
    fail(label, ": .npy header of ", header, " bytes, more than numpy writes (", kMaxHeaderBytes, ")");
  }
  if (header > static_cast<int64_t>(start.size())) {
    start = zip->read_prefix(member, static_cast<size_t>(header));
  }
  return parse_npy_header(start, label, /*with_data=*/false);
}

template <class T>
BasicTensor<T> NpzFile::read(const std::string& key) const {
  return parse_npy<T>(impl_->zip->read(impl_->member(key)), label(key));
}

template <class T>
BasicTensor<T> NpzFile::read(const std::string& key, const std::vector<int64_t>& expected) const {
  const std::string what = label(key);
  const int64_t elements = shape_elements(expected);
  const double most = static_cast<double>(kMaxHeaderBytes) +
                      static_cast<double>(elements) * static_cast<double>(kWidestElement);
  const std::string because = cat("an array of shape ", shape_to_string(expected), " takes (at most ",
                                  format_bytes(most), ")");
  const uint64_t limit = most >= 1.8e19 ? UINT64_MAX : static_cast<uint64_t>(most);
  BasicTensor<T> tensor = parse_npy<T>(impl_->zip->read(impl_->member(key), limit, because), what);
  if (tensor.shape() != expected) {
    fail(what, ": expected shape ", shape_to_string(expected), ", got ", shape_to_string(tensor.shape()));
  }
  return tensor;
}

template <class T>
std::map<std::string, BasicTensor<T>> parse_npz(std::span<const std::byte> bytes, std::string_view what) {
  const NpzFile file(bytes, what);
  std::map<std::string, BasicTensor<T>> arrays;
  for (const std::string& key : file.keys()) arrays.emplace(key, file.read<T>(key));
  return arrays;
}

template <class T>
std::map<std::string, BasicTensor<T>> load_npz(const std::string& path) {
  return parse_npz<T>(read_file(path), path);
}

template <class T>
std::vector<std::byte> serialize_npz(const std::map<std::string, BasicTensor<T>>& arrays) {
  std::vector<std::pair<std::string, std::vector<std::byte>>> members;
  members.reserve(arrays.size());
  for (const auto& [key, tensor] : arrays) {
    if (key.empty()) fail("cannot save an array with an empty key");
    if (key.find('\0') != std::string::npos) fail("key ", quote_for_message(key, 80), " contains a NUL character");
    members.emplace_back(key + std::string(kSuffix), serialize_npy(tensor));
  }
  return make_stored_zip(members, ".npz");
}

template <class T>
void save_npz(const std::string& path, const std::map<std::string, BasicTensor<T>>& arrays) {
  std::vector<std::byte> bytes;
  try {
    bytes = serialize_npz(arrays);
  } catch (const Error& e) {
    fail_as(e.kind(), path, ": ", e.what());
  }
  write_file_atomic(path, bytes);
}

#define RNNWAVE_INSTANTIATE_NPZ(T)                                                                \
  template BasicTensor<T> NpzFile::read<T>(const std::string&) const;                             \
  template BasicTensor<T> NpzFile::read<T>(const std::string&, const std::vector<int64_t>&) const; \
  template std::map<std::string, BasicTensor<T>> parse_npz<T>(std::span<const std::byte>,         \
                                                              std::string_view);                  \
  template std::map<std::string, BasicTensor<T>> load_npz<T>(const std::string&);                 \
  template void save_npz<T>(const std::string&, const std::map<std::string, BasicTensor<T>>&);     \
  template std::vector<std::byte> serialize_npz<T>(const std::map<std::string, BasicTensor<T>>&);

RNNWAVE_INSTANTIATE_NPZ(float)
RNNWAVE_INSTANTIATE_NPZ(double)
RNNWAVE_INSTANTIATE_NPZ(int64_t)
#undef RNNWAVE_INSTANTIATE_NPZ

}  // namespace rnnwave
