// Moving data between the caller's buffers (caller's row order, PyTorch layouts) and the
// workspace (sorted rows, halo slots): everything at the boundary of a pass. The cell's
// states are h (state 0: h0, h_n) and, if it has one, c (state 1: c0, c_n).
#pragma once

#include <array>
#include <initializer_list>
#include <span>

#include "cells/cell_def.h"
#include "graph/workspace.h"

namespace rnnwave {

/// One tensor [L*D, N, w] per state of the cell (h, c); an empty span means "not given".
template <class T>
using StateSpans = std::array<std::span<T>, cells::kMaxStates>;

/// Points the workspace at the input [T, N, I]: the caller's buffer when it can be used
/// as is, else a gathered copy (always for a training forward, which keeps its input for
/// the backward pass).
template <class T>
void load_input(WorkspaceImpl<T>& ws, std::span<const T> input, bool streamed = false);

/// For an input that arrives block by block (load_input with `streamed`): makes steps
/// [t0, t1) of `input` available to the pass (gathers them if the workspace copies).
/// For a grad_output that arrives block by block (load_output_grads with `streamed`):
/// makes steps [t0, t1) available to the pass (gathers them if the rows are reordered).
template <class T>
void load_output_grad_steps(WorkspaceImpl<T>& ws, std::span<const T> grad_output, int64_t t0, int64_t t1);
/// Writes steps [t0, t1) of grad_input if the workspace used a scratch buffer (for a
/// caller that takes them block by block; store_input_grads is then told `streamed`).
template <class T>
void store_input_grad_steps(WorkspaceImpl<T>& ws, std::span<T> grad_input, int64_t t0, int64_t t1);

template <class T>
void load_input_steps(WorkspaceImpl<T>& ws, std::span<const T> input, int64_t t0, int64_t t1);

/// Lets the top layer's steps write their h straight into the caller's `output` [T, N,
/// D*Hs] (ws.direct_output) instead of the workspace, from which the output would be
/// copied: in inference, with rows in the caller's order and every sequence T steps long
/// (so that no reverse direction's initial state, nor a zeroed row, lies in slots 1..T),
/// and only for an output that overlaps none of `others` (the caller's other buffers);
/// an empty `output`: never.
/// Call after ws.prepare, before load_initial_states.
template <class T>
void place_output(WorkspaceImpl<T>& ws, std::span<T> output,
                  std::initializer_list<std::span<const T>> others);

/// Places the initial states (empty = zeros) in the slots each direction starts from,
/// and zeroes the state rows that no step will write.
template <class T>
void load_initial_states(WorkspaceImpl<T>& ws, const StateSpans<const T>& initial);

/// Writes steps [t0, t1) of the output [T, N, D*Hs] (zero past each sequence's end);
/// nothing if the steps wrote them there (place_output).
template <class T>
void store_output_steps(WorkspaceImpl<T>& ws, std::span<T> output, int64_t t0, int64_t t1);

/// Writes the final states, each if given.
template <class T>
void store_final_states(WorkspaceImpl<T>& ws, const StateSpans<T>& final_states);

/// Points the workspace at grad_output and places the gradients of the final states
/// (empty = zeros) where each direction's backward pass starts; points the input gradient
/// at `grad_input` (or a scratch buffer to be scattered into it).
template <class T>
void load_output_grads(WorkspaceImpl<T>& ws, std::span<const T> grad_output,
                       const StateSpans<const T>& grad_final, std::span<T> grad_input,
                       bool streamed = false);

/// Writes grad_input (if the workspace used a scratch buffer) and the gradients of the
/// initial states, each if given.
template <class T>
void store_input_grads(WorkspaceImpl<T>& ws, std::span<T> grad_input,
                       const StateSpans<T>& grad_initial, bool streamed = false);

}  // namespace rnnwave
