#include "graph/cost_model.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <queue>
#include <tuple>

#include "common/strings.h"
#include "graph/graph_runtime.h"

namespace rnnwave {
namespace {

/// Index of the last grid value <= x (clamped) and the weight of the next one, for
/// interpolation in log space.
struct Bracket {
  size_t lo = 0, hi = 0;
  double w = 0;
};

Bracket bracket(const std::vector<double>& grid, double x) {
  if (x <= grid.front()) return {0, 0, 0};
  if (x >= grid.back()) return {grid.size() - 1, grid.size() - 1, 0};
  size_t hi = 1;
  while (grid[hi] < x) ++hi;
  const double w = (std::log(x) - std::log(grid[hi - 1])) / (std::log(grid[hi]) - std::log(grid[hi - 1]));
  return {hi - 1, hi, w};
}

/// The distinct rows values and weight sizes (k*n) of a full grid, in order.
void grid_axes(const Calibration& c, std::vector<double>& rows, std::vector<double>& sizes) {
  for (const auto& p : c.kernel) {
    const double r = double(p.rows), s = double(p.k) * double(p.n);
    if (std::find(rows.begin(), rows.end(), r) == rows.end()) rows.push_back(r);
    if (std::find(sizes.begin(), sizes.end(), s) == sizes.end()) sizes.push_back(s);
  }
  std::sort(rows.begin(), rows.end());
  std::sort(sizes.begin(), sizes.end());
}

/// One product's seconds: 2*m*k*n flops at the interpolated rate. A graph has few
/// distinct shapes and many tasks: each shape is interpolated once.
class Products {
 public:
  explicit Products(const Calibration& c) : c_(c) {}
  double operator()(int64_t m, int64_t k, int64_t n) {
    if (m <= 0 || k <= 0 || n <= 0) return 0;
    const auto [at, fresh] = known_.try_emplace(std::make_tuple(m, k, n), 0.0);
    if (fresh) at->second = c_.product_seconds(m, k, n);
    return at->second;
  }

 private:
  const Calibration& c_;
  std::map<std::tuple<int64_t, int64_t, int64_t>, double> known_;
};

/// The pointwise math (or a copy) of `elements` values.
double pointwise(const Calibration& c, double elements) { return elements * c.pointwise_ns * 1e-9; }

}  // namespace

bool Calibration::valid() const {
  auto positive = [](double v) { return std::isfinite(v) && v > 0; };
  if (kernel.empty() || runtime.empty() || !positive(pointwise_ns) || !positive(task_ns_inline)) {
    return false;
  }
  for (const auto& p : kernel) {
    if (p.rows < 1 || p.k < 1 || p.n < 1 || !positive(p.gflops)) return false;
  }
  for (const auto& r : runtime) {
    if (r.threads < 2 || !positive(r.task_ns) || !positive(r.pass_ns)) return false;
  }
  std::vector<double> rows, sizes;
  grid_axes(*this, rows, sizes);
  return rows.size() * sizes.size() == kernel.size();
}

double Calibration::product_seconds(int64_t m, int64_t k, int64_t n) const {
  std::vector<double> rows, sizes;
  grid_axes(*this, rows, sizes);
  auto rate = [&](size_t r, size_t s) {
    for (const auto& p : kernel) {
      if (double(p.rows) == rows[r] && double(p.k) * double(p.n) == sizes[s]) return p.gflops;
    }
    fail("calibration: the kernel grid lacks rows ", rows[r], " with k*n ", sizes[s]);
  };
  const Bracket br = bracket(rows, double(m)), bs = bracket(sizes, double(k) * double(n));
  // Interpolate the logarithm of the rate: rates span orders of magnitude between one
  // row and hundreds.
  auto lerp = [](double a, double b, double w) { return a + (b - a) * w; };
  const double low = lerp(std::log(rate(br.lo, bs.lo)), std::log(rate(br.hi, bs.lo)), br.w);
  const double high = lerp(std::log(rate(br.lo, bs.hi)), std::log(rate(br.hi, bs.hi)), br.w);
  const double gflops = std::exp(lerp(low, high, bs.w));
  return 2.0 * double(m) * double(k) * double(n) / (gflops * 1e9);
}

const Calibration::RuntimePoint& Calibration::runtime_at(int threads) const {
  const RuntimePoint* best = &runtime.front();
  for (const auto& r : runtime) {
    if (std::abs(r.threads - threads) < std::abs(best->threads - threads)) best = &r;
  }
  return *best;
}

double list_schedule_seconds(const TaskGraph& graph, const std::vector<double>& cost, int threads,
                             double per_task) {
  const int64_t count = graph.size();
  std::vector<int32_t> succ_begin(count + 1, 0), succ, waiting(count);
  for (int64_t i = 0; i < count; ++i) {
    waiting[i] = graph.pred_count(i);
    for (int32_t k = 0; k < graph.pred_count(i); ++k) ++succ_begin[graph.preds_of(i)[k] + 1];
  }
  for (int64_t i = 0; i < count; ++i) succ_begin[i + 1] += succ_begin[i];
  succ.resize(succ_begin[count]);
  std::vector<int32_t> fill(succ_begin.begin(), succ_begin.end() - 1);
  for (int64_t i = 0; i < count; ++i) {
    for (int32_t k = 0; k < graph.pred_count(i); ++k) succ[fill[graph.preds_of(i)[k]]++] = int32_t(i);
  }
  using Ready = std::pair<double, int32_t>;  // (time it became ready, index)
  std::priority_queue<Ready, std::vector<Ready>, std::greater<>> ready;
  std::priority_queue<double, std::vector<double>, std::greater<>> cores;
  for (int t = 0; t < std::max(threads, 1); ++t) cores.push(0.0);
  std::vector<double> ready_at(count, 0.0);
  for (int64_t i = 0; i < count; ++i) {
    if (waiting[i] == 0) ready.push({0.0, int32_t(i)});
  }
  double makespan = 0;
  while (!ready.empty()) {
    const double free_at = cores.top();
    cores.pop();
    const auto [when, i] = ready.top();
    ready.pop();
    const double end = std::max(free_at, when) + cost[i] + per_task;
    makespan = std::max(makespan, end);
    cores.push(end);
    for (int32_t k = succ_begin[i]; k < succ_begin[i + 1]; ++k) {
      const int32_t s = succ[k];
      ready_at[s] = std::max(ready_at[s], end);
      if (--waiting[s] == 0) ready.push({ready_at[s], s});
    }
  }
  return makespan;
}

double chains_schedule_seconds(const TaskGraph& graph, const std::vector<double>& cost,
                               int threads, double per_task) {
  const std::vector<int32_t> chain = chain_of_tasks(graph);
  std::vector<double> end(static_cast<size_t>(graph.size()), 0.0);
  std::vector<double> free_at(static_cast<size_t>(std::max(threads, 1)), 0.0);
  // Each thread's tasks in its order: the order is topological, so every predecessor's
  // end is known when a task is reached.
  double makespan = 0;
  for (const int32_t i : chains_order_of(graph)) {
    double& thread_free = free_at[chain[i] % free_at.size()];
    double start = thread_free;
    for (int32_t k = 0; k < graph.pred_count(i); ++k) start = std::max(start, end[graph.preds_of(i)[k]]);
    end[i] = thread_free = start + cost[i] + per_task;
    makespan = std::max(makespan, end[i]);
  }
  return makespan;
}

std::vector<double> task_seconds(const ProblemDesc& p, const TaskGraph& graph, const Calibration& c) {
  const int64_t GH = p.GH();
  Products product(c);
  std::vector<double> cost(graph.tasks.size());
  for (size_t i = 0; i < graph.tasks.size(); ++i) {
    const Task& t = graph.tasks[i];
    const int64_t steps = t.t1 - t.t0, in = p.layer_input_size(t.layer);
    const int64_t rows = t.split >= 0 ? p.split_row(t.split + 1) - p.split_row(t.split) : p.N;
    const int64_t units = t.part >= 0 ? p.unit_bound(t.part + 1) - p.unit_bound(t.part) : p.H;
    const int64_t cols = GH * units / p.H;  // the part's share of the gate columns
    const bool in_step = steps_project_input(p, t.layer);  // the steps project their input
    switch (t.kind) {
      case TaskKind::project:
        cost[i] = in_step ? 0
                          : product(steps * p.N, in, cols) + pointwise(c, double(steps * p.N * cols) * 0.25);
        break;
      case TaskKind::forward:
        cost[i] = product(rows, p.Hs, cols) + pointwise(c, double(rows * cols)) +
                  (in_step ? product(rows, in, cols) : 0);
        break;
      case TaskKind::backward:  // the pointwise backward and dh_prev = dgates W_hh, whole
        cost[i] = product(rows, GH, p.Hs) + pointwise(c, 2.0 * double(rows * GH));
        break;
      case TaskKind::backward_pointwise:
        cost[i] = pointwise(c, 2.0 * double(rows * cols));
        break;
      case TaskKind::backward_gemm:
        cost[i] = product(rows, GH, p.Hs * units / p.H);
        break;
      case TaskKind::input_grad:
        cost[i] = double(p.D) * product(steps * p.N, GH, in);
        break;
      case TaskKind::weight_grad:
        // dW_ih += dgates^T x, dW_hh += dgates^T h over the block's rows: GH rows of output.
        cost[i] = product(GH, steps * p.N, in) + product(GH, steps * p.N, p.Hs) +
                  pointwise(c, double(steps * p.N * GH));
        break;
      case TaskKind::dropout:
      case TaskKind::output:
        cost[i] = pointwise(c, double(steps * p.N * p.ld_h()) * 0.25);
        break;
      case TaskKind::input:  // a pipeline stage's wait for a block: not the engine's work
        cost[i] = 0;
        break;
    }
  }
  return cost;
}

namespace {

/// A graph pass: inline on one thread, or list-scheduled on the plan's threads.
double graph_seconds(const ProblemDesc& p, const TaskGraph& graph, bool backward,
                     const Calibration& c) {
  const std::vector<double> cost = task_seconds(p, graph, c);
  if (p.plan.threads <= 1) {
    double sum = 0;
    for (double v : cost) sum += v;
    return sum + double(graph.size()) * c.task_ns_inline * 1e-9;
  }
  const Calibration::RuntimePoint& runtime = c.runtime_at(p.plan.threads);
  const double per_task = runtime.task_ns * 1e-9;
  return runtime.pass_ns * 1e-9 + (runs_by_chains(p, backward)
                                       ? chains_schedule_seconds(graph, cost, p.plan.threads, per_task)
                                       : list_schedule_seconds(graph, cost, p.plan.threads, per_task));
}

/// The weight gradients' chains of one layer, as the layerwise schedule runs them: per
/// direction, the input weights', each recurrent product's and each sum's, every one over
/// the blocks of for_each_weight_grad_block in turn (the last one may be shorter).
std::vector<double> weight_grad_chains(const ProblemDesc& p, int64_t l, const Calibration& c,
                                       Products& product) {
  const cells::CellDef& cell = *p.cell;
  const cells::Dims dims = p.dims(l);
  // Over the blocks: the seconds of a product C[m, n] summed over each block's rows.
  const auto over_blocks = [&](int64_t m, int64_t n) {
    double seconds = 0;
    for_each_weight_grad_block(p.T, p.N, false, [&](int64_t t0, int64_t t1) {
      seconds += product(m, (t1 - t0) * p.N, n);
    });
    return seconds;
  };
  std::vector<double> one{over_blocks(p.GH(), p.layer_input_size(l))};
  for (const cells::StageDecl& stage : cell.stages) {
    for (const cells::ProductDecl& decl : stage.products) {
      one.push_back(over_blocks(decl.rows.of(dims), cell.params[decl.param].cols.of(dims)));
    }
  }
  for (const cells::SumDecl& sum : cell.sums) {
    one.push_back(pointwise(c, double(p.T * p.N * sum.width.of(dims))));
  }
  std::vector<double> chains;
  for (int64_t d = 0; d < p.D; ++d) chains.insert(chains.end(), one.begin(), one.end());
  return chains;
}

/// The makespan of `work` on `threads` threads that each take the next item when free.
double greedy_seconds(const std::vector<double>& work, int64_t threads) {
  std::priority_queue<double, std::vector<double>, std::greater<>> free_at;
  for (int64_t t = 0; t < std::max<int64_t>(threads, 1); ++t) free_at.push(0.0);
  double makespan = 0;
  for (double w : work) {
    const double end = free_at.top() + w;
    free_at.pop();
    free_at.push(end);
    makespan = std::max(makespan, end);
  }
  return makespan;
}

/// Which of its passes layerwise_seconds costs.
enum class Passes { forward, backward, both };

/// The layerwise schedule as schedule_layerwise.cpp runs it: per layer and direction the
/// projection split by steps over the threads, then each step split by rows; backward each
/// step split by rows, the weight gradients' chains taken by free threads, the input
/// gradient split by steps. A step is costed as task_seconds costs one (the recurrent
/// product G*H wide and the pointwise math), not product by product. Each parallel loop
/// of more than one share pays pass_ns (waking the team, the barrier); a loop of one share
/// runs inline. Its backward pass is also the wavefront schedule's in lock step.
double layerwise_seconds(const ProblemDesc& p, const Calibration& c, Passes passes) {
  const int64_t P = p.plan.threads, GH = p.GH(), T = p.T, N = p.N;
  const double pass = c.runtime_at(int(P)).pass_ns * 1e-9;
  const auto barrier = [&](int64_t shares) { return std::min(P, shares) > 1 ? pass : 0.0; };
  const int64_t rows = (N + P - 1) / P, steps = (T + P - 1) / P;  // the largest shares
  Products product(c);
  double total = 0;
  for (int64_t l = 0; l < p.L; ++l) {
    const int64_t in = p.layer_input_size(l);
    if (passes != Passes::backward) {
      double forward = product(steps * N, in, GH) + barrier(T);
      forward += double(T) * (product(rows, p.Hs, GH) + pointwise(c, double(rows * GH)) + barrier(N));
      total += double(p.D) * forward;
    }
    if (passes != Passes::forward && p.training) {
      double back = double(T) * (product(rows, GH, p.Hs) + pointwise(c, 2.0 * double(rows * GH)) + barrier(N));
      back *= double(p.D);
      const std::vector<double> chains = weight_grad_chains(p, l, c, product);
      back += greedy_seconds(chains, P) + barrier(int64_t(chains.size()));
      back += double(p.D) * product(steps * N, GH, in) + barrier(T);
      total += back;
    }
  }
  return total;
}

}  // namespace

double predict_pass_seconds(const ProblemDesc& p, const Calibration& c) {
  if (!c.valid()) fail("predict: the calibration is incomplete or has non-positive values");
  if (p.plan.schedule == Schedule::layerwise) return layerwise_seconds(p, c, Passes::both);
  double seconds = graph_seconds(p, build_forward_graph(p, true), false, c);
  if (p.training) {
    seconds += backward_in_lock_step(p) ? layerwise_seconds(p, c, Passes::backward)
                                        : graph_seconds(p, build_backward_graph(p, true, true), true, c);
  }
  return seconds;
}

double predict_ms(const ModelSpec& spec, int64_t steps, int64_t batch, bool training, const Plan& plan,
                  const Calibration& calibration) {
  spec.validate();
  if (steps < 1 || batch < 1) fail("predict_ms: steps and batch must be >= 1, got ", steps, " and ", batch);
  const ProblemDesc p =
      describe_problem(spec, steps, batch, training, false, true, pin_plan(ExecOptions{}, plan));
  return predict_pass_seconds(p, calibration) * 1e3;
}

Plan auto_plan(const ModelSpec& spec, int64_t steps, int64_t batch, bool training,
               const ExecOptions& options, const Calibration& calibration) {
  const std::vector<Plan> candidates = plan_candidates(spec, steps, batch, options, training);
  Plan best = candidates.front();
  double best_ms = predict_ms(spec, steps, batch, training, best, calibration);
  for (size_t i = 1; i < candidates.size(); ++i) {
    const double ms = predict_ms(spec, steps, batch, training, candidates[i], calibration);
    if (ms < best_ms) {
      best_ms = ms;
      best = candidates[i];
    }
  }
  return best;
}

}  // namespace rnnwave
