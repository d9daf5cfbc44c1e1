// rnnwave/planner.h — choosing a Plan per call from a cost model instead of fixed defaults.
//
// A pass can be cut into tasks in many ways (rnn.h Plan: schedule, step block, batch and
// hidden splits); every way computes the same bits (docs/design.md §5), so the choice
// changes speed only. The planner predicts the time of each candidate from a calibration
// of this machine (the kernels' measured rates by GEMM shape, the runtime's measured cost
// per task) by list-scheduling the candidate's actual task graph on its threads (a
// backward pass in lock step, schedule.h, as the layerwise schedule's), and picks the
// fastest. The calibration takes a few seconds and is cached per machine.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rnnwave/model.h"
#include "rnnwave/rnn.h"
#include "rnnwave/schedule.h"

namespace rnnwave {

/// What the cost model knows about this machine. All times are for one thread.
struct Calibration {
  /// The packed-weight kernel's rate for a product C[rows, n] = A[rows, k] B[k, n].
  struct KernelPoint {
    int64_t rows = 0, k = 0, n = 0;
    double gflops = 0;  ///< 2*rows*k*n / seconds / 1e9, > 0
  };
  /// A full grid: every rows value with every (k, n) pair, sorted by (k*n, rows).
  std::vector<KernelPoint> kernel;
  double pointwise_ns = 0;     ///< per gate element of a step's pointwise math
  double task_ns_inline = 0;   ///< per task when one thread runs a graph inline
  /// The OpenMP runtime on `threads` threads. pass_ns: the fixed cost of running a graph
  /// there (starting or waking the team, the final wait), measured on a graph of two
  /// empty tasks; task_ns: what the list schedule must add to every task to reproduce the
  /// measured time of a graph of a thousand short tasks, beyond pass_ns. The layerwise
  /// schedule pays pass_ns at each of its parallel loops.
  struct RuntimePoint {
    int threads = 0;
    double task_ns = 0;
    double pass_ns = 0;
  };
  std::vector<RuntimePoint> runtime;  ///< sorted by threads, at least one entry
  /// Whether the values are usable (positive, finite, a full kernel grid); the cache
  /// treats a file failing this as corrupt.
  bool valid() const;
  /// Predicted seconds of one packed product of that shape (interpolated in log rows and
  /// log k*n from the grid, clamped at its edges).
  double product_seconds(int64_t rows, int64_t k, int64_t n) const;
  /// The runtime at `threads` (> 1) threads: the nearest measured count.
  const RuntimePoint& runtime_at(int threads) const;
};

/// Measures this machine (a few seconds): the packed kernel on a grid of shapes, the
/// pointwise math, and the per-task cost of the inline runner and of the OpenMP runtime at
/// 2 and at every core's threads.
Calibration calibrate();

/// What identifies a calibration's machine and code: the build id of the binary holding
/// the engine (or its size and modification time where it has none), the CPU model, the
/// core count and the kernel variant. A cached calibration under another key is stale.
std::string calibration_key();

/// $XDG_CACHE_HOME/rnnwave, else $HOME/.cache/rnnwave; empty if neither is set.
std::string default_calibration_dir();

/// The calibration cached in `dir` (file `calibration.txt`) if it is there, readable and
/// under `key`; otherwise runs `measure` and writes its result there atomically (a
/// temporary file renamed over the old one). A missing file calibrates silently; a
/// corrupt or stale file, or a directory that cannot be written (empty `dir` included),
/// sets `note` to one line saying so and what was done (the result is then used without
/// caching); never throws for the cache's sake. `note` may be null.
Calibration cached_calibration(const std::string& dir, std::string* note,
                               const std::function<Calibration()>& measure = calibrate,
                               const std::string& key = calibration_key());

/// The plan a model of `spec` run with `options` follows for a pass of T = `steps`,
/// N = `batch` (BasicRnn::plan's, without a model's weights): what `options` asks, the
/// automatic rules for the rest, which may differ between an inference pass and a training
/// pass (forward and backward) of the same sizes: `training` says which (false, the
/// default, for inference). Throws Error for an invalid spec or options.
Plan plan_of(const ModelSpec& spec, int64_t steps, int64_t batch, const ExecOptions& options,
             bool training = false);

/// The candidate plans of a pass of T = `steps`, N = `batch` under `options.threads`
/// (0 = every core): sequential with each step block; above one thread, wavefront with each
/// step block x batch splits x hidden splits within sensible ranges (hidden splits only
/// for cells that split by units) and layerwise; always the default plan (of an inference
/// or a training pass: `training`), first. The weight-gradient block is fixed by (T, N) in
/// every candidate: it fixes the order of the gradients' sums, so varying it would change
/// their bits. Every candidate gives the same results as the default plan, bit for bit.
std::vector<Plan> plan_candidates(const ModelSpec& spec, int64_t steps, int64_t batch,
                                  const ExecOptions& options, bool training = false);

/// Predicted milliseconds of one inference pass (training = false) or one forward plus
/// backward with every gradient (training = true) of T = `steps`, N = `batch` under
/// `plan` on this calibration.
double predict_ms(const ModelSpec& spec, int64_t steps, int64_t batch, bool training,
                  const Plan& plan, const Calibration& calibration);

/// The candidate with the lowest predicted time (the first on ties). It builds and
/// list-schedules every candidate's task graphs: from under a millisecond for small
/// problems to a few hundred milliseconds for long, deep ones, so plan once per (T, N)
/// and pin the result (pin_plan), as a training loop's batches share one shape.
Plan auto_plan(const ModelSpec& spec, int64_t steps, int64_t batch, bool training,
               const ExecOptions& options, const Calibration& calibration);

/// `options` with the plan pinned: a model run with them follows `plan` exactly for a
/// pass of the (T, N) the plan was made for.
ExecOptions pin_plan(ExecOptions options, const Plan& plan);

}  // namespace rnnwave
