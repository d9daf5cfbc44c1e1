#include "graph/model_params.h"

namespace rnnwave {

template <class T>
ModelParams<T>::ModelParams(const BasicWeights<T>& weights)
    : weights_(weights), D_(weights.spec().directions()),
      GH_(weights.spec().gates() * weights.spec().hidden_size) {
  const ModelSpec& s = weights.spec();
  const bool fold = s.cell != CellKind::gru;
  bias_.resize(static_cast<size_t>(s.layers * D_ * GH_));
  for (int64_t l = 0; l < s.layers; ++l) {
    for (int64_t d = 0; d < D_; ++d) {
      const auto b_ih = weights.get(ParamKind::bias_ih, l, d);
      const auto b_hh = weights.get(ParamKind::bias_hh, l, d);
      T* out = bias_.data() + (l * D_ + d) * GH_;
      for (int64_t j = 0; j < GH_; ++j) out[j] = fold ? b_ih[j] + b_hh[j] : b_ih[j];
    }
  }
}

template class ModelParams<float>;
template class ModelParams<double>;

}  // namespace rnnwave
