// How `rnnwave forward` and `rnnwave backward` run: alone, or as one rank of a layer
// pipeline under mpirun (--pipeline).
#pragma once

#include <functional>
#include <string>

#include "rnnwave/dist/world.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace rnnwave {
class Trace;
}

namespace rnnwave::tools {

/// The flags of a command that can run as a pipeline.
struct PipelineFlags {
  bool pipeline = false;
  double rank_timeout = 60;
  CLI::App* command = nullptr;
  CLI::Option* rank_timeout_option = nullptr;
};

/// Refuses --pipeline (given when `pipeline`) in a build without MPI or in a process
/// started without a launcher: one line naming the reason.
void check_pipeline_flag(bool pipeline);

/// Adds --pipeline and --rank-timeout to `command`.
void add_pipeline_flags(CLI::App& command, PipelineFlags& flags);

/// Runs body(world): with world = null in a process started without a launcher (where
/// --pipeline and --rank-timeout are refused), else on every rank of the launcher's job
/// after the handshake (the build and every flag but --threads and --schedule). Under a
/// launcher without --pipeline, more than one rank is refused (collectively: one line from
/// rank 0). `name` is the command's, for messages. Exits the process with status 1 after
/// a distributed failure (run_distributed has printed it).
void run_pipeline_command(const PipelineFlags& flags, const std::string& name,
                          const std::function<void(dist::World*)>& body);

/// Under a launcher, with a trace: all ranks meet at a barrier and each trace's clock
/// starts as its rank leaves it (a "ranks_start" event), so that the ranks' trace files
/// share one time axis to within the barrier's exit spread. Collective.
void start_common_clock(dist::World& world, Trace* trace);

/// The trace file of this rank: `path` itself in a single process, else
/// "<stem>.rank<r><extension>".
std::string rank_trace_path(const std::string& path, const dist::World* world);

}  // namespace rnnwave::tools
