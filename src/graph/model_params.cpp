#include "graph/model_params.h"

#include <type_traits>

#include "cells/cell_table.h"
#include "common/strings.h"

namespace rnnwave {
namespace {

/// Parameter `param` of (l, d) of `weights`, and its number of columns (1 for a vector).
template <class T>
struct Param {
  const T* values;
  int64_t cols;
};

template <class T>
Param<T> param_of(const BasicWeights<T>& weights, const cells::CellDef& cell, int64_t l, int64_t d,
                  int param) {
  const ModelSpec& spec = weights.spec();
  const size_t index = static_cast<size_t>((l * spec.directions() + d) * cell.params.size() + param);
  const ParamInfo& info = weights.params()[index];
  return {weights.values(index).data(), info.shape.size() == 2 ? info.shape[1] : 1};
}

}  // namespace

template <class T>
ModelParams<T>::ModelParams(const BasicWeights<T>& weights)
    : spec_(weights.spec()), cell_(&cells::cell_definition(spec_)), D_(spec_.directions()),
      vector_count_(static_cast<int64_t>(cell_->vectors.size())),
      packed_(static_cast<size_t>(spec_.layers * D_)) {
  size_t products = 0;
  for (const cells::StageDecl& stage : cell_->stages) products += stage.products.size();
  for (PackedWeights<T>& p : packed_) p.products.resize(products);
  assign(weights);
}

template <class T>
void ModelParams<T>::assign(const BasicWeights<T>& weights) {
  const cells::CellDef& cell = *cell_;
  std::lock_guard lock(prepare_);
  backward_ready_ = input_backward_ready_ = bf16_ready_ = false;
  vectors_.clear();
  vector_offset_.clear();
  for (int64_t l = 0; l < spec_.layers; ++l) {
    const cells::Dims dims{spec_.hidden_size, spec_.output_size(), spec_.layer_input_size(l)};
    for (int64_t d = 0; d < D_; ++d) {
      for (const cells::VectorDecl& v : cell.vectors) {
        const Param<T> a = param_of(weights, cell, l, d, v.param);
        const int64_t size = cell.params[v.param].rows.of(dims) * a.cols;
        vector_offset_.push_back(static_cast<int64_t>(vectors_.size()));
        if (v.plus < 0) {
          vectors_.insert(vectors_.end(), a.values, a.values + size);
        } else {
          const Param<T> b = param_of(weights, cell, l, d, v.plus);
          for (int64_t j = 0; j < size; ++j) vectors_.push_back(a.values[j] + b.values[j]);
        }
      }
      PackedWeights<T>& p = packed_[static_cast<size_t>(l * D_ + d)];
      const Param<T> w_ih = param_of(weights, cell, l, d, cells::kWeightIh);
      p.ih_t.pack(w_ih.values, dims.input, cell.gates * dims.hidden, dims.input, true);
      size_t i = 0;
      for (const cells::StageDecl& stage : cell.stages) {
        for (const cells::ProductDecl& product : stage.products) {
          // Gate by gate, so that a block of hidden units is the same panels of every gate.
          const Param<T> w = param_of(weights, cell, l, d, product.param);
          p.products[i++].forward.pack(w.values + product.row0.of(dims) * w.cols, w.cols,
                                       product.rows.of(dims), w.cols, true, product.groups);
        }
      }
    }
  }
}

template <class T>
void ModelParams<T>::prepare_backward(bool input_grad) const {
  std::lock_guard lock(prepare_);
  if (backward_ready_ && (input_backward_ready_ || !input_grad)) return;
  for (size_t i = 0; i < packed_.size(); ++i) {
    PackedWeights<T>& p = packed_[i];
    const bool first_layer = static_cast<int64_t>(i) < D_;  // (l, d) is packed_[l * D + d]
    const bool wanted = !first_layer || input_grad;
    const bool current = first_layer ? input_backward_ready_ : backward_ready_;
    if (wanted && !current) p.ih.pack_transpose_of(p.ih_t);
    if (backward_ready_) continue;
    for (PackedProduct<T>& product : p.products) product.backward.pack_transpose_of(product.forward);
  }
  backward_ready_ = true;
  input_backward_ready_ = input_backward_ready_ || input_grad;
}

template <class T>
void ModelParams<T>::prepare_bf16() const {
  if constexpr (!std::is_same_v<T, float>) {
    fail("bf16 precision is for float models; this one computes in double");
  } else {
    std::lock_guard lock(prepare_);
    if (bf16_ready_) return;
    bf16_.clear();  // first, so that two bf16 packings are never held together
    for (const PackedWeights<T>& p : packed_) {
      PackedBf16Weights b;
      b.ih_t.pack(p.ih_t);
      for (const PackedProduct<T>& product : p.products) b.products.emplace_back(product.forward);
      bf16_.push_back(std::move(b));
    }
    bf16_ready_ = true;
  }
}

template class ModelParams<float>;
template class ModelParams<double>;

}  // namespace rnnwave
