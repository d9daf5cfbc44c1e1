#include "graph/model_params.h"

namespace rnnwave {

template <class T>
ModelParams<T>::ModelParams(const BasicWeights<T>& weights)
    : spec_(weights.spec()), D_(spec_.directions()), GH_(spec_.gates() * spec_.hidden_size),
      pending_backward_(std::make_unique<BasicWeights<T>>(weights)) {
  const bool fold = spec_.cell != CellKind::gru;
  const int64_t H = spec_.hidden_size;
  bias_.resize(static_cast<size_t>(spec_.layers * D_ * GH_));
  bias_hh_.resize(bias_.size());
  for (int64_t l = 0; l < spec_.layers; ++l) {
    const int64_t in = spec_.layer_input_size(l);
    for (int64_t d = 0; d < D_; ++d) {
      const auto b_ih = weights.get(ParamKind::bias_ih, l, d);
      const auto b_hh = weights.get(ParamKind::bias_hh, l, d);
      T* out = bias_.data() + (l * D_ + d) * GH_;
      for (int64_t j = 0; j < GH_; ++j) out[j] = fold ? b_ih[j] + b_hh[j] : b_ih[j];
      std::copy(b_hh.begin(), b_hh.end(), bias_hh_.begin() + (l * D_ + d) * GH_);
      PackedWeights<T> p;
      p.ih_t = kernels::PackedMatrix<T>(weights.get(ParamKind::weight_ih, l, d).data(), in, GH_,
                                        in, true);
      // Gate by gate, so that a block of hidden units is the same panels of every gate.
      p.hh_t = kernels::PackedMatrix<T>(weights.get(ParamKind::weight_hh, l, d).data(), H, GH_, H,
                                        true, spec_.gates());
      packed_.push_back(std::move(p));
    }
  }
}

template <class T>
void ModelParams<T>::prepare_backward() const {
  std::call_once(backward_packed_, [this] {
    const BasicWeights<T>& w = *pending_backward_;
    const int64_t H = spec_.hidden_size;
    const bool gru = spec_.cell == CellKind::gru;
    for (int64_t l = 0; l < spec_.layers; ++l) {
      const int64_t in = spec_.layer_input_size(l);
      for (int64_t d = 0; d < D_; ++d) {
        PackedWeights<T>& p = packed_[l * D_ + d];
        const T* w_hh = w.get(ParamKind::weight_hh, l, d).data();
        p.ih = kernels::PackedMatrix<T>(w.get(ParamKind::weight_ih, l, d).data(), GH_, in, in, false);
        p.hh = kernels::PackedMatrix<T>(w_hh, gru ? 2 * H : GH_, H, H, false);
        if (gru) p.hh_n = kernels::PackedMatrix<T>(w_hh + 2 * H * H, H, H, H, false);
      }
    }
    pending_backward_.reset();
  });
}

template class ModelParams<float>;
template class ModelParams<double>;

}  // namespace rnnwave
