#include "rnnwave/trace.h"

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

// Trace::write_chrome_json is in src/io/trace_json.cpp: JSON and files are the io layer's.

}  // namespace rnnwave
