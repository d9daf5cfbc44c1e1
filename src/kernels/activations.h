// Scalar activation functions shared by the cell kinds.
#pragma once

#include <cmath>

namespace rnnwave::kernels {

template <class T>
inline T sigmoid(T x) {
  // exp of a negative argument only: no overflow for large |x|.
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

template <class T>
inline T tanh(T x) {
  return std::tanh(x);
}

}  // namespace rnnwave::kernels
