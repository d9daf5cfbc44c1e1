// rnnwave/train/embedding.h — a lookup table of vectors, as torch.nn.Embedding.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "rnnwave/huge_pages.h"
#include "rnnwave/tensor.h"
#include "rnnwave/train/params.h"

namespace rnnwave {

/// Embedding table W [V, E]: row v is the vector of token v. V vocabulary size, E
/// embedding size, M looked-up tokens (e.g. T*N for a [T, N] batch of ids).
///
/// Also holds the gradient of another embedding (same V and E), as BasicWeights does.
/// Every method validates its arguments first and throws Error naming the offending
/// values; nothing is written then.
template <class T>
class BasicEmbedding {
 public:
  /// All zeros. Throws Error unless V >= 1 and E >= 1.
  BasicEmbedding(int64_t vocab_size, int64_t embedding_size);

  /// PyTorch's initialisation, every element N(0, 1), drawn with counter_normal from
  /// (seed, stream 0, counter 0): element i of W is counter_normal(key, i).
  static BasicEmbedding normal(int64_t vocab_size, int64_t embedding_size, uint64_t seed);

  /// From {"weight": [V, E]} (a state_dict with any prefix removed); a missing, extra
  /// or non-2-D entry, or a non-finite value, throws Error.
  static BasicEmbedding from_tensors(const std::map<std::string, BasicTensor<T>>& named);

  int64_t vocab_size() const { return vocab_; }       ///< V
  int64_t embedding_size() const { return size_; }    ///< E
  std::span<T> weight() { return weight_; }           ///< [V, E]
  std::span<const T> weight() const { return weight_; }

  /// {"weight": [V, E]}, PyTorch's state_dict name.
  std::map<std::string, BasicTensor<T>> to_tensors() const;

  /// out[m, :] = W[ids[m], :].  ids [M], each in [0, V) (else Error naming m and the
  /// value); out [M, E], written. M may be 0.
  void forward(std::span<const int64_t> ids, std::span<T> out) const;

  /// grad->W[v, :] (+)= sum over m with ids[m] = v of grad_out[m, :], summed in increasing
  /// m, so the result does not depend on threads. ids [M] as in forward; grad_out [M, E];
  /// grad has this table's V and E. GradMode::overwrite zeroes grad first (rows no id
  /// names are then zero).
  void backward(std::span<const int64_t> ids, std::span<const T> grad_out, BasicEmbedding* grad,
                GradMode mode = GradMode::overwrite) const;

 private:
  int64_t vocab_ = 0;
  int64_t size_ = 0;
  LargeVector<T> weight_;
};

using Embedding = BasicEmbedding<float>;

extern template class BasicEmbedding<float>;
extern template class BasicEmbedding<double>;

/// {prefix + "weight"}: the table and its gradient (same V and E, else Error).
template <class T>
std::vector<Parameter<T>> named_parameters(const std::string& prefix, BasicEmbedding<T>& values,
                                    BasicEmbedding<T>& grads);

}  // namespace rnnwave
