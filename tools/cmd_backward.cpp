// rnnwave backward: gradients with respect to the input, the initial states and every
// weight, given the gradients with respect to the outputs; with --pipeline under mpirun,
// the layers split over the ranks (docs/distributed.md, "The layer pipeline").
#include <CLI/CLI.hpp>
#include <memory>
#include <optional>

#include "rnnwave/dist/pipeline.h"
#include "tools/commands.h"
#include "tools/pipeline_ranks.h"
#include "tools/problem_files.h"

namespace rnnwave::tools {
namespace {

struct BackwardFlags {
  ModelFlags model;
  InputFlags inputs;
  ExecFlags exec;
  std::string grad_output, grad_hn, grad_cn, grads;
  PipelineFlags ranks;
};

void run_as(const BackwardFlags& flags, dist::World* world) {
  const bool writes = world == nullptr || world->rank() == 0;
  const ModelSpec spec = model_spec(flags.model);
  ExecOptions options = exec_options(flags.exec);
  Trace trace;
  if (!flags.exec.trace.empty()) options.trace = &trace;
  if (!flags.grad_cn.empty() && !has_cell_state(spec.cell)) {
    throw Error("--grad-cn is for lstm only; a " + std::string(to_string(spec.cell)) +
                " has no cell state");
  }
  ExecFlags exec = flags.exec;
  exec.trace = rank_trace_path(flags.exec.trace, world);
  if (writes) check_writable(flags.grads, "--grads");
  check_writable(exec.trace, "--trace");
  const InputFlags& in = flags.inputs;
  check_distinct_files({{"--weights", in.weights}, {"--input", in.input}, {"--lengths", in.lengths},
                        {"--h0", in.h0}, {"--c0", in.c0}, {"--grad-output", flags.grad_output},
                        {"--grad-hn", flags.grad_hn}, {"--grad-cn", flags.grad_cn}},
                       {{"--grads", writes ? flags.grads : ""}, {"--trace", exec.trace}});
  const Weights weights = load_model_weights(spec, flags.inputs);
  const ProblemFiles files = load_problem(spec, flags.inputs);
  const std::vector<int64_t> h_state = h_state_shape(spec, files.batch);
  const std::vector<int64_t> c_state = c_state_shape(spec, files.batch);
  const std::vector<int64_t> output_shape{files.steps, files.batch,
                                          spec.directions() * spec.output_size()};
  const Tensor grad_output =
      load_optional(flags.grad_output, "--grad-output", output_shape, output_labels(spec));
  const Tensor grad_hn = load_optional(flags.grad_hn, "--grad-hn", h_state, h_state_labels(spec));
  const Tensor grad_cn = load_optional(flags.grad_cn, "--grad-cn", c_state, "[L*D, N, H]");

  Workspace workspace;
  Tensor output(output_shape);
  ForwardArgs<float> args = forward_args(files);
  args.output = output.span();
  std::optional<Rnn> rnn;
  std::optional<dist::PipelineStage> stage;
  if (world == nullptr) {
    rnn.emplace(weights, options);
    rnn->forward(args, workspace);
  } else {
    stage.emplace(*world, weights, options);
    start_common_clock(*world, options.trace);
    stage->forward(args, workspace, dist::Seconds(flags.ranks.rank_timeout));
  }

  const bool lstm = has_cell_state(spec.cell);
  Tensor grad_input(files.input.shape());
  Tensor grad_h0(h_state);
  Tensor grad_c0(lstm ? c_state : std::vector<int64_t>{0});
  Weights grad_weights(spec);
  BackwardArgs<float> back;
  back.grad_output = grad_output.span();
  back.grad_hn = grad_hn.span();
  back.grad_cn = grad_cn.span();
  back.grad_input = grad_input.span();
  back.grad_h0 = grad_h0.span();
  back.grad_c0 = grad_c0.span();
  back.grad_weights = &grad_weights;
  if (world == nullptr) {
    rnn->backward(back, workspace);
  } else {
    stage->backward(back, workspace, dist::Seconds(flags.ranks.rank_timeout));
  }

  std::map<std::string, Tensor> grads = grad_weights.to_tensors();
  grads.emplace("input", std::move(grad_input));
  grads.emplace("h0", std::move(grad_h0));
  if (lstm) grads.emplace("c0", std::move(grad_c0));
  OutputFiles outputs;  // all or nothing; under a pipeline rank 0 alone holds the gradients
  if (writes) outputs.add(flags.grads, serialize_npz(grads), "--grads");
  add_trace(outputs, exec, trace);
  outputs.commit();
}

void run(const BackwardFlags& flags) {
  run_pipeline_command(flags.ranks, "backward", [&](dist::World* world) { run_as(flags, world); });
}

}  // namespace

void add_backward_command(CLI::App& app) {
  auto flags = std::make_shared<BackwardFlags>();
  CLI::App* command = app.add_subcommand(
      "backward", "Backpropagation through time: gradients of the input, states and weights");
  add_model_flags(*command, flags->model);
  add_input_flags(*command, flags->inputs);
  command->add_option("--grad-output", flags->grad_output,
                      "Gradient of the output DY.npy, float32 [T, N, D*H]")
      ->required();
  command->add_option("--grad-hn", flags->grad_hn,
                      "Gradient of the final hidden states DHN.npy, float32 [L*D, N, H]");
  command->add_option("--grad-cn", flags->grad_cn,
                      "Gradient of the final cell states DCN.npy, float32 [L*D, N, H] (lstm)");
  command->add_option("--grads", flags->grads,
                      "Output G.npz: 'input', 'h0', 'c0' (lstm) and one entry per weight name")
      ->required();
  add_exec_flags(*command, flags->exec);
  add_weight_copy_flag(*command, flags->exec);
  add_pipeline_flags(*command, flags->ranks);
  command->callback([flags] { run(*flags); });
}

}  // namespace rnnwave::tools
