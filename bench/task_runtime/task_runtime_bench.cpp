// Scheduling overhead of the two candidate dataflow runtimes on rnnwave's real task
// graphs: OpenMP tasks with depend clauses, and oneTBB's flow graph. Every task spins for
// a fixed time (0 = empty tasks); the overhead per task is what the run costs beyond the
// best possible time (the critical path, or the total work divided by the threads).
//
//   bench_task_runtime [--threads P] [--work-us W] [--repeats R]   -> JSON lines
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "graph/graph_runtime.h"
#include "graph/task_graph.h"

namespace rnnwave {
namespace {

void spin_for_ns(int64_t ns) {
  const int64_t end = now_ns() + ns;
  while (now_ns() < end) {
  }
}

/// The same graph on oneTBB's flow graph: one continue_node per task, one edge per
/// dependency, the nodes without predecessors started by hand.
void run_graph_tbb(const TaskGraph& graph, int threads, const TaskBody& body) {
  tbb::task_arena arena(threads);
  arena.execute([&] {
    tbb::flow::graph g;
    using Node = tbb::flow::continue_node<tbb::flow::continue_msg>;
    std::vector<std::unique_ptr<Node>> nodes;
    nodes.reserve(graph.tasks.size());
    for (int64_t i = 0; i < graph.size(); ++i) {
      nodes.push_back(std::make_unique<Node>(g, [&body, i](const tbb::flow::continue_msg&) { body(i); }));
    }
    for (int64_t i = 0; i < graph.size(); ++i) {
      for (int32_t k = 0; k < graph.pred_count(i); ++k) {
        tbb::flow::make_edge(*nodes[graph.preds_of(i)[k]], *nodes[i]);
      }
    }
    for (int64_t i = 0; i < graph.size(); ++i) {
      if (graph.pred_count(i) == 0) nodes[i]->try_put(tbb::flow::continue_msg());
    }
    g.wait_for_all();
  });
}

/// Longest chain of the graph, in tasks.
int64_t critical_path(const TaskGraph& graph) {
  std::vector<int64_t> depth(graph.tasks.size(), 1);
  int64_t longest = 0;
  for (int64_t i = 0; i < graph.size(); ++i) {
    for (int32_t k = 0; k < graph.pred_count(i); ++k) {
      depth[i] = std::max(depth[i], depth[graph.preds_of(i)[k]] + 1);
    }
    longest = std::max(longest, depth[i]);
  }
  return longest;
}

struct Problem {
  const char* name;
  ModelSpec spec;
  int64_t steps, batch, splits;
  bool backward;
};

}  // namespace
}  // namespace rnnwave

int main(int argc, char** argv) {
  using namespace rnnwave;
  int threads = 2, repeats = 20;
  double work_us = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--work-us")) work_us = std::atof(argv[i + 1]);
    if (!std::strcmp(argv[i], "--repeats")) repeats = std::atoi(argv[i + 1]);
  }
  const Problem problems[] = {
      {"lstm_l4_uni_t100_forward", {CellKind::lstm, 256, 256, 4, false}, 100, 64, 1, false},
      {"lstm_l2_bi_t100_forward", {CellKind::lstm, 256, 256, 2, true}, 100, 64, 2, false},
      {"lstm_l4_uni_t100_backward", {CellKind::lstm, 256, 256, 4, false}, 100, 64, 1, true},
  };
  const struct {
    const char* name;
    void (*run)(const TaskGraph&, int, const TaskBody&);
  } runtimes[] = {{"openmp_depend", &run_graph_openmp}, {"tbb_flow_graph", &run_graph_tbb}};
  for (const Problem& p : problems) {
    ExecOptions options{Schedule::wavefront, threads};
    options.step_block = 8;
    options.batch_splits = p.splits;
    options.hidden_splits = 1;
    const ProblemDesc problem =
        describe_problem(p.spec, p.steps, p.batch, p.backward, false, true, options);
    const TaskGraph graph = p.backward ? build_backward_graph(problem, true, true)
                                       : build_forward_graph(problem);
    const int64_t work_ns = static_cast<int64_t>(work_us * 1e3);
    const TaskBody body = [work_ns](int64_t) { spin_for_ns(work_ns); };
    const double ideal_us = std::max(static_cast<double>(critical_path(graph)),
                                     static_cast<double>(graph.size()) / threads) * work_us;
    for (const auto& runtime : runtimes) {
      std::vector<double> times;
      for (int r = 0; r < repeats + 2; ++r) {
        const int64_t start = now_ns();
        runtime.run(graph, threads, body);
        if (r >= 2) times.push_back(static_cast<double>(now_ns() - start) / 1e3);
      }
      std::sort(times.begin(), times.end());
      const double median_us = times[times.size() / 2];
      std::printf(
          "{\"graph\": \"%s\", \"runtime\": \"%s\", \"threads\": %d, \"tasks\": %lld, "
          "\"edges\": %zu, \"work_us\": %.1f, \"median_us\": %.1f, \"min_us\": %.1f, "
          "\"ideal_us\": %.1f, \"overhead_us_per_task\": %.3f}\n",
          p.name, runtime.name, threads, static_cast<long long>(graph.size()), graph.preds.size(),
          work_us, median_us, times.front(), ideal_us,
          (median_us - ideal_us) * threads / static_cast<double>(graph.size()));
    }
  }
}
