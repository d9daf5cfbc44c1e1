// rnnwave forward: outputs and final states of a model on an input; with --pipeline under
// mpirun, the layers split over the ranks (docs/distributed.md, "The layer pipeline").
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "rnnwave/dist/launcher.h"
#include "rnnwave/dist/pipeline.h"
#include "rnnwave/dist/run.h"
#include "tools/commands.h"
#include "tools/problem_files.h"

namespace rnnwave::tools {
namespace {

struct ForwardFlags {
  ModelFlags model;
  InputFlags inputs;
  ExecFlags exec;
  std::string output, hn, cn;
  bool pipeline = false;
  double rank_timeout = 60;
  CLI::App* command = nullptr;
  CLI::Option* rank_timeout_option = nullptr;
};

/// Where this process stands: alone, or rank `rank` of a pipeline of `ranks`.
struct Role {
  dist::World* world = nullptr;
  bool writes() const { return world == nullptr || world->rank() == 0; }
};

/// The trace file of this rank: the path itself alone, else "<stem>.rank<r><extension>".
std::string trace_path(const std::string& path, const Role& role) {
  if (path.empty() || role.world == nullptr) return path;
  const std::filesystem::path p(path);
  std::filesystem::path named = p;
  named.replace_filename(p.stem().string() + ".rank" + std::to_string(role.world->rank()) + p.extension().string());
  return named.string();
}

void run_as(const ForwardFlags& flags, const Role& role) {
  const ModelSpec spec = model_spec(flags.model);
  ExecOptions options = exec_options(flags.exec);
  Trace trace;
  if (!flags.exec.trace.empty()) options.trace = &trace;
  if (!flags.cn.empty() && !has_cell_state(spec.cell)) {
    throw Error("--cn is for lstm only; a " + std::string(to_string(spec.cell)) +
                " has no cell state");
  }
  ExecFlags exec = flags.exec;
  exec.trace = trace_path(flags.exec.trace, role);
  if (role.writes()) {
    check_writable(flags.output, "--output");
    check_writable(flags.hn, "--hn");
    check_writable(flags.cn, "--cn");
  }
  check_writable(exec.trace, "--trace");
  const InputFlags& in = flags.inputs;
  check_distinct_files({{"--weights", in.weights}, {"--input", in.input}, {"--lengths", in.lengths},
                        {"--h0", in.h0}, {"--c0", in.c0}},
                       {{"--output", role.writes() ? flags.output : ""}, {"--hn", role.writes() ? flags.hn : ""},
                        {"--cn", role.writes() ? flags.cn : ""}, {"--trace", exec.trace}});
  const Weights weights = load_model_weights(spec, flags.inputs);
  const ProblemFiles files = load_problem(spec, flags.inputs);

  Tensor output({files.steps, files.batch, spec.directions() * spec.output_size()});
  Tensor hn(flags.hn.empty() ? std::vector<int64_t>{0} : h_state_shape(spec, files.batch));
  Tensor cn(flags.cn.empty() ? std::vector<int64_t>{0} : c_state_shape(spec, files.batch));
  ForwardArgs<float> args = forward_args(files);
  args.output = output.span();
  args.hn = hn.span();
  args.cn = cn.span();
  if (role.world == nullptr) {
    const Rnn rnn(weights, options);
    rnn.forward(args);
  } else {
    const dist::PipelineStage stage(*role.world, weights, options);
    stage.forward(args, dist::Seconds(flags.rank_timeout));
  }

  // All or nothing: a failure to write one output leaves none of them written. Under a
  // pipeline rank 0 alone holds the results; every rank writes its own trace.
  OutputFiles outputs;
  if (role.writes()) {
    outputs.add(flags.output, serialize_npy(output), "--output");
    if (!flags.hn.empty()) outputs.add(flags.hn, serialize_npy(hn), "--hn");
    if (!flags.cn.empty()) outputs.add(flags.cn, serialize_npy(cn), "--cn");
  }
  add_trace(outputs, exec, trace);
  outputs.commit();
}

void run(const ForwardFlags& flags) {
  if (!(flags.rank_timeout >= 1e-3 && flags.rank_timeout <= 1e6)) {  // CLI::Range lets NaN through
    throw Error("--rank-timeout must be a number of seconds in [0.001, 1e6], got " + std::to_string(flags.rank_timeout));
  }
  const dist::LaunchInfo launch = dist::detect_launcher();
  if (flags.pipeline && !dist::built_with_mpi()) {
    throw Error("--pipeline splits the layers over the ranks of an MPI job, and this rnnwave was built without "
                "MPI; rebuild with MPI (see README, 'On a cluster')");
  }
  if (!launch.launched) {
    if (flags.pipeline) throw Error("--pipeline is for a run started by mpirun (or srun); this is a single process");
    if (flags.rank_timeout_option->count() > 0) {
      throw Error("--rank-timeout is for a run started by mpirun (or srun); this is a single process");
    }
    run_as(flags, Role{});
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
      throw dist::CollectiveError("rnnwave forward was started by an MPI launcher as one of " +
                                  std::to_string(world.size()) +
                                  " processes: give --pipeline to split the layers over them, or run it without mpirun");
    }
    std::vector<dist::ConfigItem> items = {{"build", build_id()}};
    for (dist::ConfigItem& flag : result_flags(*flags.command)) items.push_back(std::move(flag));
    dist::check_same_config(world, items);
    run_as(flags, Role{&world});
    return 0;
  });
  // run_distributed has printed the error (rank 0's, or the failing rank's) already.
  if (status != 0) std::exit(status);
}

}  // namespace

void add_forward_command(CLI::App& app) {
  auto flags = std::make_shared<ForwardFlags>();
  CLI::App* command = app.add_subcommand(
      "forward", "Run a model on an input; write its output and final states");
  flags->command = command;
  add_model_flags(*command, flags->model);
  add_input_flags(*command, flags->inputs);
  command->add_option("--output", flags->output,
                      "Output Y.npy, float32 [T, N, D*H] ([T, N, D*P] with --proj-size)")
      ->required();
  command->add_option("--hn", flags->hn,
                      "Final hidden states HN.npy, float32 [L*D, N, H] ([L*D, N, P] with --proj-size)");
  command->add_option("--cn", flags->cn, "Final cell states CN.npy, float32 [L*D, N, H] (lstm)");
  add_exec_flags(*command, flags->exec);
  add_precision_flag(*command, flags->exec);
  command->add_flag("--pipeline", flags->pipeline,
                    "Under mpirun: split the layers over the ranks (contiguous ranges, balanced by layer "
                    "count), each step block of a boundary layer's output sent on as soon as it is final; "
                    "rank 0 writes the outputs. Results are bit-identical to one process");
  flags->rank_timeout_option = command->add_option(
      "--rank-timeout", flags->rank_timeout,
      "Under mpirun: seconds a rank waits for another (60); with --pipeline it bounds the wait for each block "
      "from the start of the pass");
  command->callback([flags] { run(*flags); });
}

}  // namespace rnnwave::tools
