// The planner's cost model: the time of a pass predicted from a calibration of the
// machine (rnnwave/planner.h) by list-scheduling its task graph, or, for the layerwise
// schedule and a backward pass in lock step (backward_in_lock_step), by summing its
// parallel loops.
#pragma once

#include <vector>

#include "graph/problem.h"
#include "graph/task_graph.h"
#include "rnnwave/planner.h"

namespace rnnwave {

/// The makespan of `graph` on `threads` cores when task i costs cost[i] + per_task
/// seconds: a list schedule in which a task is ready when its last predecessor ends and a
/// free core takes the task that became ready first (ties: the lower index), which is
/// how libgomp serves `depend` tasks (its queue is first in, first out).
double list_schedule_seconds(const TaskGraph& graph, const std::vector<double>& cost,
                             int threads, double per_task);

/// The makespan of `graph` run by run_graph_by_chains on `threads` cores, task i costing
/// cost[i] + per_task seconds: each thread walks chains_order and runs its own chains'
/// tasks, each as soon as the thread is free and its predecessors have ended.
double chains_schedule_seconds(const TaskGraph& graph, const std::vector<double>& cost,
                               int threads, double per_task);

/// Predicted seconds of each task of `graph` (a graph of `problem`) on one thread.
std::vector<double> task_seconds(const ProblemDesc& problem, const TaskGraph& graph,
                                 const Calibration& calibration);

/// Predicted seconds of a whole pass of `problem` under its plan (training: forward and
/// backward with every gradient and the input gradient).
double predict_pass_seconds(const ProblemDesc& problem, const Calibration& calibration);

}  // namespace rnnwave
