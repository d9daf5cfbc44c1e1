// Trace::write_chrome_json (declared in rnnwave/trace.h). Here in the io layer, not beside
// Trace in the engine, so that the engine needs no JSON library.
#include <nlohmann/json.hpp>
#include <sstream>

#include "rnnwave/npy.h"
#include "rnnwave/trace.h"

namespace rnnwave {

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
