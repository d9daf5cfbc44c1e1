// A PyTorch-equivalent RNN stack built from oneDNN's RNN primitives (vanilla_rnn, lstm,
// lbr_gru), for the oneDNN peer benchmark.
//
// How the stack maps onto primitives ("segments", each a primitive over a range of layers):
// - unidirectional: one L-layer primitive (oneDNN's stacking is PyTorch's). oneDNN gives all
//   layers of a primitive the same input width, so when I != H layer 0 is a primitive of
//   its own and layers 1..L-1 another.
// - bidirectional: oneDNN's multi-layer bidirectional_concat runs the two directions as
//   independent stacks, which is not PyTorch's stacking (layer l+1 reads both directions of
//   layer l). So the stack is a chain of L one-layer bidirectional_concat primitives; layer
//   l's dst_layer [T, N, 2H] is layer l+1's src_layer, and in training the backward
//   primitives run in reverse order, layer l+1's diff_src_layer being layer l's
//   diff_dst_layer.
// Weights are given in PyTorch's layout (ldgoi, gate order permuted for GRU: oneDNN's
// u, r, o is PyTorch's z, r, n) and reordered ONCE into the layouts the primitives pick
// (format_tag::any; packed for inference): a training step in a real loop would reorder
// again after each optimizer step, which this benchmark leaves out.
#pragma once

#include <cstdint>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "peer_problem.h"

namespace rnnwave::bench {

/// Bytes held by the stack, by kind.
struct OnednnMemory {
  int64_t workspace = 0;    // forward-training workspaces (what backward reads)
  int64_t scratchpad = 0;   // one scratchpad, shared by every primitive (they run in turn)
  int64_t weights = 0;      // weights and biases in the primitives' layouts (fwd + bwd copies)
  int64_t grads = 0;        // weight, bias, input and initial-state gradients + inter-layer diffs
  int64_t activations = 0;  // output, final states and inter-layer outputs
};

class OnednnStack {
 public:
  /// Builds the primitives (inference or training), reorders the weights and allocates
  /// every buffer; nothing is allocated by forward() or backward() afterwards.
  /// Call omp_set_num_threads first: oneDNN sizes its kernels by the thread count.
  /// `forward_prop` is the forward's propagation kind when not training: forward_inference
  /// (what an inference user asks for), or forward_training, which oneDNN 2.6 runs with
  /// other kernels (its GEMM-based implementation instead of brgemm) plus a workspace.
  /// `bf16` (inference only): weights, layer inputs and outputs and h states in bf16, c
  /// states and biases in fp32 (oneDNN's bf16 RNN); the fp32 input and h0 are converted
  /// once here, outside the timed forward, and the outputs stay in bf16 (dump refuses).
  OnednnStack(const PeerProblem& problem, PeerData data, bool training,
              dnnl::prop_kind forward_prop = dnnl::prop_kind::forward_inference,
              bool bf16 = false);

  /// Output [T, N, D*H] and final states [L*D, N, H] from the input and initial states.
  void forward();
  /// Every gradient (input, initial states, weights, biases) for dL/dy = data.grad_output,
  /// dL/dh_n = dL/dc_n = 0. Needs forward() first. oneDNN ACCUMULATES weight and bias
  /// gradients: call zero_grads() before each backward().
  void backward();
  void zero_grads();

  OnednnMemory memory_use() const;
  int64_t primitive_count() const;
  /// oneDNN's implementation names, e.g. "ref:any" (forward, then backward when training).
  std::string implementation() const;
  /// Writes the inputs, the weights, the outputs and (training) every gradient as .npy
  /// files named as PyTorch names them, into the existing directory `dir`.
  void dump(const std::string& dir) const;

 private:
  struct Segment {
    int64_t first_layer = 0, layers = 0, input_size = 0;
    dnnl::rnn_primitive_desc_base fwd_pd, bwd_pd;
    dnnl::primitive fwd, bwd;
    std::unordered_map<int, dnnl::memory> fwd_args, bwd_args;
  };

  void add_segment(int64_t first_layer, int64_t layers);
  dnnl::memory wrap(const dnnl::memory::desc& desc, std::vector<float>& buffer, int64_t offset);
  dnnl::memory reordered(dnnl::memory& user, const dnnl::memory::desc& desc);
  /// The fp32 values at buffer + offset, converted (for bf16) into a new memory of `desc`.
  dnnl::memory converted(const dnnl::memory::desc& desc, std::vector<float>& buffer, int64_t offset);
  /// The (layer, direction) parameter gradients of a segment, in PyTorch's layout.
  std::vector<TorchCellWeights> torch_grads(const Segment& segment) const;

  PeerProblem problem_;
  PeerData data_;
  bool training_;
  dnnl::prop_kind forward_prop_;
  bool bf16_ = false;
  dnnl::engine engine_;
  dnnl::stream stream_;
  std::vector<Segment> segments_;
  std::vector<float> output_, h_n_, c_n_, grad_input_, grad_h0_, grad_c0_, zeros_;
  dnnl::memory scratchpad_;  // one buffer, 64-byte aligned by oneDNN
  int64_t weights_bytes_ = 0;
};

}  // namespace rnnwave::bench
