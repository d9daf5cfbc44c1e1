// Measuring this machine for the planner's cost model: the packed kernel's rate on a grid
// of shapes, the pointwise math, and the runtimes' cost per task. A few seconds in all.
#include <omp.h>

#include <algorithm>
#include <chrono>

#include "common/scoped_threads.h"
#include "graph/cost_model.h"
#include "graph/graph_runtime.h"
#include "kernels/activations.h"
#include "kernels/denormals.h"
#include "kernels/packed_gemm.h"
#include "rnnwave/random.h"

namespace rnnwave {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Seconds per call of f: calls repeated for at least `least` seconds, the faster of two
/// such rounds (the first also warms the caches).
template <class F>
double time_per_call(F&& f, double least) {
  double best = 1e30;
  for (int round = 0; round < 2; ++round) {
    const auto start = std::chrono::steady_clock::now();
    int64_t calls = 0;
    do {
      f();
      ++calls;
    } while (seconds_since(start) < least || calls < 2);
    best = std::min(best, seconds_since(start) / double(calls));
  }
  return best;
}

/// count values in [-1, 1) from rnnwave's generator, stream `stream` (timing inputs: any
/// values that are not denormal or special would do).
std::vector<float> random_values(int64_t count, uint64_t stream) {
  const uint64_t key = counter_key(1, stream, 0);
  std::vector<float> v(static_cast<size_t>(count));
  for (size_t i = 0; i < v.size(); ++i) v[i] = 2.0f * counter_uniform_float(key, i) - 1.0f;
  return v;
}

std::vector<Calibration::KernelPoint> measure_kernel() {
  // Weight sizes from a small cell's (in L1/L2) to a large one's (beyond the last-level
  // cache), rows from one sequence to a projection over a block of steps.
  const int64_t shapes[][2] = {{64, 256}, {256, 1024}, {512, 2048}, {1024, 4096}};
  const int64_t rows[] = {1, 4, 16, 64, 256};
  std::vector<Calibration::KernelPoint> points;
  for (const auto& shape : shapes) {
    const int64_t k = shape[0], n = shape[1];
    const std::vector<float> w = random_values(k * n, 2 * points.size());
    const kernels::PackedMatrix<float> b(w.data(), k, n, k, true);
    for (int64_t m : rows) {
      const std::vector<float> a = random_values(m * k, 2 * points.size() + 1);
      std::vector<float> c(static_cast<size_t>(m * n));
      const double s = time_per_call(
          [&] { kernels::gemm_packed(m, a.data(), k, b, false, c.data(), n); }, 0.015);
      points.push_back({m, k, n, 2.0 * double(m * k * n) / s / 1e9});
    }
  }
  return points;
}

double measure_pointwise_ns() {
  std::vector<float> x = random_values(1 << 16, 0), y(x.size());
  const double s = time_per_call(
      [&] {
        for (size_t i = 0; i < x.size(); ++i) y[i] = kernels::sigmoid(x[i]) * kernels::tanh(y[i] + x[i]);
      },
      0.02);
  return s / double(x.size()) * 1e9;
}

/// The least seconds of `runs` runs of `graph` on `threads` threads (inline if 1): other
/// processes only ever add time, and the model is of the machine, not of its load.
double least_seconds(const TaskGraph& graph, int threads, const TaskBody& body, int runs) {
  std::vector<double> times;
  for (int r = 0; r < runs; ++r) {
    const auto start = std::chrono::steady_clock::now();
    if (threads <= 1) {
      run_graph_inline(graph, body);
    } else {
      run_graph_openmp(graph, threads, body);
    }
    times.push_back(seconds_since(start));
  }
  return *std::min_element(times.begin(), times.end());
}

/// A graph of the runtime test: a 4-layer stack's forward pass cut into about a thousand
/// tasks, each of which spins for `work` seconds.
struct RuntimeProbe {
  ProblemDesc problem;
  TaskGraph graph;
  double work = 5e-6;

  explicit RuntimeProbe(int threads) {
    ExecOptions options{Schedule::wavefront, threads};
    options.step_block = 4;
    options.batch_splits = 2;
    options.hidden_splits = 2;
    ModelSpec spec;  // the default cell: any cell's graph has the same shape
    spec.input_size = spec.hidden_size = 64;
    spec.layers = 4;
    problem = describe_problem(spec, 32, 16, false, false, true, options);
    graph = build_forward_graph(problem, false);
  }
  void spin() const {
    const auto start = std::chrono::steady_clock::now();
    while (seconds_since(start) < work) {
    }
  }
  /// Seconds of running the graph (inline if threads is 1).
  double run(int threads) const { return least_seconds(graph, threads, [this](int64_t) { spin(); }, 7); }
};

/// The fixed cost of running a graph on `threads` threads: a graph of two empty tasks.
double pass_seconds(int threads) {
  TaskGraph two;
  two.add({TaskKind::output, 0, 0, -1, -1, 0, 1}, {});
  two.add({TaskKind::output, 0, 0, -1, -1, 1, 2}, {});
  return least_seconds(two, threads, [](int64_t) {}, 51);
}

/// The per-task cost that makes the list schedule of the probe match its measured time
/// (less the pass's fixed cost).
double fit_per_task(const RuntimeProbe& probe, int threads, double measured) {
  const std::vector<double> cost(probe.graph.tasks.size(), probe.work);
  double lo = 1e-9, hi = 1e-3;
  for (int i = 0; i < 40; ++i) {
    const double mid = std::sqrt(lo * hi);
    (list_schedule_seconds(probe.graph, cost, threads, mid) < measured ? lo : hi) = mid;
  }
  return lo;
}

}  // namespace

Calibration calibrate() {
  ScopedThreads products_alone(1);
  kernels::ScopedFlushDenormals flush;
  Calibration c;
  c.kernel = measure_kernel();
  c.pointwise_ns = measure_pointwise_ns();
  {
    const RuntimeProbe probe(1);
    const double tasks = double(probe.graph.size());
    c.task_ns_inline = std::max(1.0, (probe.run(1) - tasks * probe.work) / tasks * 1e9);
  }
  std::vector<int> counts = {2, omp_get_num_procs()};
  counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
  for (int threads : counts) {
    if (threads < 2) continue;
    const RuntimeProbe probe(threads);
    const double pass = pass_seconds(threads);
    const double per_task = fit_per_task(probe, threads, std::max(probe.run(threads) - pass, 0.0));
    c.runtime.push_back({threads, per_task * 1e9, pass * 1e9});
  }
  if (c.runtime.empty()) c.runtime.push_back({2, c.task_ns_inline, c.task_ns_inline});
  return c;
}

}  // namespace rnnwave
