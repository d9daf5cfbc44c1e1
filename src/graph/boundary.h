// Moving data between the caller's buffers (caller's row order, PyTorch layouts) and the
// workspace (sorted rows, halo slots): everything at the boundary of a pass.
#pragma once

#include <span>

#include "graph/workspace.h"

namespace rnnwave {

/// Points the workspace at the input [T, N, I]: the caller's buffer when it can be used
/// as is, else a gathered copy. `keep` forces a copy (a training forward must keep its
/// input for the backward pass).
template <class T>
void load_input(typename BasicWorkspace<T>::Impl& ws, std::span<const T> input, bool keep);

/// Places h0 / c0 ([L*D, N, H], empty = zeros) in the slots each direction starts from,
/// and zeroes the state rows that no step will write.
template <class T>
void load_initial_states(typename BasicWorkspace<T>::Impl& ws, std::span<const T> h0,
                         std::span<const T> c0);

/// Writes steps [t0, t1) of the output [T, N, D*H] (zero past each sequence's end).
template <class T>
void store_output_steps(typename BasicWorkspace<T>::Impl& ws, std::span<T> output, int64_t t0,
                        int64_t t1);

/// Writes hn / cn [L*D, N, H], each if given.
template <class T>
void store_final_states(typename BasicWorkspace<T>::Impl& ws, std::span<T> hn, std::span<T> cn);

/// Points the workspace at grad_output and places grad_hn / grad_cn (empty = zeros) where
/// each direction's backward pass starts; points the input gradient at `grad_input`
/// (or a scratch buffer to be scattered into it).
template <class T>
void load_output_grads(typename BasicWorkspace<T>::Impl& ws, std::span<const T> grad_output,
                       std::span<const T> grad_hn, std::span<const T> grad_cn,
                       std::span<T> grad_input);

/// Writes grad_input (if the workspace used a scratch buffer) and grad_h0 / grad_c0.
template <class T>
void store_input_grads(typename BasicWorkspace<T>::Impl& ws, std::span<T> grad_input,
                       std::span<T> grad_h0, std::span<T> grad_c0);

}  // namespace rnnwave
