// Running a pass under a schedule: the table of schedules.
#pragma once

#include "graph/cell_ops.h"
#include "rnnwave/schedule.h"

namespace rnnwave {

/// Runs every operation of the forward pass (project_input, forward_step) of all layers,
/// under the schedule and threads of the pass's plan, recording a trace if `trace` is set.
template <class T>
void run_forward(Pass<T>& pass, Trace* trace);

/// Runs every operation of the backward pass (backward_step, input_grad where wanted,
/// weight_grad when pass.grads is set). The workspace holds the forward pass's values.
template <class T>
void run_backward(Pass<T>& pass, Trace* trace);

/// One row of the schedule table: how a schedule runs each pass.
template <class T>
struct ScheduleOps {
  Schedule schedule;
  void (*forward)(Pass<T>&, Trace*);
  void (*backward)(Pass<T>&, Trace*);
};

template <class T> void sequential_forward(Pass<T>& pass, Trace* trace);
template <class T> void sequential_backward(Pass<T>& pass, Trace* trace);
template <class T> void layerwise_forward(Pass<T>& pass, Trace* trace);
template <class T> void layerwise_backward(Pass<T>& pass, Trace* trace);
template <class T> void wavefront_forward(Pass<T>& pass, Trace* trace);
template <class T> void wavefront_backward(Pass<T>& pass, Trace* trace);

}  // namespace rnnwave
