// The arrays of Trainer::export_data in the making: each task adds its splits and its
// batch order (BuiltinTask::export_data), the Trainer writes the file.
#pragma once

#include <cstdint>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace rnnwave::train {

class DataExport {
 public:
  /// Adds an int64 or float32 array of the given shape.
  template <class T>
  void add(const std::string& key, std::vector<int64_t> shape, std::vector<T> values);
  /// Adds a one-dimensional array.
  template <class T>
  void add(const std::string& key, std::vector<T> values) {
    const auto count = static_cast<int64_t>(values.size());
    add<T>(key, {count}, std::move(values));
  }
  /// Adds epoch{epoch + 1}_order (the batches' members one after another) and
  /// epoch{epoch + 1}_batch_sizes.
  void add_epoch(int64_t epoch, const std::vector<std::vector<int64_t>>& batches);

  /// Writes the arrays added so far as an .npz, atomically.
  void write(const std::string& path) const;
  /// A 64-bit FNV-1a hash of every name and array added so far, in order: equal for the
  /// same data in the same order (the ranks of a distributed run compare it).
  uint64_t digest() const;

 private:
  std::vector<std::pair<std::string, std::vector<std::byte>>> members_;
};

}  // namespace rnnwave::train
