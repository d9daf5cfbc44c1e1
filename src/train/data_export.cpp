#include "train/data_export.h"

#include "io/zip_archive.h"
#include "rnnwave/npy.h"

namespace rnnwave::train {

template <class T>
void DataExport::add(const std::string& key, std::vector<int64_t> shape, std::vector<T> values) {
  members_.emplace_back(key + ".npy", serialize_npy(BasicTensor<T>(std::move(shape), std::move(values))));
}

template void DataExport::add<float>(const std::string&, std::vector<int64_t>, std::vector<float>);
template void DataExport::add<int64_t>(const std::string&, std::vector<int64_t>, std::vector<int64_t>);

void DataExport::add_epoch(int64_t epoch, const std::vector<std::vector<int64_t>>& batches) {
  std::vector<int64_t> order, sizes;
  for (const std::vector<int64_t>& batch : batches) {
    order.insert(order.end(), batch.begin(), batch.end());
    sizes.push_back(static_cast<int64_t>(batch.size()));
  }
  const std::string prefix = "epoch" + std::to_string(epoch + 1);
  add<int64_t>(prefix + "_order", std::move(order));
  add<int64_t>(prefix + "_batch_sizes", std::move(sizes));
}

void DataExport::write(const std::string& path) const {
  write_file_atomic(path, make_stored_zip(members_, path));
}

uint64_t DataExport::digest() const {
  uint64_t hash = 0xcbf29ce484222325ULL;
  const auto mix = [&hash](const std::byte* data, size_t size) {
    for (size_t i = 0; i < size; ++i) {
      hash = (hash ^ static_cast<uint64_t>(data[i])) * 0x100000001b3ULL;
    }
  };
  for (const auto& [name, bytes] : members_) {
    mix(reinterpret_cast<const std::byte*>(name.data()), name.size() + 1);  // with its '\0'
    mix(bytes.data(), bytes.size());
  }
  return hash;
}

}  // namespace rnnwave::train
