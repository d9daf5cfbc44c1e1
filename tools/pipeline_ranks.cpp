#include "tools/pipeline_ranks.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "rnnwave/dist/launcher.h"
#include "rnnwave/dist/run.h"
#include "rnnwave/error.h"
#include "rnnwave/trace.h"
#include "tools/commands.h"

namespace rnnwave::tools {

void add_pipeline_flags(CLI::App& command, PipelineFlags& flags) {
  flags.command = &command;
  command.add_flag("--pipeline", flags.pipeline,
                   "Under mpirun: split the layers over the ranks (contiguous ranges, balanced by layer "
                   "count), each step block of a boundary layer's output (and, backward, of its gradient) "
                   "sent on as soon as it is final; rank 0 writes the results, bit-identical to one process");
  flags.rank_timeout_option = command.add_option(
      "--rank-timeout", flags.rank_timeout,
      "Under mpirun: seconds a rank waits for another (60); with --pipeline it bounds the wait for each block "
      "from the start of the pass");
}

void start_common_clock(dist::World& world, Trace* trace) {
  if (trace == nullptr || world.size() == 1) return;
  world.barrier("the trace's common start");
  TraceEvent start;
  start.pass = "ranks";
  start.kind = "ranks_start";
  trace->append({start}, std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::steady_clock::now().time_since_epoch()).count());
}

void check_pipeline_flag(bool pipeline) {
  if (!pipeline) return;
  if (!dist::built_with_mpi()) {
    throw Error("--pipeline splits the layers over the ranks of an MPI job, and this rnnwave was built without "
                "MPI; rebuild with MPI (see README, 'On a cluster')");
  }
  if (!dist::detect_launcher().launched) {
    throw Error("--pipeline is for a run started by mpirun (or srun); this is a single process");
  }
}

void run_pipeline_command(const PipelineFlags& flags, const std::string& name,
                          const std::function<void(dist::World*)>& body) {
  if (!(flags.rank_timeout >= 1e-3 && flags.rank_timeout <= 1e6)) {  // CLI::Range lets NaN through
    throw Error("--rank-timeout must be a number of seconds in [0.001, 1e6], got " + std::to_string(flags.rank_timeout));
  }
  check_pipeline_flag(flags.pipeline);
  if (!dist::detect_launcher().launched) {
    if (flags.rank_timeout_option->count() > 0) {
      throw Error("--rank-timeout is for a run started by mpirun (or srun); this is a single process");
    }
    body(nullptr);
    return;
  }
  // Started by a launcher: a pipeline over the ranks, or, without --pipeline, a refusal
  // (K copies would each write the same files). A build without MPI, or an MPI other than
  // the launcher's, is refused by the World before anything runs.
  dist::WorldOptions options;
  options.program = "rnnwave";
  options.timeout = dist::Seconds(flags.rank_timeout);
  const int status = dist::run_distributed(options, [&](dist::World& world) {
    if (!flags.pipeline && world.size() > 1) {
      throw dist::CollectiveError("rnnwave " + name + " was started by an MPI launcher as one of " +
                                  std::to_string(world.size()) +
                                  " processes: give --pipeline to split the layers over them, or run it without mpirun");
    }
    std::vector<dist::ConfigItem> items = {{"build", build_id()}};
    for (dist::ConfigItem& flag : result_flags(*flags.command)) items.push_back(std::move(flag));
    dist::check_same_config(world, items);
    body(&world);
    return 0;
  });
  // run_distributed has printed the error (rank 0's, or the failing rank's) already.
  if (status != 0) std::exit(status);
}

std::string rank_trace_path(const std::string& path, const dist::World* world) {
  if (path.empty() || world == nullptr) return path;
  const std::filesystem::path p(path);
  std::filesystem::path named = p;
  named.replace_filename(p.stem().string() + ".rank" + std::to_string(world->rank()) + p.extension().string());
  return named.string();
}

}  // namespace rnnwave::tools
