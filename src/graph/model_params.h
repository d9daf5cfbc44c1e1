// The engine's copy of the parameters, in the form the cell operations read.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "kernels/packed_gemm.h"
#include "rnnwave/weights.h"

namespace rnnwave {

/// The weights of one (layer, direction) packed for each product that uses them.
template <class T>
struct PackedWeights {
  kernels::PackedMatrix<T> ih_t;  // W_ih^T [I_l, G*H]: input projection
  kernels::PackedMatrix<T> hh_t;  // W_hh^T [H, G*H]: recurrent product, forward
  // Backward (packed on first use: inference never needs them).
  kernels::PackedMatrix<T> ih;    // W_ih [G*H, I_l]: input gradient
  kernels::PackedMatrix<T> hh;    // W_hh [G*H, H] (GRU: its r and z rows, [2H, H])
  kernels::PackedMatrix<T> hh_n;  // GRU: W_hn [H, H]
};

/// Weights packed for the kernels, plus the bias each step adds: b_ih + b_hh folded into
/// one vector for RNN and LSTM; b_ih and b_hh kept apart for GRU, whose n gate needs
/// b_hn inside the reset product.
template <class T>
class ModelParams {
 public:
  explicit ModelParams(const BasicWeights<T>& weights);

  const ModelSpec& spec() const { return spec_; }
  const PackedWeights<T>& packed(int64_t l, int64_t d) const { return packed_[l * D_ + d]; }
  /// [G*H]: b_ih + b_hh (RNN, LSTM) or b_ih (GRU).
  const T* step_bias(int64_t l, int64_t d) const { return bias_.data() + (l * D_ + d) * GH_; }
  /// [G*H]: b_hh (GRU).
  const T* b_hh(int64_t l, int64_t d) const { return bias_hh_.data() + (l * D_ + d) * GH_; }

  /// Packs the weights the backward pass multiplies by, once; thread-safe.
  void prepare_backward() const;

 private:
  ModelSpec spec_;
  int64_t D_ = 1, GH_ = 0;
  // Kept until the backward forms are packed, then released.
  mutable std::unique_ptr<BasicWeights<T>> pending_backward_;
  mutable std::vector<PackedWeights<T>> packed_;
  mutable std::once_flag backward_packed_;
  std::vector<T> bias_, bias_hh_;
};

}  // namespace rnnwave
