// The engine's copy of the parameters, in the form the cell operations read.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "cells/cell_def.h"
#include "kernels/packed_bf16.h"
#include "kernels/packed_gemm.h"
#include "rnnwave/weights.h"

namespace rnnwave {

/// One product's weight W (rows of a parameter), packed for each product that uses it.
template <class T>
struct PackedProduct {
  kernels::PackedMatrix<T> forward;   // W^T [k, rows], grouped as the product's outputs
  kernels::PackedMatrix<T> backward;  // W [rows, k]: the gradient into the product's input
};

/// The weights of one (layer, direction) packed for the kernels.
template <class T>
struct PackedWeights {
  kernels::PackedMatrix<T> ih_t;  // W_ih^T [I_l, G*H]: the input projection
  kernels::PackedMatrix<T> ih;    // W_ih [G*H, I_l]: the input gradient (backward)
  std::vector<PackedProduct<T>> products;  // the cell's step products, in declared order
};

/// The forward weights of one (layer, direction) in bf16, for bf16 inference.
struct PackedBf16Weights {
  kernels::PackedBf16 ih_t;                     // W_ih^T [I_l, G*H]
  std::vector<kernels::PackedBf16> products;    // each product's W^T, in declared order
};

/// Weights packed for the kernels, and the vectors the cell's pointwise math reads (its
/// biases, folded as the definition says, b_ih + b_hh added once here).
///
/// One copy of each weight until a backward pass needs a second: the forward panels are
/// packed from the caller's weights, which are not kept; the backward panels are made
/// from the forward ones, and the bf16 ones too. Layer 0's input weights get backward
/// panels only for a pass that wants its input's gradient, which training on data
/// (features, pixels, frozen embeddings) does not; once made, they stay, repacked in
/// place like the rest. New values of the same spec are packed into the same memory
/// (assign), so a training step allocates nothing and never holds two models' packings
/// at once.
template <class T>
class ModelParams {
 public:
  explicit ModelParams(const BasicWeights<T>& weights);

  /// Repacks from `weights` (the spec of this model's; the caller checks) in place. Not
  /// while a pass runs. The backward and bf16 forms are remade on their next use.
  void assign(const BasicWeights<T>& weights);

  const ModelSpec& spec() const { return spec_; }
  const cells::CellDef& cell() const { return *cell_; }
  const PackedWeights<T>& packed(int64_t l, int64_t d) const { return packed_[l * D_ + d]; }
  /// Vector v of (l, d), as the definition declares it.
  const T* vector(int64_t v, int64_t l, int64_t d) const {
    return vectors_.data() + vector_offset_[(l * D_ + d) * vector_count_ + v];
  }

  /// Packs the weights the backward pass multiplies by (from the forward packing), once
  /// per assignment; layer 0's input weights only if `input_grad` (the pass computes the
  /// gradient of its input). Thread-safe.
  void prepare_backward(bool input_grad) const;

  /// Rounds the forward weights to bf16, once per assignment (from their fp32 packing,
  /// which is kept: the precision is an option of each call); thread-safe. Float only:
  /// throws for double.
  void prepare_bf16() const;
  const PackedBf16Weights& packed_bf16(int64_t l, int64_t d) const { return bf16_[l * D_ + d]; }

 private:
  ModelSpec spec_;
  const cells::CellDef* cell_;
  int64_t D_ = 1;
  int64_t vector_count_ = 0;
  mutable std::vector<PackedWeights<T>> packed_;
  mutable std::vector<PackedBf16Weights> bf16_;
  // Whether the backward forms (but layer 0's input weights: input_backward_ready_) and
  // the bf16 ones match the forward packing; guarded by prepare_.
  mutable std::mutex prepare_;
  mutable bool backward_ready_ = false, input_backward_ready_ = false, bf16_ready_ = false;
  std::vector<T> vectors_;
  std::vector<int64_t> vector_offset_;
};

}  // namespace rnnwave
