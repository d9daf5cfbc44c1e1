#include "rnnwave/trace.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "rnnwave/npy.h"

namespace rnnwave {

void Trace::append(std::vector<TraceEvent> events, int64_t origin_ns) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (first_ns_ < 0) first_ns_ = origin_ns;
  const double shift_us = static_cast<double>(origin_ns - first_ns_) / 1e3;
  for (TraceEvent& e : events) {
    e.start_us += shift_us;
    events_.push_back(std::move(e));
  }
}

std::vector<TraceEvent> Trace::events() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_;
}

void Trace::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  events_.clear();
  first_ns_ = -1;
}

void Trace::write_chrome_json(const std::string& path) const {
  nlohmann::json trace_events = nlohmann::json::array();
  for (const TraceEvent& e : events()) {
    std::ostringstream name;
    name << e.kind << " l" << e.layer;
    if (e.direction >= 0) name << (e.reverse ? " rev" : " fwd");
    name << " t" << e.step_begin;
    if (e.step_end - e.step_begin > 1) name << "-" << e.step_end - 1;
    trace_events.push_back({{"name", name.str()},
                            {"cat", e.pass + "," + e.kind},
                            {"ph", "X"},
                            {"pid", 1},
                            {"tid", e.thread},
                            {"ts", e.start_us},
                            {"dur", e.duration_us},
                            {"args",
                             {{"pass", e.pass},
                              {"kind", e.kind},
                              {"layer", e.layer},
                              {"direction", e.direction},
                              {"split", e.split},
                              {"part", e.part},
                              {"steps", {e.step_begin, e.step_end}},
                              {"batch", {e.batch_begin, e.batch_end}},
                              {"task", e.task},
                              {"preds", e.preds}}}});
  }
  const nlohmann::json document = {{"traceEvents", trace_events}, {"displayTimeUnit", "ms"}};
  const std::string text = document.dump();
  write_file_atomic(path, std::as_bytes(std::span<const char>(text.data(), text.size())));
}

}  // namespace rnnwave
