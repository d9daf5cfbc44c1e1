#include "train/checkpoint.h"

#include <cmath>
#include <cstring>
#include <set>
#include <utility>

#include "common/strings.h"
#include "io/npy_header.h"
#include "io/python_literal.h"
#include "io/zip_archive.h"
#include "rnnwave/npy.h"

namespace rnnwave::train {
namespace {

constexpr std::string_view kVersionKey = "rnnwave_checkpoint";
constexpr std::string_view kSuffix = ".npy";

using Members = std::vector<std::pair<std::string, std::vector<std::byte>>>;

std::vector<double> history_row(const EpochMetrics& m) {
  return {static_cast<double>(m.epoch), m.train_loss,    m.valid_loss,    m.valid_accuracy,
          m.valid_perplexity,           m.learning_rate, m.train_seconds, m.items_per_second};
}

EpochMetrics metrics_of_row(const double* row) {
  EpochMetrics m;
  m.epoch = static_cast<int64_t>(row[0]);
  m.train_loss = row[1];
  m.valid_loss = row[2];
  m.valid_accuracy = row[3];
  m.valid_perplexity = row[4];
  m.learning_rate = row[5];
  m.train_seconds = row[6];
  m.items_per_second = row[7];
  return m;
}

std::vector<std::byte> uint8_npy(std::string_view text) {
  std::vector<std::byte> bytes = format_npy_header("|u1", {static_cast<int64_t>(text.size())});
  const size_t header = bytes.size();
  bytes.resize(header + text.size());
  if (!text.empty()) std::memcpy(bytes.data() + header, text.data(), text.size());
  return bytes;
}

template <class T>
std::vector<std::byte> scalar_npy(T value) {
  return serialize_npy(BasicTensor<T>(std::vector<int64_t>{}, std::vector<T>{value}));
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

}  // namespace

void write_checkpoint(const std::string& path, const Checkpoint& c) {
  Members members;
  const auto add = [&](std::string key, std::vector<std::byte> bytes) {
    members.emplace_back(key + std::string(kSuffix), std::move(bytes));
  };
  add("config", uint8_npy(c.config_json));
  add("epochs_done", scalar_npy<int64_t>(c.epochs_done));
  std::vector<double> history;
  for (const EpochMetrics& m : c.history) {
    const std::vector<double> row = history_row(m);
    history.insert(history.end(), row.begin(), row.end());
  }
  add("history", serialize_npy(BasicTensor<double>(
                     {static_cast<int64_t>(c.history.size()), kHistoryColumns}, std::move(history))));
  for (const auto& [key, value] : c.lr_schedule) add("lr_schedule/" + key, scalar_npy<double>(value));
  for (const auto& [key, tensor] : c.optimizer.tensors) add("optimizer/" + key, serialize_npy(tensor));
  for (const auto& [key, value] : c.optimizer.scalars) add("optimizer_scalar/" + key, scalar_npy<double>(value));
  for (const auto& [name, tensor] : c.parameters) add("param/" + name, serialize_npy(tensor));
  add(std::string(kVersionKey), scalar_npy<int64_t>(kCheckpointVersion));
  for (const auto& [key, tensor] : c.task_state) add("task/" + key, serialize_npy(tensor));
  const std::string what = cat("checkpoint '", path, "'");
  write_file_atomic(path, make_stored_zip(members, what));
}

namespace {

/// The most a config or one task-state entry may take: both are a few hundred bytes.
constexpr int64_t kMaxSmallMemberBytes = int64_t{1} << 20;

/// The dtype of a known member ("int64", "float32", ...), or "" for an unknown key.
std::string_view dtype_of_key(std::string_view key) {
  if (key == kVersionKey || key == "epochs_done") return "int64";
  if (key == "config") return "uint8";
  if (key == "history") return "float64";
  constexpr std::pair<std::string_view, std::string_view> kPrefixes[] = {
      {"param/", "float32"},           {"optimizer/", "float32"}, {"optimizer_scalar/", "float64"},
      {"lr_schedule/", "float64"},     {"task/", "float64"}};
  for (const auto& [prefix, dtype] : kPrefixes) {
    if (starts_with(key, prefix) && key.size() > prefix.size()) return dtype;
  }
  return "";
}

}  // namespace

CheckpointReader::CheckpointReader(const std::string& path) : what_(cat("checkpoint '", path, "'")) {
  // read_file names the path; the archive's errors name the checkpoint.
  bytes_ = read_file(path);
  npz_ = std::make_unique<NpzFile>(bytes_, what_);
  read_small_members();
}

CheckpointReader::CheckpointReader(std::span<const std::byte> bytes, std::string what)
    : what_(std::move(what)), npz_(std::make_unique<NpzFile>(bytes, what_)) {
  read_small_members();
}

CheckpointReader::~CheckpointReader() = default;

void CheckpointReader::read_small_members() {
  const NpzFile& npz = *npz_;
  if (!npz.contains(std::string(kVersionKey))) {
    fail(what_, ": not an rnnwave checkpoint (no member '", kVersionKey, kSuffix, "')");
  }
  // Every member known by its name and its header's dtype, before any data is inflated.
  for (const std::string& key : npz.keys()) {
    const std::string_view expected = dtype_of_key(key);
    if (expected.empty()) fail(what_, ": unexpected member ", quote_for_message(key + std::string(kSuffix)));
    const std::string actual = npz.dtype(key);
    if (actual != expected) fail(npz.label(key), ": expected dtype ", expected, ", got ", actual);
  }
  const auto require = [&](std::string_view key) {
    if (!npz.contains(std::string(key))) fail(what_, ": missing member '", key, kSuffix, "'");
  };
  const int64_t version = npz.read<int64_t>(std::string(kVersionKey), {}).vector()[0];
  if (version != kCheckpointVersion) {
    fail(what_, ": format version ", version, ", this build reads version ", kCheckpointVersion);
  }
  require("config");
  const std::vector<int64_t> config_shape = npz.shape("config");
  if (config_shape.size() != 1 || config_shape[0] > kMaxSmallMemberBytes) {
    fail(npz.label("config"), ": expected text of at most ", kMaxSmallMemberBytes, " bytes (shape [n]), got shape ",
         shape_to_string(config_shape));
  }
  const BasicTensor<int64_t> text = npz.read<int64_t>("config", config_shape);
  config_json_.assign(text.vector().begin(), text.vector().end());
  require("epochs_done");
  epochs_done_ = npz.read<int64_t>("epochs_done", {}).vector()[0];
  require("history");
  if (epochs_done_ < 0 || epochs_done_ > (int64_t{1} << 32)) {
    fail(what_, ": epochs_done is ", epochs_done_);
  }
  const std::vector<int64_t> history_shape = npz.shape("history");
  if (history_shape.size() != 2 || history_shape[1] != kHistoryColumns) {
    fail(npz.label("history"), ": expected shape [epochs, ", kHistoryColumns, "], got ",
         shape_to_string(history_shape));
  }
  if (history_shape[0] != epochs_done_) {
    fail(what_, ": epochs_done is ", epochs_done_, " but the history has ", history_shape[0], " rows");
  }
  const BasicTensor<double> history = npz.read<double>("history", history_shape);
  for (int64_t e = 0; e < epochs_done_; ++e) {
    if (history.data()[e * kHistoryColumns] != static_cast<double>(e + 1)) {
      fail(what_, ": history row ", e, " is for epoch ", history.data()[e * kHistoryColumns], ", expected ", e + 1);
    }
    history_.push_back(metrics_of_row(history.data() + e * kHistoryColumns));
  }
  for (const std::string& key : npz.keys()) {
    if (starts_with(key, "param/")) parameter_names_.push_back(key.substr(6));
    if (starts_with(key, "optimizer/")) optimizer_keys_.push_back(key.substr(10));
    if (starts_with(key, "optimizer_scalar/")) {
      optimizer_scalars_.emplace(key.substr(17), npz.read<double>(key, {}).vector()[0]);
    }
    if (starts_with(key, "lr_schedule/")) lr_schedule_.emplace(key.substr(12), npz.read<double>(key, {}).vector()[0]);
    if (starts_with(key, "task/")) {
      const std::vector<int64_t> shape = npz.shape(key);
      if (shape_elements(shape) * 8 > kMaxSmallMemberBytes) {
        fail(npz.label(key), ": shape ", shape_to_string(shape), " is larger than any task state (at most ",
             kMaxSmallMemberBytes / 8, " values)");
      }
      task_state_.emplace(key.substr(5), npz.read<double>(key, shape));
    }
  }
}

std::vector<int64_t> CheckpointReader::parameter_shape(const std::string& name) const {
  return npz_->shape("param/" + name);
}

std::vector<int64_t> CheckpointReader::optimizer_shape(const std::string& key) const {
  return npz_->shape("optimizer/" + key);
}

Tensor CheckpointReader::parameter(const std::string& name, const std::vector<int64_t>& shape) const {
  return npz_->read<float>("param/" + name, shape);
}

Tensor CheckpointReader::optimizer_tensor(const std::string& key, const std::vector<int64_t>& shape) const {
  return npz_->read<float>("optimizer/" + key, shape);
}

Checkpoint read_checkpoint(const std::string& path) {
  const CheckpointReader reader(path);
  Checkpoint c;
  c.config_json = reader.config_json();
  c.epochs_done = reader.epochs_done();
  c.history = reader.history();
  c.lr_schedule = reader.lr_schedule();
  c.optimizer.scalars = reader.optimizer_scalars();
  c.task_state = reader.task_state();
  for (const std::string& name : reader.parameter_names()) {
    c.parameters.emplace(name, reader.parameter(name, reader.parameter_shape(name)));
  }
  for (const std::string& key : reader.optimizer_keys()) {
    c.optimizer.tensors.emplace(key, reader.optimizer_tensor(key, reader.optimizer_shape(key)));
  }
  return c;
}

}  // namespace rnnwave::train
