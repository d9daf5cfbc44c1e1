// rnnwave/train/linear.h — an affine map of rows, as torch.nn.Linear.
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

/// Y = X W^T + b, for rows of X: W [O, I], b [O], X [M, I], Y [M, O]. I input features,
/// O output features, M rows (e.g. T*N positions of a [T, N, D*H] recurrent output, or
/// N pooled sequences).
///
/// Also holds the gradient of another Linear (same I and O), as BasicWeights does.
///
/// Matrix products run on the OpenMP threads allowed to the caller, cut into tiles fixed
/// by the shapes alone, each computed on one thread: results are bit-identical for every
/// thread count. Every method validates its arguments first and throws Error naming the
/// offending values; nothing is written then.
template <class T>
class BasicLinear {
 public:
  /// All zeros. Throws Error unless I >= 1 and O >= 1.
  BasicLinear(int64_t in_features, int64_t out_features);

  /// PyTorch's initialisation: every element of W and b uniform in
  /// [-1/sqrt(I), 1/sqrt(I)), drawn with counter_uniform from (seed, stream 0, counter 0),
  /// W first (element i of W is draw i, element j of b is draw O*I + j).
  static BasicLinear uniform(int64_t in_features, int64_t out_features, uint64_t seed);

  /// From {"weight": [O, I], "bias": [O]} (a state_dict with any prefix removed); a
  /// missing, extra or mis-shaped entry, or a non-finite value, throws Error.
  static BasicLinear from_tensors(const std::map<std::string, BasicTensor<T>>& named);

  int64_t in_features() const { return in_; }    ///< I
  int64_t out_features() const { return out_; }  ///< O
  std::span<T> weight() { return weight_; }      ///< [O, I]
  std::span<const T> weight() const { return weight_; }
  std::span<T> bias() { return bias_; }          ///< [O]
  std::span<const T> bias() const { return bias_; }

  /// {"weight": [O, I], "bias": [O]}, PyTorch's state_dict names.
  std::map<std::string, BasicTensor<T>> to_tensors() const;

  /// y = x W^T + b.  x [M, I]; y [M, O], written; M >= 0.
  void forward(std::span<const T> x, int64_t rows, std::span<T> y) const;

  /// Given x [M, I] (the forward input) and grad_y [M, O]:
  ///   grad_x [M, I] = grad_y W          (written; empty = not computed)
  ///   grad->W [O, I] (+)= grad_y^T x    (if grad is not null; same I and O)
  ///   grad->b [O]    (+)= column sums of grad_y, summed over rows in increasing m
  void backward(std::span<const T> x, std::span<const T> grad_y, int64_t rows,
                std::span<T> grad_x, BasicLinear* grad, GradMode mode = GradMode::overwrite) const;

 private:
  int64_t in_ = 0;
  int64_t out_ = 0;
  LargeVector<T> weight_;
  LargeVector<T> bias_;
};

using Linear = BasicLinear<float>;

extern template class BasicLinear<float>;
extern template class BasicLinear<double>;

/// {prefix + "weight", prefix + "bias"}: the layer and its gradient (same shapes, else
/// Error).
template <class T>
std::vector<Parameter<T>> named_parameters(const std::string& prefix, BasicLinear<T>& values,
                                    BasicLinear<T>& grads);

}  // namespace rnnwave
