// Running a pass under a schedule: the table of schedules.
#pragma once

#include "graph/cell_ops.h"
#include "rnnwave/schedule.h"

namespace rnnwave {

/// Runs every operation of the forward pass (project_input, forward_step) of all layers.
template <class T>
void run_forward(Pass<T>& pass, const ExecOptions& options);

/// Runs every operation of the backward pass (backward_step, input_grad where wanted,
/// weight_grad when pass.grads is set). The workspace holds the forward pass's values.
template <class T>
void run_backward(Pass<T>& pass, const ExecOptions& options);

/// One row of the schedule table: how a schedule runs each pass.
template <class T>
struct ScheduleOps {
  Schedule schedule;
  void (*forward)(Pass<T>&, const ExecOptions&);
  void (*backward)(Pass<T>&, const ExecOptions&);
};

template <class T> void sequential_forward(Pass<T>& pass, const ExecOptions& options);
template <class T> void sequential_backward(Pass<T>& pass, const ExecOptions& options);
template <class T> void layerwise_forward(Pass<T>& pass, const ExecOptions& options);
template <class T> void layerwise_backward(Pass<T>& pass, const ExecOptions& options);
template <class T> void wavefront_forward(Pass<T>& pass, const ExecOptions& options);
template <class T> void wavefront_backward(Pass<T>& pass, const ExecOptions& options);

/// Threads a pass may use: options.threads, or every available core if 0.
int resolve_threads(const ExecOptions& options);

}  // namespace rnnwave
