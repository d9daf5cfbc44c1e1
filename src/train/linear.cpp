#include "rnnwave/train/linear.h"

#include <algorithm>
#include <cmath>

#include "common/finite.h"
#include "common/strings.h"
#include "rnnwave/random.h"
#include "train/check.h"
#include "train/parallel.h"
#include "train/tiled_gemm.h"

namespace rnnwave {

using kernels::Trans;

template <class T>
BasicLinear<T>::BasicLinear(int64_t in_features, int64_t out_features)
    : in_(in_features), out_(out_features) {
  train::expect_at_least("linear input features I", in_features, 1);
  train::expect_at_least("linear output features O", out_features, 1);
  weight_.assign(static_cast<size_t>(shape_elements({out_features, in_features})), T(0));
  bias_.assign(static_cast<size_t>(out_features), T(0));
}

template <class T>
BasicLinear<T> BasicLinear<T>::uniform(int64_t in_features, int64_t out_features, uint64_t seed) {
  BasicLinear layer(in_features, out_features);
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  const uint64_t key = counter_key(seed, 0, 0);
  const auto draw = [&](uint64_t index) {
    return static_cast<T>(-bound + 2.0 * bound * counter_uniform(key, index));
  };
  std::span<T> w = layer.weight_;
  train::parallel_blocks(static_cast<int64_t>(w.size()), train::kElementBlock,
                         [&](int64_t begin, int64_t end) {
                           for (int64_t i = begin; i < end; ++i) w[i] = draw(i);
                         });
  for (int64_t j = 0; j < out_features; ++j) layer.bias_[j] = draw(w.size() + j);
  return layer;
}

template <class T>
BasicLinear<T> BasicLinear<T>::from_tensors(const std::map<std::string, BasicTensor<T>>& named) {
  for (const auto& [name, tensor] : named) {
    if (name != "weight" && name != "bias") {
      fail("linear: unexpected tensor '", name, "' of shape ", shape_to_string(tensor.shape()),
           " (expected 'weight' [O, I] and 'bias' [O])");
    }
  }
  const auto weight = named.find("weight");
  const auto bias = named.find("bias");
  if (weight == named.end()) fail("linear: missing tensor 'weight' [O, I]");
  if (bias == named.end()) fail("linear: missing tensor 'bias' [O]");
  const std::vector<int64_t>& w_shape = weight->second.shape();
  if (w_shape.size() != 2 || w_shape[0] < 1 || w_shape[1] < 1) {
    fail("linear: 'weight' must have shape [O, I] with O, I >= 1, got ", shape_to_string(w_shape));
  }
  if (bias->second.shape() != std::vector<int64_t>{w_shape[0]}) {
    fail("linear: 'bias': expected shape [", w_shape[0], "] (O of 'weight' ",
         shape_to_string(w_shape), "), got ", shape_to_string(bias->second.shape()));
  }
  check_finite<T>(weight->second.span(), w_shape, "linear weight");
  check_finite<T>(bias->second.span(), bias->second.shape(), "linear bias");
  BasicLinear layer(w_shape[1], w_shape[0]);
  std::copy(weight->second.vector().begin(), weight->second.vector().end(), layer.weight_.begin());
  std::copy(bias->second.vector().begin(), bias->second.vector().end(), layer.bias_.begin());
  return layer;
}

template <class T>
std::map<std::string, BasicTensor<T>> BasicLinear<T>::to_tensors() const {
  std::map<std::string, BasicTensor<T>> named;
  named.emplace("weight", BasicTensor<T>({out_, in_}, {weight_.begin(), weight_.end()}));
  named.emplace("bias", BasicTensor<T>({out_}, {bias_.begin(), bias_.end()}));
  return named;
}

template <class T>
void BasicLinear<T>::forward(std::span<const T> x, int64_t rows, std::span<T> y) const {
  train::expect_at_least("linear forward: rows M", rows, 0);
  train::expect_size("linear forward: x [M, I]", x.size(), {rows, in_});
  train::expect_size("linear forward: y [M, O]", y.size(), {rows, out_});
  const int64_t block = std::max<int64_t>(1, train::kElementBlock / out_);
  train::parallel_blocks(rows, block, [&](int64_t begin, int64_t end) {
    for (int64_t m = begin; m < end; ++m) std::copy(bias_.begin(), bias_.end(), y.data() + m * out_);
  });
  train::tiled_gemm<T>(Trans::no, Trans::yes, rows, out_, in_, T(1), x.data(), in_,
                       weight_.data(), in_, T(1), y.data(), out_);
}

template <class T>
void BasicLinear<T>::backward(std::span<const T> x, std::span<const T> grad_y, int64_t rows,
                              std::span<T> grad_x, BasicLinear* grad, GradMode mode) const {
  train::expect_at_least("linear backward: rows M", rows, 0);
  train::expect_size("linear backward: x [M, I]", x.size(), {rows, in_});
  train::expect_size("linear backward: grad_y [M, O]", grad_y.size(), {rows, out_});
  if (!grad_x.empty()) train::expect_size("linear backward: grad_x [M, I]", grad_x.size(), {rows, in_});
  if (grad != nullptr && (grad->in_ != in_ || grad->out_ != out_)) {
    fail("linear backward: gradient layer has I = ", grad->in_, ", O = ", grad->out_,
         ", expected I = ", in_, ", O = ", out_);
  }
  if (!grad_x.empty()) {
    train::tiled_gemm<T>(Trans::no, Trans::no, rows, in_, out_, T(1), grad_y.data(), out_,
                         weight_.data(), in_, T(0), grad_x.data(), in_);
  }
  if (grad == nullptr) return;
  const T beta = mode == GradMode::accumulate ? T(1) : T(0);
  train::tiled_gemm<T>(Trans::yes, Trans::no, out_, in_, rows, T(1), grad_y.data(), out_,
                       x.data(), in_, beta, grad->weight_.data(), in_);
  // Column sums, each over rows in increasing m; blocks of columns in parallel.
  T* db = grad->bias_.data();
  train::parallel_blocks(out_, train::kTileCols, [&](int64_t begin, int64_t end) {
    if (mode == GradMode::overwrite) std::fill(db + begin, db + end, T(0));
    for (int64_t m = 0; m < rows; ++m) {
      const T* row = grad_y.data() + m * out_;
      for (int64_t o = begin; o < end; ++o) db[o] += row[o];
    }
  });
}

template <class T>
std::vector<Parameter<T>> named_parameters(const std::string& prefix, BasicLinear<T>& values,
                                    BasicLinear<T>& grads) {
  if (values.in_features() != grads.in_features() ||
      values.out_features() != grads.out_features()) {
    fail(prefix, "weight: gradient layer has I = ", grads.in_features(), ", O = ",
         grads.out_features(), ", expected I = ", values.in_features(), ", O = ",
         values.out_features());
  }
  const int64_t in = values.in_features(), out = values.out_features();
  return {Parameter<T>{prefix + "weight", {out, in}, values.weight(), grads.weight()},
          Parameter<T>{prefix + "bias", {out}, values.bias(), grads.bias()}};
}

template class BasicLinear<float>;
template class BasicLinear<double>;
template std::vector<Parameter<float>> named_parameters(const std::string&, BasicLinear<float>&,
                                                 BasicLinear<float>&);
template std::vector<Parameter<double>> named_parameters(const std::string&, BasicLinear<double>&,
                                                  BasicLinear<double>&);

}  // namespace rnnwave
