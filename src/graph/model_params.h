// The engine's copy of the parameters, in the form the cell operations read.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "cells/cell_def.h"
#include "common/aligned_buffer.h"
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

/// Which packing of the weights a pass reads: the forward products', or the backward
/// ones (the gradients into each product's input).
enum class WeightForm { forward, backward };

template <class T>
class ModelParams;

/// A pass's claim on the packed weights in the form it reads, from ModelParams::hold_*
/// until it is destroyed: while it lives, no pass flips the weights to the other form.
template <class T>
class WeightsHeld {
 public:
  WeightsHeld(WeightsHeld&& other) noexcept
      : params_(std::exchange(other.params_, nullptr)), form_(other.form_) {}
  WeightsHeld& operator=(WeightsHeld&&) = delete;
  ~WeightsHeld();

 private:
  friend class ModelParams<T>;
  WeightsHeld(const ModelParams<T>* params, WeightForm form) : params_(params), form_(form) {}
  const ModelParams<T>* params_;
  WeightForm form_;
};

/// Weights packed for the kernels, and the vectors the cell's pointwise math reads (its
/// biases, folded as the definition says, b_ih + b_hh added once here).
///
/// Each weight has a forward packing, made from the caller's weights (which are not kept),
/// and a backward one, made from the forward one by the first backward pass after each
/// assignment. Two copies are kept by default; layer 0's input weights get backward
/// panels only for a pass that wants its input's gradient, which training on data
/// (features, pixels, frozen embeddings) does not. With a single copy (ExecOptions::
/// single_weight_copy) a backward pass flips every weight: it makes its backward packing
/// and releases the forward one, and the next forward pass flips them back. The forms of
/// a weight take turns in one buffer, and a spare buffer moves from weight to weight
/// (flips from the largest weight down, flips back from the smallest up), so that after
/// the first flips none allocates. A training step whose weights change anyway pays
/// nothing for it: the flip is the packing its backward pass needed. Passes of the same
/// form run together; a pass that needs the other form waits until none of those is in
/// flight (so a pass must not wait for another pass of the same model, and a steady
/// stream of one kind can hold the other back). New values of the same spec are packed
/// into the same memory (assign), so a training step allocates nothing and never holds
/// two models' packings at once. If an assignment fails (out of memory), passes refuse
/// to run until one succeeds.
template <class T>
class ModelParams {
 public:
  explicit ModelParams(const BasicWeights<T>& weights);

  /// Repacks from `weights` (the spec of this model's; the caller checks) in place, in
  /// the forward form. Not while a pass runs. The backward and bf16 forms are remade on
  /// their next use.
  void assign(const BasicWeights<T>& weights);

  const ModelSpec& spec() const { return spec_; }
  const cells::CellDef& cell() const { return *cell_; }
  /// The packings of (l, d); only the form a pass holds is current.
  const PackedWeights<T>& packed(int64_t l, int64_t d) const { return packed_[l * D_ + d]; }
  /// Vector v of (l, d), as the definition declares it.
  const T* vector(int64_t v, int64_t l, int64_t d) const {
    return vectors_.data() + vector_offset_[(l * D_ + d) * vector_count_ + v];
  }

  /// The forward packing for one pass: flips the weights back first where a single-copy
  /// backward pass left them (waiting for backward passes in flight). Thread-safe.
  [[nodiscard]] WeightsHeld<T> hold_forward() const;
  /// The backward packing for one pass, made from the forward one where it is not
  /// current: with two copies, layer 0's input weights only if `input_grad` (the pass
  /// computes the gradient of its input), made while forward passes go on; with
  /// `single_copy`, every weight, its forward packing released (waiting for forward
  /// passes in flight). Thread-safe.
  [[nodiscard]] WeightsHeld<T> hold_backward(bool input_grad, bool single_copy) const;

  /// Rounds the forward weights to bf16, once per assignment (from their fp32 packing,
  /// which is kept: the precision is an option of each call); thread-safe, under a
  /// hold_forward. Float only: throws for double.
  void prepare_bf16() const;
  const PackedBf16Weights& packed_bf16(int64_t l, int64_t d) const { return bf16_[l * D_ + d]; }

 private:
  friend class WeightsHeld<T>;

  /// The two packings of one weight and which of them hold its current values.
  struct Forms {
    kernels::PackedMatrix<T>* forward;
    kernels::PackedMatrix<T>* backward;
    int64_t groups;    // the forward packing's (the backward one has none)
    int64_t elements;  // room for either packing: the forms take turns in one buffer
    bool layer0_input;
    bool forward_current = true, backward_current = false;
  };

  /// Turns one weight into the backward form (or back), moving the spare buffer along.
  void flip_to_backward(Forms& f) const;
  void flip_to_forward(Forms& f) const;
  /// Two copies: the backward packings a pass with `input_grad` reads that are not made
  /// yet, made outside `lock` (held on entry and on return) while forward passes run.
  void make_backward_copies(std::unique_lock<std::mutex>& lock, bool input_grad) const;
  void check_assigned() const;
  /// A pass of `form` is over (lock: mutex_, held).
  void unhold(WeightForm form, std::unique_lock<std::mutex>& lock) const;
  void unhold(WeightForm form) const;

  ModelSpec spec_;
  const cells::CellDef* cell_;
  int64_t D_ = 1;
  int64_t vector_count_ = 0;
  mutable std::vector<PackedWeights<T>> packed_;
  mutable std::vector<PackedBf16Weights> bf16_;
  // Every weight's forms, the largest first: flips run in this order and flips back in
  // the reverse one, so that the spare buffer always fits the next weight.
  mutable std::vector<Forms> forms_;
  // Guards everything below and the forms; changed_ wakes passes waiting for a form.
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  // Held by the thread that makes backward copies (two copies), outside mutex_.
  mutable std::mutex packing_;
  mutable bool assigned_ = false;  // every weight packed by the last assign
  mutable AlignedBuffer<T> spare_;
  mutable int64_t forward_holders_ = 0, backward_holders_ = 0;
  mutable int64_t released_ = 0;  // forms whose forward packing is released (single copy)
  mutable bool bf16_ready_ = false;
  std::vector<T> vectors_;
  std::vector<int64_t> vector_offset_;
};

template <class T>
WeightsHeld<T>::~WeightsHeld() {
  if (params_ != nullptr) params_->unhold(form_);
}

}  // namespace rnnwave
