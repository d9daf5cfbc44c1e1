// .npz archives: named .npy arrays in a zip file, as np.savez writes them.
#include <set>

#include "common/strings.h"
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

}  // namespace

template <class T>
std::map<std::string, BasicTensor<T>> parse_npz(std::span<const std::byte> bytes, std::string_view what) {
  std::map<std::string, BasicTensor<T>> arrays;
  for_each_zip_member(bytes, what, [&](const std::string& name, std::span<const std::byte> data) {
    const std::string key = key_of(name);
    const std::string member = cat(what, ": member ", quote_for_message(key, 80));
    if (arrays.count(key) != 0) {
      // "x" and "x.npy", or a name repeated: which one numpy returns depends on its version.
      fail(member, ": duplicate key (member ", quote_for_message(name, 80), " repeats it)");
    }
    arrays.emplace(key, parse_npy<T>(data, member));
  });
  return arrays;
}

template <class T>
std::map<std::string, BasicTensor<T>> load_npz(const std::string& path) {
  return parse_npz<T>(read_file(path), path);
}

template <class T>
void save_npz(const std::string& path, const std::map<std::string, BasicTensor<T>>& arrays) {
  std::vector<std::pair<std::string, std::vector<std::byte>>> members;
  members.reserve(arrays.size());
  for (const auto& [key, tensor] : arrays) {
    if (key.empty()) fail(path, ": cannot save an array with an empty key");
    if (key.find('\0') != std::string::npos) {
      fail(path, ": key ", quote_for_message(key, 80), " contains a NUL character");
    }
    members.emplace_back(key + std::string(kSuffix), serialize_npy(tensor));
  }
  write_file_atomic(path, make_stored_zip(members, path));
}

#define RNNWAVE_INSTANTIATE_NPZ(T)                                                                \
  template std::map<std::string, BasicTensor<T>> parse_npz<T>(std::span<const std::byte>,         \
                                                              std::string_view);                  \
  template std::map<std::string, BasicTensor<T>> load_npz<T>(const std::string&);                 \
  template void save_npz<T>(const std::string&, const std::map<std::string, BasicTensor<T>>&);

RNNWAVE_INSTANTIATE_NPZ(float)
RNNWAVE_INSTANTIATE_NPZ(double)
RNNWAVE_INSTANTIATE_NPZ(int64_t)
#undef RNNWAVE_INSTANTIATE_NPZ

}  // namespace rnnwave
