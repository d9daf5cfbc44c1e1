// A stack run as a layer pipeline: each rank's layers as their own task graph, fed block
// by block from the rank below (ForwardArgs::on_input_block) and feeding the rank above
// (on_output_block), both through a PipeChannel.
#include "rnnwave/dist/pipeline.h"

#include <algorithm>
#include <vector>

#include "common/strings.h"
#include "rnnwave/dist/pipe_channel.h"
#include "rnnwave/dist/run.h"
#include "rnnwave/dropout.h"
#include "rnnwave/planner.h"

namespace rnnwave::dist {
namespace {

LayerRange stage_layers(const World& world, int64_t layers) {
  try {
    return pipeline_layers(layers, world.size(), world.rank());
  } catch (const Error& e) {
    throw CollectiveError(e.what());  // every rank computes the same refusal
  }
}

/// Blocks of B steps tiling [0, T): block b is [b*B, min(T, (b+1)*B)).
struct PipeBlocks {
  int64_t size, steps;
  int64_t count() const { return (steps + size - 1) / size; }
  int64_t begin(int64_t b) const { return b * size; }
  int64_t end(int64_t b) const { return std::min(steps, (b + 1) * size); }
  /// The blocks that start inside [t0, t1).
  int64_t first_in(int64_t t0) const { return (t0 + size - 1) / size; }
  int64_t end_in(int64_t t1) const { return (t1 + size - 1) / size; }
};

/// The rows [t0, t1) of a [T, N, w] tensor.
std::span<float> steps_of(std::span<float> tensor, int64_t batch, int64_t width, int64_t t0, int64_t t1) {
  return tensor.subspan(static_cast<size_t>(t0 * batch * width), static_cast<size_t>((t1 - t0) * batch * width));
}

/// A rank's share of a [L*D, N, w] state tensor: its layers' rows, or empty if not given.
template <class S>
S layer_rows(S states, LayerRange layers, int64_t directions, int64_t batch, int64_t width) {
  if (states.empty()) return states;
  const int64_t per_layer = directions * batch * width;
  return states.subspan(static_cast<size_t>(layers.begin * per_layer), static_cast<size_t>(layers.count() * per_layer));
}

/// The ranks other than `rank` that receive a pass's results: rank 0, or every rank.
std::vector<int> result_peers(int rank, int ranks, PipelineResults results) {
  std::vector<int> peers;
  for (int r = 0; r < ranks; ++r) {
    if (r != rank && (r == 0 || results == PipelineResults::every_rank)) peers.push_back(r);
  }
  return peers;
}

/// The ranks other than `rank`, when `rank` receives the results; else none.
std::vector<int> result_sources(int rank, int ranks, PipelineResults results) {
  std::vector<int> sources;
  if (rank != 0 && results != PipelineResults::every_rank) return sources;
  for (int r = 0; r < ranks; ++r) {
    if (r != rank) sources.push_back(r);
  }
  return sources;
}

void check_size(size_t actual, int64_t expected, const char* what) {
  if (static_cast<int64_t>(actual) != expected) {
    fail("pipeline forward: ", what, " has ", actual, " values, expected ", expected);
  }
}

}  // namespace

struct PipelineStage::Impl {
  Impl(World& w, const Weights& weights, ExecOptions exec, PipelineResults to)
      : world(w), spec(weights.spec()), layers(stage_layers(w, weights.spec().layers)),
        options(exec), delivery(to), rnn(layer_range_weights(weights, layers), exec), flow(w),
        results(w), states(w) {}

  /// The dropout of this rank's first layer's input in the last training forward pass
  /// (p = 0: none), which backward applies again to that input's gradient.
  struct InputDropout {
    double p = 0;
    uint64_t seed = 0;
    int64_t layer = 0;  // in the whole stack
    /// Masks block [t0, t1) of a [T, N, width] tensor in place.
    void apply(std::span<float> block, int64_t steps, int64_t batch, int64_t width, int64_t t0) const {
      apply_dropout_mask<float>(block, block, p, seed, static_cast<uint64_t>(((layer * steps + t0) * batch) * width));
    }
  };

  World& world;
  ModelSpec spec;  // the whole model's
  LayerRange layers;
  ExecOptions options;  // this rank's, step_block set per pass
  PipelineResults delivery;
  Rnn rnn;
  InputDropout input_dropout;
  // Each kind of transfer on a channel of its own: blocks between neighbours, the top
  // layer's output blocks and the final states and gradient shares to the ranks that get
  // the results.
  PipeChannel flow, results, states;
  // The blocks received from below and those sent on. Kept with the stage, not the call:
  // if a pass fails on this rank, transfers still in flight until the job ends must not
  // touch freed memory.
  std::vector<float> input, output, grad_output, grad_input;
  std::optional<Weights> grads;  // this rank's layers' weight gradients
  std::vector<std::optional<Weights>> theirs;  // the other ranks' (by rank), as received
  int64_t steps = 0, batch = 0;  // of the last forward pass
};

PipelineStage::PipelineStage(World& world, const Weights& weights, ExecOptions options, PipelineResults results)
    : impl_(std::make_unique<Impl>(world, weights, options, results)) {}

PipelineStage::~PipelineStage() = default;

LayerRange PipelineStage::layers() const { return impl_->layers; }
const Rnn& PipelineStage::rnn() const { return impl_->rnn; }

void PipelineStage::set_weights(const Weights& weights) {
  if (!(weights.spec() == impl_->spec)) fail("pipeline set_weights: the weights are for another model");
  impl_->rnn.set_weights(layer_range_weights(weights, impl_->layers));
}

int64_t PipelineStage::pipe_block(int64_t steps, int64_t batch) const {
  // Every rank must cut the steps alike, whatever its layers and threads: the block of
  // the whole model's plan (the automatic one depends on the largest layer's input
  // weights, and this rank holds only some of the layers) at one thread; an automatic
  // one of at most 16 steps, so that the next stage starts early (below 8 rows the
  // engine projects whole sequences, which would leave the stages nothing to overlap).
  constexpr int64_t kMaxAutomaticBlock = 16;
  ExecOptions wavefront = impl_->options;
  wavefront.schedule = Schedule::wavefront;
  wavefront.threads = 1;
  const int64_t block = plan_of(impl_->spec, steps, batch, wavefront).step_block;
  return wavefront.step_block > 0 ? block : std::min(block, kMaxAutomaticBlock);
}

void PipelineStage::forward(const ForwardArgs<float>& args, std::optional<Seconds> receive_timeout) const {
  run_forward(args, nullptr, receive_timeout);
}

void PipelineStage::forward(const ForwardArgs<float>& args, Workspace& workspace,
                            std::optional<Seconds> receive_timeout) const {
  run_forward(args, &workspace, receive_timeout);
}

void PipelineStage::run_forward(const ForwardArgs<float>& args, Workspace* workspace,
                                std::optional<Seconds> receive_timeout) const {
  Impl& s = *impl_;
  if (args.on_input_block) fail("pipeline forward: on_input_block is the pipeline's own");
  const int rank = s.world.rank(), ranks = s.world.size();
  const int64_t T = args.steps, N = args.batch, D = s.spec.directions(), Hs = s.spec.output_size();
  const int64_t width = D * Hs, in_width = s.spec.layer_input_size(s.layers.begin);
  if (T < 1 || N < 1) fail("pipeline forward: steps and batch must be >= 1, got ", T, " and ", N);
  check_size(args.input.size(), T * N * s.spec.input_size, "input [T, N, I]");
  check_size(args.output.size(), T * N * width, "output [T, N, D*H]");
  const int64_t h_size = s.spec.layers * D * N * Hs, c_size = s.spec.layers * D * N * s.spec.hidden_size;
  if (!args.h0.empty()) check_size(args.h0.size(), h_size, "h0 [L*D, N, H]");
  if (!args.hn.empty()) check_size(args.hn.size(), h_size, "hn [L*D, N, H]");
  if (!args.c0.empty()) check_size(args.c0.size(), c_size, "c0 [L*D, N, H]");
  if (!args.cn.empty()) check_size(args.cn.size(), c_size, "cn [L*D, N, H]");
  if (args.dropout_first_layer < 0) fail("pipeline forward: dropout_first_layer must be >= 0, got ", args.dropout_first_layer);

  const PipeBlocks blocks{pipe_block(T, N), T};
  s.steps = T;
  s.batch = N;
  ExecOptions options = s.options;
  options.step_block = blocks.size;  // the stage's blocks are the pipe's (layerwise: all of T)
  s.rnn.set_options(options);  // ours alone: the Rnn is the stage's
  const bool first = rank == 0, last = rank == ranks - 1;
  const int lower = s.layers.begin > 0 ? int(s.layers.begin - 1) : 0, top = int(s.layers.end - 1);
  const std::vector<int> peers = result_peers(rank, ranks, s.delivery);      // get our results
  const std::vector<int> sources = result_sources(rank, ranks, s.delivery);  // give us theirs

  ForwardArgs<float> stage;
  stage.steps = T;
  stage.batch = N;
  stage.lengths = args.lengths;
  stage.h0 = layer_rows(args.h0, s.layers, D, N, Hs);
  stage.c0 = layer_rows(args.c0, s.layers, D, N, s.spec.hidden_size);
  stage.hn = layer_rows(args.hn, s.layers, D, N, Hs);
  stage.cn = layer_rows(args.cn, s.layers, D, N, s.spec.hidden_size);
  stage.dropout = args.dropout;
  stage.dropout_seed = args.dropout_seed;
  stage.dropout_first_layer = args.dropout_first_layer + s.layers.begin;
  // The input of a first layer above layer 0 is dropped as in the whole stack (training
  // only, as the engine's own dropout), each block on arrival.
  s.input_dropout = {};
  if (!first && workspace != nullptr && args.dropout > 0) {
    s.input_dropout = {args.dropout, args.dropout_seed, stage.dropout_first_layer};
  }

  // Input: rank 0 the caller's; the others receive every block from the rank below, all
  // posted now, and the pass waits for each before it reads it.
  std::vector<float>& input = s.input;
  std::vector<Transfer> received(static_cast<size_t>(first ? 0 : blocks.count()));
  if (first) {
    stage.input = args.input;
  } else {
    input.resize(static_cast<size_t>(T * N * in_width));
    for (int64_t b = 0; b < blocks.count(); ++b) {
      received[b] = s.flow.receive<float>(rank - 1, BlockId{Flow::up, lower, int(b), 0},
                                          steps_of(input, N, in_width, blocks.begin(b), blocks.end(b)), {},
                                          receive_timeout);
    }
    stage.input = input;
    stage.on_input_block = [&](int64_t t0, int64_t t1) {
      for (int64_t b = blocks.first_in(t0); b < blocks.end_in(t1); ++b) {
        s.flow.wait(received[b]);
        if (s.input_dropout.p > 0) {
          s.input_dropout.apply(steps_of(input, N, in_width, blocks.begin(b), blocks.end(b)), T, N, in_width,
                                blocks.begin(b));
        }
      }
    };
  }
  // Output: rank 0's own buffer when it is the only rank; else every block goes on as soon
  // as it is final, up to the next rank or, from the top, to the ranks that get the results.
  std::vector<float>& output = s.output;
  const std::vector<int> output_to = last ? peers : std::vector<int>{rank + 1};
  std::vector<Transfer> sent(static_cast<size_t>(blocks.count()) * output_to.size());
  if (first && last) {
    stage.output = args.output;
    stage.on_output_block = args.on_output_block;
    stage.output_early = args.output_early;
  } else {
    output.resize(static_cast<size_t>(T * N * width));
    stage.output = output;
    PipeChannel& channel = last ? s.results : s.flow;
    stage.on_output_block = [&](int64_t t0, int64_t t1) {
      for (int64_t b = blocks.first_in(t0); b < blocks.end_in(t1); ++b) {
        const std::span<float> data = steps_of(output, N, width, blocks.begin(b), blocks.end(b));
        for (size_t i = 0; i < output_to.size(); ++i) {
          sent[b * output_to.size() + i] = channel.send<float>(output_to[i], BlockId{Flow::up, top, int(b), 0},
                                                               std::span<const float>(data));
        }
      }
    };
    stage.output_early = true;
  }
  // The ranks that get the results collect the top layer's output and every other rank's
  // final states.
  std::vector<Transfer> outputs, states;
  if (!sources.empty() && !last) {
    for (int64_t b = 0; b < blocks.count(); ++b) {
      outputs.push_back(s.results.receive<float>(ranks - 1, BlockId{Flow::up, int(s.spec.layers - 1), int(b), 0},
                                                 steps_of(args.output, N, width, blocks.begin(b), blocks.end(b)),
                                                 {}, receive_timeout));
    }
  }
  for (const int r : sources) {
    const LayerRange theirs = pipeline_layers(s.spec.layers, ranks, r);
    if (!args.hn.empty()) {
      states.push_back(s.states.receive<float>(r, BlockId{Flow::up, r, 0, 0}, layer_rows(args.hn, theirs, D, N, Hs),
                                               {}, receive_timeout));
    }
    if (!args.cn.empty()) {
      states.push_back(s.states.receive<float>(r, BlockId{Flow::up, r, 1, 0},
                                               layer_rows(args.cn, theirs, D, N, s.spec.hidden_size), {},
                                               receive_timeout));
    }
  }

  if (workspace == nullptr) {
    s.rnn.forward(stage);
  } else {
    s.rnn.forward(stage, *workspace);
  }

  for (const int r : peers) {
    if (!stage.hn.empty()) states.push_back(s.states.send<float>(r, BlockId{Flow::up, rank, 0, 0}, std::span<const float>(stage.hn)));
    if (!stage.cn.empty()) states.push_back(s.states.send<float>(r, BlockId{Flow::up, rank, 1, 0}, std::span<const float>(stage.cn)));
  }
  // The results, block by block as they arrive (the top rank: its own copy), each handed
  // to the caller's hook as soon as it is there.
  if (!sources.empty()) {
    if (last) std::ranges::copy(output, args.output.begin());
    for (int64_t b = 0; b < blocks.count(); ++b) {
      if (!last) s.results.wait(outputs[b]);
      if (args.on_output_block) args.on_output_block(blocks.begin(b), blocks.end(b));
    }
  }
  // Nothing is left in flight: the buffers are this call's.
  PipeChannel& sent_on = last ? s.results : s.flow;
  for (Transfer& t : sent) sent_on.wait(t);
  for (Transfer& t : states) s.states.wait(t);
}

void PipelineStage::backward(const BackwardArgs<float>& args, Workspace& workspace,
                             std::optional<Seconds> receive_timeout) const {
  Impl& s = *impl_;
  if (args.on_grad_output_block || args.on_grad_input_block) {
    fail("pipeline backward: on_grad_output_block and on_grad_input_block are the pipeline's own");
  }
  // A stage runs only its layers, so it cannot announce the whole stack's; refused rather
  // than never called.
  if (args.on_layer_grads_final) fail("pipeline backward: on_layer_grads_final is not supported");
  const int rank = s.world.rank(), ranks = s.world.size();
  const int64_t T = s.steps, N = s.batch, D = s.spec.directions(), Hs = s.spec.output_size(), H = s.spec.hidden_size;
  const int64_t width = D * Hs, in_width = s.spec.layer_input_size(s.layers.begin);
  if (T < 1) fail("pipeline backward: no forward pass before it");
  check_size(args.grad_output.size(), T * N * width, "grad_output [T, N, D*H]");
  if (!args.grad_input.empty()) check_size(args.grad_input.size(), T * N * s.spec.input_size, "grad_input [T, N, I]");
  const int64_t h_size = s.spec.layers * D * N * Hs, c_size = s.spec.layers * D * N * H;
  if (!args.grad_hn.empty()) check_size(args.grad_hn.size(), h_size, "grad_hn [L*D, N, H]");
  if (!args.grad_cn.empty()) check_size(args.grad_cn.size(), c_size, "grad_cn [L*D, N, H]");
  if (!args.grad_h0.empty()) check_size(args.grad_h0.size(), h_size, "grad_h0 [L*D, N, H]");
  if (!args.grad_c0.empty()) check_size(args.grad_c0.size(), c_size, "grad_c0 [L*D, N, H]");
  if (args.grad_weights != nullptr && !(args.grad_weights->spec() == s.spec)) {
    fail("pipeline backward: grad_weights is for another model");
  }
  // The blocks on the wire are those of the forward pass; the stage's own are the same,
  // or all of T under the layerwise schedule.
  const PipeBlocks blocks{pipe_block(T, N), T};
  ExecOptions options = s.options;
  options.step_block = blocks.size;  // as in the forward pass
  s.rnn.set_options(options);
  const bool first = rank == 0, last = rank == ranks - 1;
  const int top = int(s.layers.end - 1), below = int(s.layers.begin - 1);
  const std::vector<int> peers = result_peers(rank, ranks, s.delivery);
  const std::vector<int> sources = result_sources(rank, ranks, s.delivery);

  BackwardArgs<float> stage;
  stage.grad_hn = layer_rows(args.grad_hn, s.layers, D, N, Hs);
  stage.grad_cn = layer_rows(args.grad_cn, s.layers, D, N, H);
  stage.grad_h0 = layer_rows(args.grad_h0, s.layers, D, N, Hs);
  stage.grad_c0 = layer_rows(args.grad_c0, s.layers, D, N, H);
  if (args.grad_weights != nullptr) {
    if (!s.grads) s.grads.emplace(s.rnn.spec());
    stage.grad_weights = &*s.grads;
  }
  // The gradient of the top layer's output: the caller's on the top rank; elsewhere every
  // block from the rank above, posted now, waited for before the pass reads it.
  std::vector<Transfer> received(static_cast<size_t>(last ? 0 : blocks.count()));
  if (last) {
    stage.grad_output = args.grad_output;
  } else {
    s.grad_output.resize(static_cast<size_t>(T * N * width));
    for (int64_t b = 0; b < blocks.count(); ++b) {
      received[b] = s.flow.receive<float>(rank + 1, BlockId{Flow::down, top, int(b), 0},
                                          steps_of(s.grad_output, N, width, blocks.begin(b), blocks.end(b)), {},
                                          receive_timeout);
    }
    stage.grad_output = s.grad_output;
    stage.on_grad_output_block = [&](int64_t t0, int64_t t1) {
      for (int64_t b = blocks.first_in(t0); b < blocks.end_in(t1); ++b) s.flow.wait(received[b]);
    };
  }
  // The gradient of the stage's input: the caller's on rank 0; elsewhere each block goes
  // down as soon as it is final (through the input's dropout mask, if it had one).
  std::vector<Transfer> sent(static_cast<size_t>(blocks.count()));
  if (first) {
    stage.grad_input = args.grad_input;
  } else {
    s.grad_input.resize(static_cast<size_t>(T * N * in_width));
    stage.grad_input = s.grad_input;
    stage.on_grad_input_block = [&](int64_t t0, int64_t t1) {
      for (int64_t b = blocks.first_in(t0); b < blocks.end_in(t1); ++b) {
        const std::span<float> data = steps_of(s.grad_input, N, in_width, blocks.begin(b), blocks.end(b));
        if (s.input_dropout.p > 0) s.input_dropout.apply(data, T, N, in_width, blocks.begin(b));
        sent[b] = s.flow.send<float>(rank - 1, BlockId{Flow::down, below, int(b), 0}, std::span<const float>(data));
      }
    };
    stage.grad_input_early = true;
  }

  // The ranks that get the results collect every other rank's shares (initial-state and
  // weight gradients) and, but for rank 0, the gradient of the input; posted now.
  std::vector<Transfer> shares;
  if (args.grad_weights != nullptr && s.theirs.size() != size_t(ranks)) {
    s.theirs.assign(size_t(ranks), std::nullopt);
    for (const int r : sources) {
      s.theirs[r].emplace(layer_range_weights(*args.grad_weights, pipeline_layers(s.spec.layers, ranks, r)));
    }
  }
  for (const int r : sources) {
    const LayerRange theirs = pipeline_layers(s.spec.layers, ranks, r);
    if (!args.grad_h0.empty()) {
      shares.push_back(s.states.receive<float>(r, BlockId{Flow::down, r, 0, 0}, layer_rows(args.grad_h0, theirs, D, N, Hs),
                                               {}, receive_timeout));
    }
    if (!args.grad_c0.empty()) {
      shares.push_back(s.states.receive<float>(r, BlockId{Flow::down, r, 1, 0}, layer_rows(args.grad_c0, theirs, D, N, H),
                                               {}, receive_timeout));
    }
    if (args.grad_weights != nullptr) {
      shares.push_back(s.states.receive<float>(r, BlockId{Flow::down, r, 2, 0}, s.theirs[r]->flat(), {}, receive_timeout));
    }
  }
  if (!first && !sources.empty() && !args.grad_input.empty()) {
    shares.push_back(s.states.receive<float>(0, BlockId{Flow::down, 0, 3, 0}, args.grad_input, {}, receive_timeout));
  }

  s.rnn.backward(stage, workspace);

  if (args.grad_weights != nullptr) set_layer_range(*args.grad_weights, s.layers, *s.grads);
  for (const int r : peers) {
    if (!stage.grad_h0.empty()) shares.push_back(s.states.send<float>(r, BlockId{Flow::down, rank, 0, 0}, std::span<const float>(stage.grad_h0)));
    if (!stage.grad_c0.empty()) shares.push_back(s.states.send<float>(r, BlockId{Flow::down, rank, 1, 0}, std::span<const float>(stage.grad_c0)));
    if (s.grads) shares.push_back(s.states.send<float>(r, BlockId{Flow::down, rank, 2, 0}, std::span<const float>(s.grads->flat())));
    if (first && !args.grad_input.empty()) {
      shares.push_back(s.states.send<float>(r, BlockId{Flow::down, 0, 3, 0}, std::span<const float>(args.grad_input)));
    }
  }
  for (Transfer& t : sent) s.flow.wait(t);
  for (Transfer& t : shares) s.states.wait(t);
  for (const int r : sources) {
    if (args.grad_weights != nullptr) set_layer_range(*args.grad_weights, pipeline_layers(s.spec.layers, ranks, r), *s.theirs[r]);
  }
}

}  // namespace rnnwave::dist
