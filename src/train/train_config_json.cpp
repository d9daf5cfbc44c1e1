#include "train/train_config_json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <set>

#include "common/strings.h"

namespace rnnwave::train {
namespace {

using nlohmann::json;

json optimizer_json(const OptimizerOptions& o) {
  return {{"kind", std::string(to_string(o.kind))},       {"learning_rate", o.learning_rate},
          {"weight_decay", o.weight_decay},  {"momentum", o.momentum},
          {"nesterov", o.nesterov},          {"beta1", o.beta1},
          {"beta2", o.beta2},                {"eps", o.eps}};
}

json schedule_json(const LrScheduleOptions& s) {
  return {{"kind", std::string(to_string(s.kind))}, {"initial", s.initial},     {"factor", s.factor},
          {"every", s.every},          {"patience", s.patience},   {"threshold", s.threshold},
          {"minimum", s.minimum},      {"period", s.period}};
}

/// A run's config is two levels deep; anything much deeper is not one, and refusing it
/// before parsing keeps a hostile file from costing stack or time.
constexpr int kMaxDepth = 16;

/// Throws unless the arrays and objects of `text` nest at most kMaxDepth deep (brackets
/// inside strings do not count).
void check_nesting(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) fail("config: JSON nested deeper than ", kMaxDepth, " levels");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

/// A JSON value for a message: scalars as written (escaped and shortened), containers by
/// their size, so a message never grows with the file.
std::string shown(const json& value) {
  if (value.is_array()) return cat("an array of ", value.size(), " values");
  if (value.is_object()) return cat("an object of ", value.size(), " keys");
  return quote_for_message(value.dump());
}

/// Reads the keys of one JSON object, each exactly once, and refuses keys not read.
class Fields {
 public:
  Fields(const json& object, std::string where) : object_(object), where_(std::move(where)) {
    if (!object.is_object()) fail("config", where_, " is not a JSON object, got ", shown(object));
  }

  const json& at(const char* key) {
    const auto it = object_.find(key);
    if (it == object_.end()) fail("config", where_, ": missing key '", key, "'");
    seen_.insert(key);
    return *it;
  }
  std::string text(const char* key) {
    const json& value = at(key);
    if (!value.is_string()) fail("config", where_, ".", key, ": expected a string, got ", shown(value));
    return value.get<std::string>();
  }
  /// A string that names a value of an enum ("lstm", "adam"): lower-case letters, digits
  /// and '_', so that the parser's "unknown name" message can quote it as it is.
  std::string name(const char* key) {
    const std::string value = text(key);
    const bool plain = !value.empty() && value.size() <= 32 &&
                       std::all_of(value.begin(), value.end(), [](char c) {
                         return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                       });
    if (!plain) fail("config", where_, ".", key, ": expected a name such as 'lstm', got ", quote_for_message(value));
    return value;
  }
  double number(const char* key) {
    const json& value = at(key);
    if (!value.is_number()) fail("config", where_, ".", key, ": expected a number, got ", shown(value));
    return value.get<double>();
  }
  int64_t integer(const char* key) {
    const json& value = at(key);
    if (!value.is_number_integer() || (value.is_number_unsigned() && value.get<uint64_t>() > INT64_MAX)) {
      fail("config", where_, ".", key, ": expected an integer, got ", shown(value));
    }
    return value.get<int64_t>();
  }
  uint64_t unsigned_integer(const char* key) {
    const json& value = at(key);
    if (!value.is_number_unsigned()) {
      fail("config", where_, ".", key, ": expected a non-negative integer, got ", shown(value));
    }
    return value.get<uint64_t>();
  }
  bool flag(const char* key) {
    const json& value = at(key);
    if (!value.is_boolean()) fail("config", where_, ".", key, ": expected true or false, got ", shown(value));
    return value.get<bool>();
  }
  /// A key added after the first checkpoints were written: `absent` when missing.
  bool optional_flag(const char* key, bool absent) {
    return object_.contains(key) ? flag(key) : absent;
  }
  int64_t optional_integer(const char* key, int64_t absent) {
    return object_.contains(key) ? integer(key) : absent;
  }
  /// Throws for the first key never read.
  void finish() const {
    for (const auto& [key, value] : object_.items()) {
      if (seen_.count(key) == 0) fail("config", where_, ": unknown key ", quote_for_message(key));
    }
  }

 private:
  const json& object_;
  std::string where_;
  std::set<std::string> seen_;
};

}  // namespace

std::string config_to_json(const TrainConfig& c, std::string_view task_name) {
  const json document = {
      {"task", task_name.empty() ? std::string(to_string(c.task)) : std::string(task_name)},
      {"data_dir", c.data_dir},
      {"cell", std::string(to_string(c.cell))},
      {"hidden_size", c.hidden_size},
      {"layers", c.layers},
      {"bidirectional", c.bidirectional},
      {"embedding_size", c.embedding_size},
      {"pooling", std::string(to_string(c.pooling))},
      {"dropout", c.dropout},
      {"optimizer", optimizer_json(c.optimizer)},
      {"lr_schedule", schedule_json(c.lr_schedule)},
      {"clip_norm", c.clip_norm},
      {"batch_size", c.batch_size},
      {"bptt", c.bptt},
      {"epochs", c.epochs},
      {"seed", c.seed},
      {"max_train", c.max_train},
      {"max_eval", c.max_eval},
      {"synthetic_steps", c.synthetic_steps},
      {"synthetic_train", c.synthetic_train},
      {"synthetic_eval", c.synthetic_eval},
      {"skip_bad_recordings", c.skip_bad_recordings},
  };
  if (c.shards != 1) {
    // Written only when not 1: a run without shards stores the same config as before they
    // existed, so its checkpoint keeps the same bytes.
    json with_shards = document;
    with_shards["shards"] = c.shards;
    return with_shards.dump(1);
  }
  return document.dump(1);
}

TrainConfig config_from_json(std::string_view text, std::string_view task_name) {
  check_nesting(text);
  json document;
  try {
    document = json::parse(text);
  } catch (const json::exception& e) {
    fail("config: invalid JSON (", quote_for_message(e.what(), 200), ")");
  }
  TrainConfig c;
  Fields f(document, "");
  const std::string task = f.name("task");
  if (task_name.empty()) {
    c.task = parse_train_task(task);
  } else if (task != task_name) {
    fail("config: the run is of task '", task, "', not '", task_name, "'");
  }
  c.data_dir = f.text("data_dir");
  c.cell = parse_cell_kind(f.name("cell"));
  c.hidden_size = f.integer("hidden_size");
  c.layers = f.integer("layers");
  c.bidirectional = f.flag("bidirectional");
  c.embedding_size = f.integer("embedding_size");
  c.pooling = parse_pooling(f.name("pooling"));
  c.dropout = f.number("dropout");
  {
    Fields o(f.at("optimizer"), ".optimizer");
    c.optimizer.kind = parse_optimizer_kind(o.name("kind"));
    c.optimizer.learning_rate = o.number("learning_rate");
    c.optimizer.weight_decay = o.number("weight_decay");
    c.optimizer.momentum = o.number("momentum");
    c.optimizer.nesterov = o.flag("nesterov");
    c.optimizer.beta1 = o.number("beta1");
    c.optimizer.beta2 = o.number("beta2");
    c.optimizer.eps = o.number("eps");
    o.finish();
  }
  {
    Fields s(f.at("lr_schedule"), ".lr_schedule");
    c.lr_schedule.kind = parse_lr_schedule_kind(s.name("kind"));
    c.lr_schedule.initial = s.number("initial");
    c.lr_schedule.factor = s.number("factor");
    c.lr_schedule.every = s.integer("every");
    c.lr_schedule.patience = s.integer("patience");
    c.lr_schedule.threshold = s.number("threshold");
    c.lr_schedule.minimum = s.number("minimum");
    c.lr_schedule.period = s.integer("period");
    s.finish();
  }
  c.clip_norm = f.number("clip_norm");
  c.batch_size = f.integer("batch_size");
  c.bptt = f.integer("bptt");
  c.epochs = f.integer("epochs");
  c.seed = f.unsigned_integer("seed");
  c.max_train = f.integer("max_train");
  c.max_eval = f.integer("max_eval");
  c.synthetic_steps = f.integer("synthetic_steps");
  c.synthetic_train = f.integer("synthetic_train");
  c.synthetic_eval = f.integer("synthetic_eval");
  c.skip_bad_recordings = f.optional_flag("skip_bad_recordings", false);  // absent before it existed
  c.shards = f.optional_integer("shards", 1);  // absent before it existed, and when 1
  f.finish();
  return c;
}

}  // namespace rnnwave::train

namespace rnnwave {

std::string to_json(const TrainConfig& config) { return train::config_to_json(config); }

}  // namespace rnnwave
