#include "onednn_stack.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "npy_writer.h"

namespace rnnwave::bench {
namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

/// oneDNN's GRU gate order is u (update = PyTorch's z), r, o (PyTorch's n); LSTM and vanilla
/// gates are in PyTorch's order. The map is its own inverse.
int64_t torch_gate(PeerCell cell, int64_t onednn_gate) {
  if (cell != PeerCell::gru || onednn_gate > 1) return onednn_gate;
  return 1 - onednn_gate;
}

/// Bias gates in oneDNN: G, plus one for lbr_gru (the recurrent bias of the n gate, which
/// linear-before-reset keeps apart: n = tanh(W_in x + b_in + r * (W_hn h + b_hn))).
int64_t bias_gates(const PeerProblem& p) { return p.gates() + (p.cell == PeerCell::gru ? 1 : 0); }

/// The memory descriptors of one primitive's arguments; an empty desc = argument unused.
struct RnnDescs {
  memory::desc src_layer, src_iter, src_iter_c, weights_layer, weights_iter, bias, dst_layer,
      dst_iter, dst_iter_c;
  memory::desc diff_src_layer, diff_src_iter, diff_src_iter_c, diff_weights_layer,
      diff_weights_iter, diff_bias, diff_dst_layer, diff_dst_iter, diff_dst_iter_c;
};

dnnl::algorithm activation(PeerCell cell) {
  return cell == PeerCell::rnn_relu ? dnnl::algorithm::eltwise_relu
                                    : dnnl::algorithm::eltwise_tanh;
}

dnnl_rnn_desc_t forward_desc(PeerCell cell, dnnl::prop_kind prop, dnnl::rnn_direction dir,
                             const RnnDescs& m) {
  switch (cell) {
    case PeerCell::lstm:
      return dnnl::lstm_forward::desc(prop, dir, m.src_layer, m.src_iter, m.src_iter_c,
                                      m.weights_layer, m.weights_iter, m.bias, m.dst_layer,
                                      m.dst_iter, m.dst_iter_c)
          .data;
    case PeerCell::gru:
      return dnnl::lbr_gru_forward::desc(prop, dir, m.src_layer, m.src_iter, m.weights_layer,
                                         m.weights_iter, m.bias, m.dst_layer, m.dst_iter)
          .data;
    case PeerCell::rnn_tanh:
    case PeerCell::rnn_relu:
      break;
  }
  return dnnl::vanilla_rnn_forward::desc(prop, activation(cell), dir, m.src_layer, m.src_iter,
                                         m.weights_layer, m.weights_iter, m.bias, m.dst_layer,
                                         m.dst_iter)
      .data;
}

dnnl_rnn_desc_t backward_desc(PeerCell cell, dnnl::rnn_direction dir, const RnnDescs& m) {
  const auto prop = dnnl::prop_kind::backward;
  switch (cell) {
    case PeerCell::lstm:
      return dnnl::lstm_backward::desc(
                 prop, dir, m.src_layer, m.src_iter, m.src_iter_c, m.weights_layer,
                 m.weights_iter, m.bias, m.dst_layer, m.dst_iter, m.dst_iter_c, m.diff_src_layer,
                 m.diff_src_iter, m.diff_src_iter_c, m.diff_weights_layer, m.diff_weights_iter,
                 m.diff_bias, m.diff_dst_layer, m.diff_dst_iter, m.diff_dst_iter_c)
          .data;
    case PeerCell::gru:
      return dnnl::lbr_gru_backward::desc(prop, dir, m.src_layer, m.src_iter, m.weights_layer,
                                          m.weights_iter, m.bias, m.dst_layer, m.dst_iter,
                                          m.diff_src_layer, m.diff_src_iter,
                                          m.diff_weights_layer, m.diff_weights_iter,
                                          m.diff_bias, m.diff_dst_layer, m.diff_dst_iter)
          .data;
    case PeerCell::rnn_tanh:
    case PeerCell::rnn_relu:
      break;
  }
  return dnnl::vanilla_rnn_backward::desc(
             prop, activation(cell), dir, m.src_layer, m.src_iter, m.weights_layer,
             m.weights_iter, m.bias, m.dst_layer, m.dst_iter, m.diff_src_layer, m.diff_src_iter,
             m.diff_weights_layer, m.diff_weights_iter, m.diff_bias, m.diff_dst_layer,
             m.diff_dst_iter)
      .data;
}

int64_t bytes(const memory& m) { return m ? static_cast<int64_t>(m.get_desc().get_size()) : 0; }

}  // namespace

OnednnStack::OnednnStack(const PeerProblem& problem, PeerData data, bool training,
                         dnnl::prop_kind forward_prop, bool bf16)
    : problem_(problem),
      data_(std::move(data)),
      training_(training),
      forward_prop_(training ? dnnl::prop_kind::forward_training : forward_prop),
      bf16_(bf16),
      engine_(dnnl::engine::kind::cpu, 0),
      stream_(engine_) {
  if (bf16_ && training_) throw std::invalid_argument("bf16 is for --mode inference only");
  const PeerProblem& p = problem_;
  const int64_t L = p.layers, D = p.directions(), T = p.steps, N = p.batch, H = p.hidden_size;
  const int64_t states = L * D * N * H;
  output_.resize(size_t(T * N * D * H));
  h_n_.resize(size_t(states));
  if (p.cell == PeerCell::lstm) c_n_.resize(size_t(states));
  if (training_) {
    grad_input_.resize(size_t(T * N * p.input_size));
    grad_h0_.resize(size_t(states));
    if (p.cell == PeerCell::lstm) grad_c0_.resize(size_t(states));
    zeros_.assign(size_t(states), 0.0f);  // dL/dh_n = dL/dc_n = 0: the loss reads y only
  }

  if (p.bidirectional) {
    for (int64_t l = 0; l < L; ++l) add_segment(l, 1);
  } else if (L == 1 || p.input_size == H) {
    add_segment(0, L);
  } else {
    add_segment(0, 1);
    add_segment(1, L - 1);
  }

  // One scratchpad for all primitives: they run one after another.
  size_t scratch = 0;
  for (const Segment& s : segments_) {
    scratch = std::max(scratch, s.fwd_pd.scratchpad_desc().get_size());
    if (training_) scratch = std::max(scratch, s.bwd_pd.scratchpad_desc().get_size());
  }
  scratchpad_ = memory(memory::desc({memory::dim(std::max<size_t>(scratch, 1))}, dt::u8, tag::a),
                       engine_);
  for (Segment& s : segments_) {
    s.fwd_args[DNNL_ARG_SCRATCHPAD] =
        memory(s.fwd_pd.scratchpad_desc(), engine_, scratchpad_.get_data_handle());
    if (training_) {
      s.bwd_args[DNNL_ARG_SCRATCHPAD] =
          memory(s.bwd_pd.scratchpad_desc(), engine_, scratchpad_.get_data_handle());
    }
  }
  stream_.wait();
}

memory OnednnStack::wrap(const memory::desc& desc, std::vector<float>& buffer, int64_t offset) {
  return memory(desc, engine_, buffer.data() + offset);
}

memory OnednnStack::converted(const memory::desc& desc, std::vector<float>& buffer, int64_t offset) {
  if (desc.data_type() == dt::f32) return wrap(desc, buffer, offset);
  const tag layout = desc.dims().size() == 3 ? tag::tnc : tag::ldnc;  // [T, N, C] or states
  memory user(memory::desc(desc.dims(), dt::f32, layout), engine_, buffer.data() + offset);
  memory result(desc, engine_);
  dnnl::reorder(user, result).execute(stream_, user, result);
  return result;
}

memory OnednnStack::reordered(memory& user, const memory::desc& desc) {
  memory result(desc, engine_);
  dnnl::reorder(user, result).execute(stream_, user, result);
  weights_bytes_ += bytes(result);
  return result;
}

void OnednnStack::add_segment(int64_t first_layer, int64_t layers) {
  const PeerProblem& p = problem_;
  const bool lstm = p.cell == PeerCell::lstm;
  const int64_t D = p.directions(), T = p.steps, N = p.batch, H = p.hidden_size, G = p.gates();
  const int64_t C = p.layer_input_size(first_layer), Gb = bias_gates(p);
  const auto dir = p.bidirectional ? dnnl::rnn_direction::bidirectional_concat
                                   : dnnl::rnn_direction::unidirectional_left2right;
  const memory::dims states_dims{layers, D, N, H};
  const int64_t state_offset = first_layer * D * N * H;  // [L*D, N, H] is layer-major
  const bool first = segments_.empty();
  const bool last = first_layer + layers == p.layers;

  RnnDescs m;
  const dt act = bf16_ ? dt::bf16 : dt::f32;  // weights, layer data and h
  m.src_layer = memory::desc({T, N, C}, act, tag::tnc);
  m.src_iter = memory::desc(states_dims, act, tag::ldnc);
  if (lstm) m.src_iter_c = memory::desc(states_dims, dt::f32, tag::ldnc);
  m.weights_layer = memory::desc({layers, D, C, G, H}, act, tag::any);
  m.weights_iter = memory::desc({layers, D, H, G, H}, act, tag::any);
  m.bias = memory::desc({layers, D, Gb, H}, dt::f32, tag::ldgo);
  m.dst_layer = memory::desc({T, N, D * H}, act, tag::tnc);
  m.dst_iter = m.src_iter;
  m.dst_iter_c = m.src_iter_c;

  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  Segment s;
  s.first_layer = first_layer;
  s.layers = layers;
  s.input_size = C;
  const dnnl_rnn_desc_t fwd = forward_desc(p.cell, forward_prop_, dir, m);
  s.fwd_pd = dnnl::rnn_primitive_desc_base(&fwd, &attr, engine_, nullptr);
  s.fwd = dnnl::primitive(s.fwd_pd);
  if (training_) {
    m.diff_src_layer = m.src_layer;
    m.diff_src_iter = m.src_iter;
    m.diff_src_iter_c = m.src_iter_c;
    m.diff_weights_layer = m.weights_layer;
    m.diff_weights_iter = m.weights_iter;
    m.diff_bias = m.bias;
    m.diff_dst_layer = m.dst_layer;
    m.diff_dst_iter = m.dst_iter;
    m.diff_dst_iter_c = m.dst_iter_c;
    const dnnl_rnn_desc_t bwd = backward_desc(p.cell, dir, m);
    s.bwd_pd = dnnl::rnn_primitive_desc_base(&bwd, &attr, engine_, s.fwd_pd.get());
    s.bwd = dnnl::primitive(s.bwd_pd);
  }

  // User weights in PyTorch's layout: ldgoi is [G*H, C] per (layer, direction).
  std::vector<float> w_layer(size_t(layers * D * G * H * C));
  std::vector<float> w_iter(size_t(layers * D * G * H * H));
  std::vector<float> bias(size_t(layers * D * Gb * H));
  for (int64_t l = 0; l < layers; ++l) {
    for (int64_t d = 0; d < D; ++d) {
      const TorchCellWeights& w = data_.weights[size_t((first_layer + l) * D + d)];
      const int64_t ld = l * D + d;
      for (int64_t g = 0; g < G; ++g) {
        const int64_t tg = torch_gate(p.cell, g);
        std::copy_n(w.weight_ih.begin() + tg * H * C, H * C,
                    w_layer.begin() + (ld * G + g) * H * C);
        std::copy_n(w.weight_hh.begin() + tg * H * H, H * H,
                    w_iter.begin() + (ld * G + g) * H * H);
        for (int64_t o = 0; o < H; ++o) {
          const bool gru_n = p.cell == PeerCell::gru && g == 2;
          bias[size_t((ld * Gb + g) * H + o)] =
              w.bias_ih[size_t(tg * H + o)] + (gru_n ? 0.0f : w.bias_hh[size_t(tg * H + o)]);
        }
      }
      if (p.cell == PeerCell::gru) {
        std::copy_n(w.bias_hh.begin() + 2 * H, H, bias.begin() + (ld * Gb + 3) * H);
      }
    }
  }
  memory user_layer(memory::desc({layers, D, C, G, H}, dt::f32, tag::ldgoi), engine_,
                    w_layer.data());
  memory user_iter(memory::desc({layers, D, H, G, H}, dt::f32, tag::ldgoi), engine_,
                   w_iter.data());
  memory bias_mem(m.bias, engine_);
  std::memcpy(bias_mem.get_data_handle(), bias.data(), bias.size() * sizeof(float));
  weights_bytes_ += bytes(bias_mem);

  // Inputs: the user's arrays for the first segment, the previous segment's output above.
  memory src_layer = first ? converted(m.src_layer, data_.input, 0)
                           : segments_.back().fwd_args.at(DNNL_ARG_DST_LAYER);
  memory dst_layer =
      last && !bf16_ ? wrap(m.dst_layer, output_, 0) : memory(m.dst_layer, engine_);
  auto& f = s.fwd_args;
  f[DNNL_ARG_SRC_LAYER] = src_layer;
  f[DNNL_ARG_SRC_ITER] = converted(m.src_iter, data_.h0, state_offset);
  f[DNNL_ARG_WEIGHTS_LAYER] = reordered(user_layer, s.fwd_pd.weights_layer_desc());
  f[DNNL_ARG_WEIGHTS_ITER] = reordered(user_iter, s.fwd_pd.weights_iter_desc());
  f[DNNL_ARG_BIAS] = bias_mem;
  f[DNNL_ARG_DST_LAYER] = dst_layer;
  f[DNNL_ARG_DST_ITER] = bf16_ ? memory(m.dst_iter, engine_) : wrap(m.dst_iter, h_n_, state_offset);
  if (lstm) {
    f[DNNL_ARG_SRC_ITER_C] = wrap(m.src_iter_c, data_.c0, state_offset);
    f[DNNL_ARG_DST_ITER_C] = wrap(m.dst_iter_c, c_n_, state_offset);
  }
  if (forward_prop_ == dnnl::prop_kind::forward_training) {
    f[DNNL_ARG_WORKSPACE] = memory(s.fwd_pd.workspace_desc(), engine_);
  }
  if (training_) {
    auto& b = s.bwd_args;
    for (int arg : {DNNL_ARG_SRC_LAYER, DNNL_ARG_SRC_ITER, DNNL_ARG_SRC_ITER_C, DNNL_ARG_BIAS,
                    DNNL_ARG_DST_LAYER, DNNL_ARG_DST_ITER, DNNL_ARG_DST_ITER_C,
                    DNNL_ARG_WORKSPACE}) {
      if (f.count(arg)) b[arg] = f[arg];
    }
    // Backward may want the weights in another layout (it multiplies by their transpose).
    const auto bwd_weights = [&](const memory& fwd_copy, memory& user,
                                 const memory::desc& desc) {
      return fwd_copy.get_desc() == desc ? fwd_copy : reordered(user, desc);
    };
    b[DNNL_ARG_WEIGHTS_LAYER] =
        bwd_weights(f[DNNL_ARG_WEIGHTS_LAYER], user_layer, s.bwd_pd.weights_layer_desc());
    b[DNNL_ARG_WEIGHTS_ITER] =
        bwd_weights(f[DNNL_ARG_WEIGHTS_ITER], user_iter, s.bwd_pd.weights_iter_desc());
    b[DNNL_ARG_DIFF_SRC_LAYER] =
        first ? wrap(m.diff_src_layer, grad_input_, 0) : memory(m.diff_src_layer, engine_);
    b[DNNL_ARG_DIFF_SRC_ITER] = wrap(m.diff_src_iter, grad_h0_, state_offset);
    b[DNNL_ARG_DIFF_WEIGHTS_LAYER] = memory(s.bwd_pd.diff_weights_layer_desc(), engine_);
    b[DNNL_ARG_DIFF_WEIGHTS_ITER] = memory(s.bwd_pd.diff_weights_iter_desc(), engine_);
    b[DNNL_ARG_DIFF_BIAS] = memory(s.bwd_pd.diff_bias_desc(), engine_);
    b[DNNL_ARG_DIFF_DST_ITER] = wrap(m.diff_dst_iter, zeros_, 0);
    if (lstm) {
      b[DNNL_ARG_DIFF_SRC_ITER_C] = wrap(m.diff_src_iter_c, grad_c0_, state_offset);
      b[DNNL_ARG_DIFF_DST_ITER_C] = wrap(m.diff_dst_iter_c, zeros_, 0);
    }
    // The layer above reads this segment's output and hands back its gradient.
    if (!first) {
      segments_.back().bwd_args[DNNL_ARG_DIFF_DST_LAYER] = b[DNNL_ARG_DIFF_SRC_LAYER];
    }
    if (last) b[DNNL_ARG_DIFF_DST_LAYER] = wrap(m.diff_dst_layer, data_.grad_output, 0);
  }
  segments_.push_back(std::move(s));
}

void OnednnStack::forward() {
  for (Segment& s : segments_) s.fwd.execute(stream_, s.fwd_args);
  stream_.wait();
}

void OnednnStack::backward() {
  if (!training_) throw std::logic_error("backward() on an inference stack");
  for (auto s = segments_.rbegin(); s != segments_.rend(); ++s) {
    s->bwd.execute(stream_, s->bwd_args);
  }
  stream_.wait();
}

void OnednnStack::zero_grads() {
  for (Segment& s : segments_) {
    for (int arg : {DNNL_ARG_DIFF_WEIGHTS_LAYER, DNNL_ARG_DIFF_WEIGHTS_ITER, DNNL_ARG_DIFF_BIAS}) {
      memory& m = s.bwd_args.at(arg);
      std::memset(m.get_data_handle(), 0, m.get_desc().get_size());
    }
  }
}

OnednnMemory OnednnStack::memory_use() const {
  OnednnMemory result;
  result.scratchpad = bytes(scratchpad_);
  result.weights = weights_bytes_;
  result.activations = int64_t((h_n_.size() + c_n_.size()) * sizeof(float));
  for (const Segment& s : segments_) {
    result.activations += bytes(s.fwd_args.at(DNNL_ARG_DST_LAYER));
    if (s.fwd_args.count(DNNL_ARG_WORKSPACE)) {
      result.workspace += bytes(s.fwd_args.at(DNNL_ARG_WORKSPACE));
    }
    if (!training_) continue;
    for (int arg : {DNNL_ARG_DIFF_WEIGHTS_LAYER, DNNL_ARG_DIFF_WEIGHTS_ITER, DNNL_ARG_DIFF_BIAS,
                    DNNL_ARG_DIFF_SRC_LAYER}) {
      result.grads += bytes(s.bwd_args.at(arg));
    }
  }
  result.grads += int64_t((grad_h0_.size() + grad_c0_.size()) * sizeof(float));
  return result;
}

int64_t OnednnStack::primitive_count() const {
  return int64_t(segments_.size()) * (training_ ? 2 : 1);
}

std::string OnednnStack::implementation() const {
  const auto describe = [](const dnnl::rnn_primitive_desc_base& pd) {
    const bool packed = pd.weights_layer_desc().data.format_kind == dnnl_format_kind_rnn_packed;
    return std::string(pd.impl_info_str()) + (packed ? " (packed weights)" : "");
  };
  const Segment& s = segments_.front();
  std::string name = describe(s.fwd_pd);
  if (training_) name += " / " + describe(s.bwd_pd);
  return name;
}

std::vector<TorchCellWeights> OnednnStack::torch_grads(const Segment& s) const {
  const PeerProblem& p = problem_;
  const int64_t D = p.directions(), H = p.hidden_size, G = p.gates(), C = s.input_size;
  const int64_t Gb = bias_gates(p);
  // Gradients back to the user layout (ldgoi = PyTorch's [G*H, C]), then gates reordered.
  std::vector<float> w_layer(size_t(s.layers * D * G * H * C));
  std::vector<float> w_iter(size_t(s.layers * D * G * H * H));
  const memory user_layer(memory::desc({s.layers, D, C, G, H}, dt::f32, tag::ldgoi), engine_,
                          w_layer.data());
  const memory user_iter(memory::desc({s.layers, D, H, G, H}, dt::f32, tag::ldgoi), engine_,
                         w_iter.data());
  dnnl::stream stream(engine_);
  const memory& diff_layer = s.bwd_args.at(DNNL_ARG_DIFF_WEIGHTS_LAYER);
  const memory& diff_iter = s.bwd_args.at(DNNL_ARG_DIFF_WEIGHTS_ITER);
  dnnl::reorder(diff_layer, user_layer)
      .execute(stream, const_cast<memory&>(diff_layer), const_cast<memory&>(user_layer));
  dnnl::reorder(diff_iter, user_iter)
      .execute(stream, const_cast<memory&>(diff_iter), const_cast<memory&>(user_iter));
  stream.wait();
  const auto* diff_bias =
      static_cast<const float*>(s.bwd_args.at(DNNL_ARG_DIFF_BIAS).get_data_handle());

  std::vector<TorchCellWeights> grads;
  for (int64_t l = 0; l < s.layers; ++l) {
    for (int64_t d = 0; d < D; ++d) {
      const int64_t ld = l * D + d;
      TorchCellWeights g;
      g.weight_ih.resize(size_t(G * H * C));
      g.weight_hh.resize(size_t(G * H * H));
      g.bias_ih.resize(size_t(G * H));
      g.bias_hh.resize(size_t(G * H));
      for (int64_t gate = 0; gate < G; ++gate) {
        const int64_t tg = torch_gate(p.cell, gate);
        std::copy_n(w_layer.begin() + (ld * G + gate) * H * C, H * C,
                    g.weight_ih.begin() + tg * H * C);
        std::copy_n(w_iter.begin() + (ld * G + gate) * H * H, H * H,
                    g.weight_hh.begin() + tg * H * H);
        // A summed bias has the same gradient in both PyTorch biases; GRU's n gate has two.
        const bool gru_n = p.cell == PeerCell::gru && gate == 2;
        std::copy_n(diff_bias + (ld * Gb + gate) * H, H, g.bias_ih.begin() + tg * H);
        std::copy_n(diff_bias + (ld * Gb + (gru_n ? 3 : gate)) * H, H, g.bias_hh.begin() + tg * H);
      }
      grads.push_back(std::move(g));
    }
  }
  return grads;
}

void OnednnStack::dump(const std::string& dir) const {
  if (bf16_) throw std::invalid_argument("--dump is for fp32: the bf16 outputs stay in bf16");
  const PeerProblem& p = problem_;
  const int64_t L = p.layers, D = p.directions(), T = p.steps, N = p.batch, H = p.hidden_size;
  const int64_t G = p.gates();
  const std::vector<int64_t> states{L * D, N, H};
  const auto path = [&](const std::string& name) { return dir + "/" + name + ".npy"; };
  write_npy(path("input"), {T, N, p.input_size}, data_.input);
  write_npy(path("h0"), states, data_.h0);
  write_npy(path("output"), {T, N, D * H}, output_);
  write_npy(path("h_n"), states, h_n_);
  if (p.cell == PeerCell::lstm) {
    write_npy(path("c0"), states, data_.c0);
    write_npy(path("c_n"), states, c_n_);
  }
  const auto write_cell = [&](const std::string& prefix, const TorchCellWeights& w, int64_t l,
                              int64_t d) {
    const std::string suffix = torch_suffix(l, d);
    write_npy(path(prefix + "weight_ih" + suffix), {G * H, p.layer_input_size(l)}, w.weight_ih);
    write_npy(path(prefix + "weight_hh" + suffix), {G * H, H}, w.weight_hh);
    write_npy(path(prefix + "bias_ih" + suffix), {G * H}, w.bias_ih);
    write_npy(path(prefix + "bias_hh" + suffix), {G * H}, w.bias_hh);
  };
  for (int64_t l = 0; l < L; ++l) {
    for (int64_t d = 0; d < D; ++d) write_cell("", data_.weights[size_t(l * D + d)], l, d);
  }
  if (!training_) return;
  write_npy(path("grad_output"), {T, N, D * H}, data_.grad_output);
  write_npy(path("grad_input"), {T, N, p.input_size}, grad_input_);
  write_npy(path("grad_h0"), states, grad_h0_);
  if (p.cell == PeerCell::lstm) write_npy(path("grad_c0"), states, grad_c0_);
  for (const Segment& s : segments_) {
    const std::vector<TorchCellWeights> grads = torch_grads(s);
    for (int64_t l = 0; l < s.layers; ++l) {
      for (int64_t d = 0; d < D; ++d) {
        write_cell("grad_", grads[size_t(l * D + d)], s.first_layer + l, d);
      }
    }
  }
}

}  // namespace rnnwave::bench
