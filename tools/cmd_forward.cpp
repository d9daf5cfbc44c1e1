// rnnwave forward: outputs and final states of a model on an input.
#include <CLI/CLI.hpp>
#include <memory>

#include "tools/commands.h"
#include "tools/problem_files.h"

namespace rnnwave::tools {
namespace {

struct ForwardFlags {
  ModelFlags model;
  InputFlags inputs;
  ExecFlags exec;
  std::string output, hn, cn;
};

void run(const ForwardFlags& flags) {
  const ModelSpec spec = model_spec(flags.model);
  ExecOptions options = exec_options(flags.exec);
  Trace trace;
  if (!flags.exec.trace.empty()) options.trace = &trace;
  if (!flags.cn.empty() && !has_cell_state(spec.cell)) {
    throw Error("--cn is for lstm only; a " + std::string(to_string(spec.cell)) +
                " has no cell state");
  }
  check_writable(flags.output, "--output");
  check_writable(flags.hn, "--hn");
  check_writable(flags.cn, "--cn");
  check_writable(flags.exec.trace, "--trace");
  const InputFlags& in = flags.inputs;
  check_distinct_files({{"--weights", in.weights}, {"--input", in.input}, {"--lengths", in.lengths},
                        {"--h0", in.h0}, {"--c0", in.c0}},
                       {{"--output", flags.output}, {"--hn", flags.hn}, {"--cn", flags.cn},
                        {"--trace", flags.exec.trace}});
  const Rnn rnn(load_model_weights(spec, flags.inputs), options);
  const ProblemFiles files = load_problem(spec, flags.inputs);

  Tensor output({files.steps, files.batch, spec.directions() * spec.output_size()});
  Tensor hn(flags.hn.empty() ? std::vector<int64_t>{0} : h_state_shape(spec, files.batch));
  Tensor cn(flags.cn.empty() ? std::vector<int64_t>{0} : c_state_shape(spec, files.batch));
  ForwardArgs<float> args = forward_args(files);
  args.output = output.span();
  args.hn = hn.span();
  args.cn = cn.span();
  rnn.forward(args);

  // All or nothing: a failure to write one output leaves none of them written.
  OutputFiles outputs;
  outputs.add(flags.output, serialize_npy(output), "--output");
  if (!flags.hn.empty()) outputs.add(flags.hn, serialize_npy(hn), "--hn");
  if (!flags.cn.empty()) outputs.add(flags.cn, serialize_npy(cn), "--cn");
  add_trace(outputs, flags.exec, trace);
  outputs.commit();
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
  command->callback([flags] { run(*flags); });
}

}  // namespace rnnwave::tools
