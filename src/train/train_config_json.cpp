#include "train/train_config_json.h"

#include <nlohmann/json.hpp>

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

/// Reads the keys of one JSON object, each exactly once, and refuses keys not read.
class Fields {
 public:
  Fields(const json& object, std::string where) : object_(object), where_(std::move(where)) {
    if (!object.is_object()) fail("config", where_, " is not a JSON object");
  }

  const json& at(const char* key) {
    const auto it = object_.find(key);
    if (it == object_.end()) fail("config", where_, ": missing key '", key, "'");
    seen_.insert(key);
    return *it;
  }
  std::string text(const char* key) {
    const json& value = at(key);
    if (!value.is_string()) fail("config", where_, ".", key, ": expected a string, got ", value.dump());
    return value.get<std::string>();
  }
  double number(const char* key) {
    const json& value = at(key);
    if (!value.is_number()) fail("config", where_, ".", key, ": expected a number, got ", value.dump());
    return value.get<double>();
  }
  int64_t integer(const char* key) {
    const json& value = at(key);
    if (!value.is_number_integer() || (value.is_number_unsigned() && value.get<uint64_t>() > INT64_MAX)) {
      fail("config", where_, ".", key, ": expected an integer, got ", value.dump());
    }
    return value.get<int64_t>();
  }
  uint64_t unsigned_integer(const char* key) {
    const json& value = at(key);
    if (!value.is_number_unsigned()) {
      fail("config", where_, ".", key, ": expected a non-negative integer, got ", value.dump());
    }
    return value.get<uint64_t>();
  }
  bool flag(const char* key) {
    const json& value = at(key);
    if (!value.is_boolean()) fail("config", where_, ".", key, ": expected true or false, got ", value.dump());
    return value.get<bool>();
  }
  /// Throws for the first key never read.
  void finish() const {
    for (const auto& [key, value] : object_.items()) {
      if (seen_.count(key) == 0) fail("config", where_, ": unknown key '", key, "'");
    }
  }

 private:
  const json& object_;
  std::string where_;
  std::set<std::string> seen_;
};

}  // namespace

std::string config_to_json(const TrainConfig& c) {
  const json document = {
      {"task", std::string(to_string(c.task))},
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
  };
  return document.dump(1);
}

TrainConfig config_from_json(std::string_view text) {
  json document;
  try {
    document = json::parse(text);
  } catch (const json::exception& e) {
    fail("config: invalid JSON (", e.what(), ")");
  }
  TrainConfig c;
  Fields f(document, "");
  c.task = parse_train_task(f.text("task"));
  c.data_dir = f.text("data_dir");
  c.cell = parse_cell_kind(f.text("cell"));
  c.hidden_size = f.integer("hidden_size");
  c.layers = f.integer("layers");
  c.bidirectional = f.flag("bidirectional");
  c.embedding_size = f.integer("embedding_size");
  c.pooling = parse_pooling(f.text("pooling"));
  c.dropout = f.number("dropout");
  {
    Fields o(f.at("optimizer"), ".optimizer");
    c.optimizer.kind = parse_optimizer_kind(o.text("kind"));
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
    c.lr_schedule.kind = parse_lr_schedule_kind(s.text("kind"));
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
  f.finish();
  return c;
}

}  // namespace rnnwave::train

namespace rnnwave {

std::string to_json(const TrainConfig& config) { return train::config_to_json(config); }

}  // namespace rnnwave
