#include "rnnwave/train/embedding.h"

#include <omp.h>

#include <algorithm>

#include "common/finite.h"
#include "common/strings.h"
#include "rnnwave/random.h"
#include "train/check.h"
#include "train/parallel.h"

namespace rnnwave {

template <class T>
BasicEmbedding<T>::BasicEmbedding(int64_t vocab_size, int64_t embedding_size)
    : vocab_(vocab_size), size_(embedding_size) {
  train::expect_at_least("embedding vocabulary size V", vocab_size, 1);
  train::expect_at_least("embedding size E", embedding_size, 1);
  weight_.assign(static_cast<size_t>(shape_elements({vocab_size, embedding_size})), T(0));
}

template <class T>
BasicEmbedding<T> BasicEmbedding<T>::normal(int64_t vocab_size, int64_t embedding_size,
                                            uint64_t seed) {
  BasicEmbedding table(vocab_size, embedding_size);
  const uint64_t key = counter_key(seed, 0, 0);
  std::span<T> w = table.weight_;
  train::parallel_blocks(static_cast<int64_t>(w.size()), train::kElementBlock,
                         [&](int64_t begin, int64_t end) {
                           for (int64_t i = begin; i < end; ++i) {
                             w[i] = static_cast<T>(counter_normal(key, static_cast<uint64_t>(i)));
                           }
                         });
  return table;
}

template <class T>
BasicEmbedding<T> BasicEmbedding<T>::from_tensors(
    const std::map<std::string, BasicTensor<T>>& named) {
  for (const auto& [name, tensor] : named) {
    if (name != "weight") {
      fail("embedding: unexpected tensor '", name, "' of shape ", shape_to_string(tensor.shape()),
           " (expected only 'weight' [V, E])");
    }
  }
  const auto found = named.find("weight");
  if (found == named.end()) fail("embedding: missing tensor 'weight' [V, E]");
  const BasicTensor<T>& weight = found->second;
  if (weight.rank() != 2 || weight.dim(0) < 1 || weight.dim(1) < 1) {
    fail("embedding: 'weight' must have shape [V, E] with V, E >= 1, got ",
         shape_to_string(weight.shape()));
  }
  check_finite<T>(weight.span(), weight.shape(), "embedding weight");
  BasicEmbedding table(weight.dim(0), weight.dim(1));
  std::copy(weight.vector().begin(), weight.vector().end(), table.weight_.begin());
  return table;
}

template <class T>
std::map<std::string, BasicTensor<T>> BasicEmbedding<T>::to_tensors() const {
  std::map<std::string, BasicTensor<T>> named;
  named.emplace("weight", BasicTensor<T>({vocab_, size_}, {weight_.begin(), weight_.end()}));
  return named;
}

template <class T>
void BasicEmbedding<T>::forward(std::span<const int64_t> ids, std::span<T> out) const {
  const auto rows = static_cast<int64_t>(ids.size());
  train::expect_size("embedding forward: out [M, E]", out.size(), {rows, size_});
  train::expect_ids_below("embedding forward: ids", ids, vocab_);
  const int64_t block = std::max<int64_t>(1, train::kElementBlock / size_);
  train::parallel_blocks(rows, block, [&](int64_t begin, int64_t end) {
    for (int64_t m = begin; m < end; ++m) {
      const T* row = weight_.data() + ids[m] * size_;
      std::copy(row, row + size_, out.data() + m * size_);
    }
  });
}

template <class T>
void BasicEmbedding<T>::backward(std::span<const int64_t> ids, std::span<const T> grad_out,
                                 BasicEmbedding* grad, GradMode mode) const {
  const auto rows = static_cast<int64_t>(ids.size());
  if (grad == nullptr) fail("embedding backward: no gradient table given");
  if (grad->vocab_ != vocab_ || grad->size_ != size_) {
    fail("embedding backward: gradient table is [", grad->vocab_, ", ", grad->size_,
         "], expected [", vocab_, ", ", size_, "]");
  }
  train::expect_size("embedding backward: grad_out [M, E]", grad_out.size(), {rows, size_});
  train::expect_ids_below("embedding backward: ids", ids, vocab_);
  // Each thread owns a range of rows of the table and scans every id in increasing m:
  // each row's sum has the order of m whatever the ranges are.
  const int threads = omp_get_max_threads();
  const int64_t block = std::max<int64_t>(1, (vocab_ + threads - 1) / threads);
  T* dw = grad->weight_.data();
  train::parallel_blocks(vocab_, block, [&](int64_t begin, int64_t end) {
    if (mode == GradMode::overwrite) std::fill(dw + begin * size_, dw + end * size_, T(0));
    for (int64_t m = 0; m < rows; ++m) {
      const int64_t v = ids[m];
      if (v < begin || v >= end) continue;
      const T* g = grad_out.data() + m * size_;
      T* row = dw + v * size_;
      for (int64_t e = 0; e < size_; ++e) row[e] += g[e];
    }
  });
}

template <class T>
std::vector<Parameter<T>> named_parameters(const std::string& prefix, BasicEmbedding<T>& values,
                                    BasicEmbedding<T>& grads) {
  if (values.vocab_size() != grads.vocab_size() ||
      values.embedding_size() != grads.embedding_size()) {
    fail(prefix, "weight: gradient table is [", grads.vocab_size(), ", ", grads.embedding_size(),
         "], expected [", values.vocab_size(), ", ", values.embedding_size(), "]");
  }
  return {Parameter<T>{prefix + "weight", {values.vocab_size(), values.embedding_size()}, values.weight(),
                       grads.weight()}};
}

template class BasicEmbedding<float>;
template class BasicEmbedding<double>;
template std::vector<Parameter<float>> named_parameters(const std::string&, BasicEmbedding<float>&,
                                                 BasicEmbedding<float>&);
template std::vector<Parameter<double>> named_parameters(const std::string&, BasicEmbedding<double>&,
                                                  BasicEmbedding<double>&);

}  // namespace rnnwave
