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

}  // namespace rnnwave::train
