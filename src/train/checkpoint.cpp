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

Checkpoint read_checkpoint(const std::string& path) {
  const std::string what = cat("checkpoint '", path, "'");
  const std::vector<std::byte> bytes = read_file(path);
  Checkpoint c;
  bool have_config = false, have_epochs = false, have_history = false;
  int64_t version = -1;
  std::vector<std::string> unknown;
  std::set<std::string> keys;
  BasicTensor<double> history;

  for_each_zip_member(bytes, what, [&](const std::string& name, std::span<const std::byte> data) {
    const std::string member = cat(what, ": member ", quote_for_message(name, 80));
    if (!name.ends_with(kSuffix)) {
      unknown.push_back(name);
      return;
    }
    const std::string key = name.substr(0, name.size() - kSuffix.size());
    if (!keys.insert(key).second) fail(member, ": duplicate key");
    const NpyHeader header = parse_npy_header(data, member);
    const auto expect_dtype = [&](char kind, int size, const char* expected) {
      if (header.dtype.kind != kind || header.dtype.size != size) {
        fail(member, ": expected dtype ", expected, ", got ", header.dtype.name());
      }
    };
    const auto expect_scalar = [&] {
      if (!header.shape.empty()) fail(member, ": expected a scalar (shape []), got shape ", shape_to_string(header.shape));
    };
    if (key == kVersionKey) {
      expect_dtype('i', 8, "int64");
      expect_scalar();
      version = parse_npy<int64_t>(data, member).vector()[0];
    } else if (key == "config") {
      expect_dtype('u', 1, "uint8");
      if (header.shape.size() != 1) fail(member, ": expected shape [n], got ", shape_to_string(header.shape));
      const BasicTensor<int64_t> text = parse_npy<int64_t>(data, member);
      c.config_json.assign(text.vector().begin(), text.vector().end());
      have_config = true;
    } else if (key == "epochs_done") {
      expect_dtype('i', 8, "int64");
      expect_scalar();
      c.epochs_done = parse_npy<int64_t>(data, member).vector()[0];
      have_epochs = true;
    } else if (key == "history") {
      expect_dtype('f', 8, "float64");
      if (header.shape.size() != 2 || header.shape[1] != kHistoryColumns) {
        fail(member, ": expected shape [epochs, ", kHistoryColumns, "], got ", shape_to_string(header.shape));
      }
      history = parse_npy<double>(data, member);
      have_history = true;
    } else if (starts_with(key, "param/") && key.size() > 6) {
      expect_dtype('f', 4, "float32");
      c.parameters.emplace(key.substr(6), parse_npy<float>(data, member));
    } else if (starts_with(key, "optimizer/") && key.size() > 10) {
      expect_dtype('f', 4, "float32");
      c.optimizer.tensors.emplace(key.substr(10), parse_npy<float>(data, member));
    } else if (starts_with(key, "optimizer_scalar/") && key.size() > 17) {
      expect_dtype('f', 8, "float64");
      expect_scalar();
      c.optimizer.scalars.emplace(key.substr(17), parse_npy<double>(data, member).vector()[0]);
    } else if (starts_with(key, "lr_schedule/") && key.size() > 12) {
      expect_dtype('f', 8, "float64");
      expect_scalar();
      c.lr_schedule.emplace(key.substr(12), parse_npy<double>(data, member).vector()[0]);
    } else if (starts_with(key, "task/") && key.size() > 5) {
      expect_dtype('f', 8, "float64");
      c.task_state.emplace(key.substr(5), parse_npy<double>(data, member));
    } else {
      unknown.push_back(name);
    }
  });

  if (version == -1) fail(what, ": not an rnnwave checkpoint (no member '", kVersionKey, ".npy')");
  if (version != kCheckpointVersion) {
    fail(what, ": format version ", version, ", this build reads version ", kCheckpointVersion);
  }
  if (!unknown.empty()) fail(what, ": unexpected member ", quote_for_message(unknown.front(), 80));
  if (!have_config) fail(what, ": missing member 'config.npy'");
  if (!have_epochs) fail(what, ": missing member 'epochs_done.npy'");
  if (!have_history) fail(what, ": missing member 'history.npy'");
  if (c.epochs_done < 0 || history.dim(0) != c.epochs_done) {
    fail(what, ": epochs_done is ", c.epochs_done, " but the history has ", history.dim(0), " rows");
  }
  for (int64_t e = 0; e < c.epochs_done; ++e) {
    if (history.data()[e * kHistoryColumns] != static_cast<double>(e + 1)) {
      fail(what, ": history row ", e, " is for epoch ", history.data()[e * kHistoryColumns], ", expected ", e + 1);
    }
    c.history.push_back(metrics_of_row(history.data() + e * kHistoryColumns));
  }
  return c;
}

}  // namespace rnnwave::train
