#include "graph/task_runner.h"

#include "graph/boundary.h"
#include "graph/dropout.h"
#include "graph/graph_cache.h"
#include "graph/layer_grads_final.h"
#include "rnnwave/trace.h"

namespace rnnwave {
namespace {

void append_trace(Trace& trace, const char* pass_name, const TaskGraph& graph,
                  const ProblemDesc& p, const TaskTimes& times) {
  int64_t origin = INT64_MAX;
  for (int64_t start : times.start_ns) origin = std::min(origin, start);
  std::vector<TraceEvent> events;
  events.reserve(graph.tasks.size());
  for (int64_t i = 0; i < graph.size(); ++i) {
    const Task& task = graph.tasks[i];
    TraceEvent e;
    e.pass = pass_name;
    e.kind = std::string(to_string(task.kind));
    e.layer = task.layer;
    e.direction = task.direction;
    e.reverse = task.direction >= 0 && p.walks_back(task.direction);
    e.split = task.split;
    e.part = task.part;
    e.step_begin = task.t0;
    e.step_end = task.t1;
    e.batch_begin = task.split >= 0 ? p.split_row(task.split) : 0;
    e.batch_end = task.split >= 0 ? p.split_row(task.split + 1) : p.N;
    e.task = i;
    e.preds.assign(graph.preds_of(i), graph.preds_of(i) + graph.pred_count(i));
    e.thread = times.thread[i];
    e.start_us = static_cast<double>(times.start_ns[i] - origin) / 1e3;
    e.duration_us = static_cast<double>(times.end_ns[i] - times.start_ns[i]) / 1e3;
    events.push_back(std::move(e));
  }
  trace.append(std::move(events), origin);
}

template <class T>
void run_graph(Pass<T>& pass, Trace* trace, GraphRunner runner, const TaskGraph& graph,
               const char* pass_name) {
  const TaskBody body = [&](int64_t i) { run_task(pass, graph.tasks[i]); };
  const int threads = pass.desc().plan.threads;
  if (trace == nullptr) {
    runner(graph, threads, body);
    return;
  }
  TaskTimes times(graph.size());
  runner(graph, threads, times.timed(body));
  append_trace(*trace, pass_name, graph, pass.desc(), times);
}

/// The model's graph of `key`, or a fresh one if the pass has no cache.
template <class Build>
std::shared_ptr<const TaskGraph> graph_for(GraphCache* cache, const GraphKey& key, Build&& build) {
  if (cache == nullptr) return std::make_shared<const TaskGraph>(build());
  return cache->get(key, build);
}

}  // namespace

template <class T>
void run_task(Pass<T>& pass, const Task& task) {
  const ProblemDesc& p = pass.desc();
  StepPart part;
  if (task.split >= 0) {
    part.r0 = p.split_row(task.split);
    part.r1 = p.split_row(task.split + 1);
    part.u0 = task.part >= 0 ? p.unit_bound(task.part) : 0;
    part.u1 = task.part >= 0 ? p.unit_bound(task.part + 1) : p.H;
  }
  switch (task.kind) {
    case TaskKind::dropout:
      apply_dropout(pass, task.layer, task.t0, task.t1);
      return;
    case TaskKind::project:
      project_input(pass, task.layer, task.direction, task.t0, task.t1,
                    task.part >= 0 ? p.unit_bound(task.part) : 0,
                    task.part >= 0 ? p.unit_bound(task.part + 1) : p.H);
      return;
    case TaskKind::forward:
      forward_step(pass, task.layer, task.direction, task.t0, part);
      return;
    case TaskKind::backward:
      backward_step(pass, task.layer, task.direction, task.t0, part);
      return;
    case TaskKind::backward_pointwise:
      backward_pointwise(pass, task.layer, task.direction, task.t0, part);
      return;
    case TaskKind::backward_gemm:
      backward_products(pass, task.layer, task.direction, task.t0, part);
      return;
    case TaskKind::input_grad:
      input_grad(pass, task.layer, task.t0, task.t1);
      if (task.layer == 0 && pass.on_grad_input_block != nullptr) {
        store_input_grad_steps<T>(pass.ws, pass.grad_input, task.t0, task.t1);
        (*pass.on_grad_input_block)(task.t0, task.t1);
      }
      return;
    case TaskKind::weight_grad:
      weight_grad(pass, task.layer, task.direction, task.t0, task.t1);
      if (pass.layer_grads != nullptr) pass.layer_grads->done(task.layer);
      return;
    case TaskKind::output:
      store_output_steps<T>(pass.ws, pass.output, task.t0, task.t1);
      if (pass.on_output_block != nullptr) (*pass.on_output_block)(task.t0, task.t1);
      return;
    case TaskKind::input:  // of a forward pass: its input; of a backward one: grad_output
      if (pass.on_input_block != nullptr) {
        (*pass.on_input_block)(task.t0, task.t1);
        load_input_steps<T>(pass.ws, pass.input, task.t0, task.t1);
      } else {
        (*pass.on_grad_output_block)(task.t0, task.t1);
        load_output_grad_steps<T>(pass.ws, pass.grad_output, task.t0, task.t1);
      }
      return;
  }
}

template <class T>
void run_forward_graph(Pass<T>& pass, Trace* trace, GraphRunner runner) {
  const ProblemDesc& p = pass.desc();
  const bool outputs = !pass.output.empty();
  const ForwardGraphOptions options{outputs, pass.on_input_block != nullptr, pass.output_early};
  const auto graph = graph_for(pass.graphs, forward_graph_key(p, options),
                               [&] { return build_forward_graph(p, options); });
  run_graph(pass, trace, runner, *graph, "forward");
  pass.outputs_stored = outputs;
}

template <class T>
void run_backward_graph(Pass<T>& pass, Trace* trace, GraphRunner runner) {
  const ProblemDesc& p = pass.desc();
  const BackwardGraphOptions options{pass.want_input_grad, pass.grads != nullptr,
                                     pass.on_grad_output_block != nullptr, pass.grad_input_early,
                                     pass.on_grad_input_block != nullptr};
  const auto graph = graph_for(pass.graphs, backward_graph_key(p, options),
                               [&] { return build_backward_graph(p, options); });
  if (pass.on_layer_grads_final == nullptr || pass.grads == nullptr) {
    run_graph(pass, trace, runner, *graph, "backward");
    return;
  }
  std::vector<int64_t> work(static_cast<size_t>(p.L), 0);
  for (const Task& task : graph->tasks) {
    if (task.kind == TaskKind::weight_grad) ++work[static_cast<size_t>(task.layer)];
  }
  LayerGradsFinal layer_grads(*pass.on_layer_grads_final, std::move(work));
  pass.layer_grads = &layer_grads;
  try {
    run_graph(pass, trace, runner, *graph, "backward");
  } catch (...) {
    pass.layer_grads = nullptr;
    throw;
  }
  pass.layer_grads = nullptr;
}

#define RNNWAVE_INSTANTIATE(T)                                                                  \
  template void run_task<T>(Pass<T>&, const Task&);                                             \
  template void run_forward_graph<T>(Pass<T>&, Trace*, GraphRunner);                            \
  template void run_backward_graph<T>(Pass<T>&, Trace*, GraphRunner);
RNNWAVE_INSTANTIATE(float)
RNNWAVE_INSTANTIATE(double)
#undef RNNWAVE_INSTANTIATE

}  // namespace rnnwave
