// rnnwave forward: outputs and final states of a model on an input; with --pipeline under
// mpirun, the layers split over the ranks (docs/distributed.md, "The layer pipeline").
#include <CLI/CLI.hpp>
#include <memory>

#include "rnnwave/dist/pipeline.h"
#include "tools/commands.h"
#include "tools/pipeline_ranks.h"
#include "tools/problem_files.h"

namespace rnnwave::tools {
namespace {

struct ForwardFlags {
  ModelFlags model;
  InputFlags inputs;
  ExecFlags exec;
  std::string output, hn, cn;
  PipelineFlags ranks;
};

void run_as(const ForwardFlags& flags, dist::World* world) {
  const bool writes = world == nullptr || world->rank() == 0;
  const ModelSpec spec = model_spec(flags.model);
  ExecOptions options = exec_options(flags.exec);
  Trace trace;
  if (!flags.exec.trace.empty()) options.trace = &trace;
  if (!flags.cn.empty() && !has_cell_state(spec.cell)) {
    throw Error("--cn is for lstm only; a " + std::string(to_string(spec.cell)) +
                " has no cell state");
  }
  ExecFlags exec = flags.exec;
  exec.trace = rank_trace_path(flags.exec.trace, world);
  if (writes) {
    check_writable(flags.output, "--output");
    check_writable(flags.hn, "--hn");
    check_writable(flags.cn, "--cn");
  }
  check_writable(exec.trace, "--trace");
  const InputFlags& in = flags.inputs;
  check_distinct_files({{"--weights", in.weights}, {"--input", in.input}, {"--lengths", in.lengths},
                        {"--h0", in.h0}, {"--c0", in.c0}},
                       {{"--output", writes ? flags.output : ""}, {"--hn", writes ? flags.hn : ""},
                        {"--cn", writes ? flags.cn : ""}, {"--trace", exec.trace}});
  const Weights weights = load_model_weights(spec, flags.inputs);
  const ProblemFiles files = load_problem(spec, flags.inputs);

  Tensor output({files.steps, files.batch, spec.directions() * spec.output_size()});
  Tensor hn(flags.hn.empty() ? std::vector<int64_t>{0} : h_state_shape(spec, files.batch));
  Tensor cn(flags.cn.empty() ? std::vector<int64_t>{0} : c_state_shape(spec, files.batch));
  ForwardArgs<float> args = forward_args(files);
  args.output = output.span();
  args.hn = hn.span();
  args.cn = cn.span();
  if (world == nullptr) {
    const Rnn rnn(weights, options);
    rnn.forward(args);
  } else {
    const dist::PipelineStage stage(*world, weights, options);
    start_common_clock(*world, options.trace);
    stage.forward(args, dist::Seconds(flags.ranks.rank_timeout));
  }

  // All or nothing: a failure to write one output leaves none of them written. Under a
  // pipeline rank 0 alone holds the results; every rank writes its own trace.
  OutputFiles outputs;
  if (writes) {
    outputs.add(flags.output, serialize_npy(output), "--output");
    if (!flags.hn.empty()) outputs.add(flags.hn, serialize_npy(hn), "--hn");
    if (!flags.cn.empty()) outputs.add(flags.cn, serialize_npy(cn), "--cn");
  }
  add_trace(outputs, exec, trace);
  outputs.commit();
}

void run(const ForwardFlags& flags) {
  run_pipeline_command(flags.ranks, "forward", [&](dist::World* world) { run_as(flags, world); });
}

}  // namespace

void add_forward_command(CLI::App& app) {
  auto flags = std::make_shared<ForwardFlags>();
  CLI::App* command = app.add_subcommand(
      "forward", "Run a model on an input; write its output and final states");
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
  add_pipeline_flags(*command, flags->ranks);
  command->callback([flags] { run(*flags); });
}

}  // namespace rnnwave::tools
