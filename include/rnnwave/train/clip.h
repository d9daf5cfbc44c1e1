// rnnwave/train/clip.h — global gradient-norm clipping.
#pragma once

#include <span>

#include "rnnwave/train/params.h"

namespace rnnwave {

/// The L2 norm of all gradients together, sqrt(sum over params, sum over elements of g^2),
/// accumulated in double in a fixed order (parameter order; within a parameter, blocks of
/// fixed size summed in order), so it is bit-identical for every thread count. Throws Error
/// if two params have different value and grad sizes.
template <class T>
double grad_norm(std::span<const Parameter<T>> params);

/// torch.nn.utils.clip_grad_norm_(parameters, max_norm): computes total = grad_norm(params)
/// and, if max_norm / (total + 1e-6) < 1, multiplies every gradient in place by that
/// factor. Returns total (before clipping). max_norm must be finite and > 0. A non-finite
/// total throws Error naming the first non-finite gradient element, before anything is
/// scaled (PyTorch's error_if_nonfinite=True): a NaN would otherwise reach every weight.
template <class T>
double clip_grad_norm(std::span<const Parameter<T>> params, double max_norm);

}  // namespace rnnwave
