// rnnwave/trace.h — a timeline of the tasks of forward and backward passes.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace rnnwave {

/// One task as it ran: what it computed and where and when.
struct TraceEvent {
  std::string pass;   ///< "forward" or "backward"
  std::string kind;   ///< project, forward, backward, input_grad, weight_grad, layer_gemm, ...
  int layer = 0;
  int direction = -1;  ///< -1 when the task covers both directions
  bool reverse = false;  ///< the direction walks the steps backward (t = T-1 .. 0)
  int split = -1;      ///< sub-batch, -1 when the task covers the whole batch
  int part = -1;       ///< hidden-unit part of a step or projection, -1: all units
  int64_t step_begin = 0, step_end = 0;
  int64_t batch_begin = 0, batch_end = 0;
  /// The task's index in its pass's task graph, and the indices of the tasks it waits
  /// for (its predecessors, all smaller): the graph exactly as the runtime ran it, so a
  /// model can replay it (bench/scaling_model.py). -1 and none for a schedule without a
  /// graph (layerwise). A backward pass the wavefront schedule runs in lock step (as
  /// layerwise does; schedule.h) records one event per operation, each over all threads,
  /// as a chain: task i waits for task i - 1.
  int64_t task = -1;
  std::vector<int32_t> preds;
  int thread = 0;
  double start_us = 0;     ///< since the trace's first event
  double duration_us = 0;
};

/// Collects events when passed in ExecOptions::trace. Thread-safe; an engine appends
/// the events of a pass once the pass is over, so tracing costs two clock reads per task.
class Trace {
 public:
  void append(std::vector<TraceEvent> events, int64_t origin_ns);
  std::vector<TraceEvent> events() const;
  void clear();

  /// Writes the Chrome trace-event JSON format (opens in Perfetto or chrome://tracing):
  /// one complete event ("ph": "X") per task, one track per thread, with the task's
  /// identity, index and predecessors in its "args". Atomic write. Defined in rnnwave_io
  /// (JSON and files), the rest of Trace in rnnwave_engine.
  void write_chrome_json(const std::string& path) const;

 private:
  mutable std::mutex mutex_;
  std::vector<TraceEvent> events_;
  int64_t first_ns_ = -1;
};

}  // namespace rnnwave
