#include "graph/model_params.h"

#include <algorithm>
#include <exception>
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
  if (forward_holders_ > 0 || backward_holders_ > 0) {
    fail("set_weights while a pass of the model runs (", forward_holders_, " forward, ",
         backward_holders_, " backward): wait for them to end");
  }
  assigned_ = false;  // until every value is packed: no pass reads a half-assigned model
  bf16_ready_ = false;
  // A forward packing that a flip released gets memory back in the order of a flip back,
  // with room for either form (the form before stays current if that throws).
  for (auto f = forms_.rbegin(); f != forms_.rend(); ++f) {
    if (!f->forward_current) {
      f->forward->adopt(std::move(spare_));
      f->forward->reserve(f->elements);
      spare_ = f->backward->release();
      f->forward_current = true;
      --released_;
    }
    f->backward_current = false;
  }
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
  assigned_ = true;
}

template <class T>
void ModelParams<T>::flip_to_backward(Forms& f) const {
  // A backward packing that is current already (made while two copies were kept) may be
  // in use: it stays, and the spare it would have taken is freed below.
  if (!f.backward_current) {
    f.backward->adopt(std::move(spare_));
    f.backward->reserve(f.elements);
    f.backward->pack_transpose_of(*f.forward);
    f.backward_current = true;
  }
  spare_ = f.forward->release();
  f.forward_current = false;
  ++released_;
}

template <class T>
void ModelParams<T>::flip_to_forward(Forms& f) const {
  f.forward->adopt(std::move(spare_));
  f.forward->reserve(f.elements);
  f.forward->pack_transpose_of(*f.backward, f.groups);
  f.forward_current = true;
  spare_ = f.backward->release();
  f.backward_current = false;
  --released_;
}

template <class T>
void ModelParams<T>::check_assigned() const {
  if (!assigned_) {
    fail("the model's weights are incomplete: the last set_weights failed (out of memory?); "
         "set them again before a pass");
  }
}

template <class T>
WeightsHeld<T> ModelParams<T>::hold_forward() const {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return released_ == 0 || backward_holders_ == 0; });
  check_assigned();
  for (auto f = forms_.rbegin(); released_ > 0 && f != forms_.rend(); ++f) {
    if (!f->forward_current) flip_to_forward(*f);
  }
  ++forward_holders_;
  return WeightsHeld<T>(this, WeightForm::forward);
}

template <class T>
WeightsHeld<T> ModelParams<T>::hold_backward(bool input_grad, bool single_copy) const {
  std::unique_lock lock(mutex_);
  check_assigned();
  if (!single_copy) {
    // Counted from here, so that no flip back (after a change of option) empties a
    // backward packing this pass reads while the missing copies are made.
    ++backward_holders_;
    try {
      make_backward_copies(lock, input_grad);
    } catch (...) {
      unhold(WeightForm::backward, lock);
      throw;
    }
    return WeightsHeld<T>(this, WeightForm::backward);
  }
  // Every weight, layer 0's input weights too even without an input gradient (their flip
  // costs no memory): flips of the same weights, largest first, are what keeps the spare
  // buffer fitting the next one. Forward passes read the packings a flip releases: it
  // waits for them (none run while any weight is flipped).
  changed_.wait(lock, [&] { return forward_holders_ == 0; });
  check_assigned();
  for (Forms& f : forms_) {
    if (f.forward_current) flip_to_backward(f);
  }
  ++backward_holders_;
  return WeightsHeld<T>(this, WeightForm::backward);
}

template <class T>
void ModelParams<T>::make_backward_copies(std::unique_lock<std::mutex>& lock,
                                          bool input_grad) const {
  const auto missing = [&](const Forms& f) {
    return !f.backward_current && (input_grad || !f.layer0_input);
  };
  if (std::none_of(forms_.begin(), forms_.end(), missing)) return;
  std::vector<Forms*> todo;
  todo.reserve(forms_.size());  // before the count below: nothing after it allocates but packing
  // Read from the forward packings as a forward pass does, outside the lock, so that
  // forward passes go on meanwhile; one thread packs at a time.
  ++forward_holders_;
  lock.unlock();
  std::unique_lock packing(packing_);
  lock.lock();
  for (Forms& f : forms_) {
    if (missing(f)) todo.push_back(&f);
  }
  lock.unlock();
  std::exception_ptr failed;
  size_t done = 0;
  try {
    for (; done < todo.size(); ++done) {
      todo[done]->backward->pack_transpose_of(*todo[done]->forward);
    }
  } catch (...) {
    failed = std::current_exception();
  }
  lock.lock();
  for (size_t i = 0; i < done; ++i) todo[i]->backward_current = true;
  unhold(WeightForm::forward, lock);
  if (failed) std::rethrow_exception(failed);
}

template <class T>
void ModelParams<T>::unhold(WeightForm form, std::unique_lock<std::mutex>&) const {
  int64_t& holders = form == WeightForm::forward ? forward_holders_ : backward_holders_;
  if (--holders == 0) changed_.notify_all();
}

template <class T>
void ModelParams<T>::unhold(WeightForm form) const {
  std::unique_lock lock(mutex_);
  unhold(form, lock);
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
