// The engine's copy of the parameters, in the form the cell operations read.
#pragma once

#include <cstdint>
#include <vector>

#include "rnnwave/weights.h"

namespace rnnwave {

/// Weights as loaded (PyTorch layouts, so W_ih is used transposed by the input projection
/// and as-is by the input gradient) plus the bias each step adds: b_ih + b_hh folded
/// into one vector for RNN and LSTM; b_ih and b_hh kept apart for GRU, whose n gate
/// needs b_hn inside the reset product.
template <class T>
class ModelParams {
 public:
  explicit ModelParams(const BasicWeights<T>& weights);

  const ModelSpec& spec() const { return weights_.spec(); }
  const T* w_ih(int64_t l, int64_t d) const { return weights_.get(ParamKind::weight_ih, l, d).data(); }
  const T* w_hh(int64_t l, int64_t d) const { return weights_.get(ParamKind::weight_hh, l, d).data(); }
  /// [G*H]: b_ih + b_hh (RNN, LSTM) or b_ih (GRU).
  const T* step_bias(int64_t l, int64_t d) const { return bias_.data() + (l * D_ + d) * GH_; }
  const T* b_hh(int64_t l, int64_t d) const { return weights_.get(ParamKind::bias_hh, l, d).data(); }

 private:
  BasicWeights<T> weights_;
  std::vector<T> bias_;
  int64_t D_ = 1, GH_ = 0;
};

}  // namespace rnnwave
