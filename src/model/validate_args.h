// Validation of forward/backward arguments, once, before any work ("validate once,
// execute blind").
#pragma once

#include "rnnwave/rnn.h"

namespace rnnwave {

/// Throws Error naming the argument and the values if a size is wrong, a length is
/// outside [1, T], an optional argument is given where the cell has no use for it, or an
/// input holds NaN or infinity.
template <class T>
void validate_forward(const ModelSpec& spec, const ForwardArgs<T>& args);

template <class T>
void validate_backward(const ModelSpec& spec, int64_t steps, int64_t batch,
                       const BackwardArgs<T>& args);

}  // namespace rnnwave
