#include "graph/model_params.h"

#include <algorithm>
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
  using kernels::PackedMatrix;
  const cells::CellDef& cell = *cell_;
  size_t products = 0;
  for (const cells::StageDecl& stage : cell.stages) products += stage.products.size();
  for (int64_t l = 0; l < spec_.layers; ++l) {
    const cells::Dims dims{spec_.hidden_size, spec_.output_size(), spec_.layer_input_size(l)};
    for (int64_t d = 0; d < D_; ++d) {
      PackedWeights<T>& p = packed_[static_cast<size_t>(l * D_ + d)];
      p.products.resize(products);
      // W [rows, cols] packed as W^T [cols, rows] in `groups`, and as W [rows, cols].
      const auto add = [&](PackedMatrix<T>& forward, PackedMatrix<T>& backward, int64_t rows,
                           int64_t cols, int64_t groups) {
        const int64_t elements = std::max(PackedMatrix<T>::elements(cols, rows, groups),
                                          PackedMatrix<T>::elements(rows, cols));
        forms_.push_back({&forward, &backward, groups, elements, l == 0 && &forward == &p.ih_t});
      };
      add(p.ih_t, p.ih, cell.gates * dims.hidden, dims.input, 1);
      size_t i = 0;
      for (const cells::StageDecl& stage : cell.stages) {
        for (const cells::ProductDecl& product : stage.products) {
          const int64_t cols = cell.params[product.param].cols.of(dims);
          add(p.products[i].forward, p.products[i].backward, product.rows.of(dims), cols,
              product.groups);
          ++i;
        }
      }
    }
  }
  std::stable_sort(forms_.begin(), forms_.end(),
                   [](const Forms& a, const Forms& b) { return a.elements > b.elements; });
  assign(weights);
}

template <class T>
void ModelParams<T>::assign(const BasicWeights<T>& weights) {
  const cells::CellDef& cell = *cell_;
  std::lock_guard lock(mutex_);
  bf16_ready_ = false;
  // Every weight's forward packing gets memory back where a flip released it (the
  // reverse order, as a flip back), and room for either form.
  for (auto f = forms_.rbegin(); f != forms_.rend(); ++f) {
    if (!f->forward_current) {
      f->forward->adopt(std::move(spare_));
      spare_ = f->backward->release();
    }
    f->forward->reserve(f->elements);
    f->forward_current = true;
    f->backward_current = false;
  }
  released_ = 0;
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
void ModelParams<T>::make_backward(Forms& f, bool release_forward) const {
  if (!f.backward_current) {
    if (f.backward->capacity() == 0) f.backward->adopt(std::move(spare_));
    f.backward->reserve(f.elements);
    f.backward->pack_transpose_of(*f.forward);
    f.backward_current = true;
  }
  if (release_forward && f.forward_current) {
    spare_ = f.forward->release();
    f.forward_current = false;
    ++released_;
  }
}

template <class T>
void ModelParams<T>::make_forward(Forms& f) const {
  f.forward->adopt(std::move(spare_));
  f.forward->reserve(f.elements);
  f.forward->pack_transpose_of(*f.backward, f.groups);
  f.forward_current = true;
  --released_;
  spare_ = f.backward->release();
  f.backward_current = false;
}

template <class T>
WeightsHeld<T> ModelParams<T>::hold_forward() const {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return released_ == 0 || backward_holders_ == 0; });
  for (auto f = forms_.rbegin(); released_ > 0 && f != forms_.rend(); ++f) {
    if (!f->forward_current) make_forward(*f);
  }
  ++forward_holders_;
  return WeightsHeld<T>(this, WeightForm::forward);
}

template <class T>
WeightsHeld<T> ModelParams<T>::hold_backward(bool input_grad, bool single_copy) const {
  std::unique_lock lock(mutex_);
  const auto wanted = [&](const Forms& f) { return input_grad || !f.layer0_input; };
  // Forward passes hold their panels; a pass that would release them waits for them,
  // unless a flip before it has released them all.
  const auto flipped = [&] {
    return std::none_of(forms_.begin(), forms_.end(),
                        [&](const Forms& f) { return wanted(f) && f.forward_current; });
  };
  if (single_copy) changed_.wait(lock, [&] { return forward_holders_ == 0 || flipped(); });
  for (Forms& f : forms_) {
    if (wanted(f)) make_backward(f, single_copy);
  }
  ++backward_holders_;
  return WeightsHeld<T>(this, WeightForm::backward);
}

template <class T>
void ModelParams<T>::release(WeightForm form) const {
  std::lock_guard lock(mutex_);
  int64_t& holders = form == WeightForm::forward ? forward_holders_ : backward_holders_;
  if (--holders == 0) changed_.notify_all();
}

template <class T>
void ModelParams<T>::prepare_bf16() const {
  if constexpr (!std::is_same_v<T, float>) {
    fail("bf16 precision is for float models; this one computes in double");
  } else {
    std::lock_guard lock(mutex_);
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
