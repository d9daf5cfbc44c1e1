// What a cell definition declares: everything the engine knows about a cell kind.
//
// The engine (src/graph, src/model) never names a cell kind: it asks the definition.
// A definition declares, for one (layer, direction):
//   - its parameters, in PyTorch's state_dict order: key ("weight_hh") and shape. The
//     first is always the input weight W_ih [G*H, I_l]: the engine computes x W_ih^T for
//     blocks of steps ahead of the recurrence ("project", Marian's applyInput) and its
//     gradients after (input_grad, and the weight gradient gates^T x);
//   - its states, carried from step to step: h first (the layer's output, PyTorch's h_n),
//     then any other (the LSTM's c);
//   - the extra buffers a step needs: kept per step for the backward pass, or scratch
//     that lives within one step;
//   - the step itself (Marian's applyState, oneDNN's cell_execution), in stages: each
//     stage is some matrix products against the parameters, then the cell's pointwise
//     math. A product may read what the pointwise math of an earlier stage wrote (GRU
//     with the reset gate before the product, LSTM with projection);
//   - the vectors the pointwise math reads (folded biases, peephole weights);
//   - how each parameter's gradient is summed over the rows of a block of steps: the
//     products' own (dW += dC^T A), and column sums for biases or diagonals for
//     peepholes.
// The backward pass runs the stages in reverse: the stage's pointwise backward, then the
// gradient of each of its products' inputs (dA += dC W), in the order declared.
//
// Adding a cell kind is one file declaring these (see lstm.h for the shape of one) and
// one row in cell_table.cpp.
//
// ONNX's cell clip (ModelSpec::cell_clip) is a second definition of every row, built by
// define_cell<Cell, true>: the same declarations plus one step buffer, `clip_mask` [N, G*H]
// (1 where a gate's pre-activation passed unchanged, 0 where it was clipped), and the
// pointwise math instantiated with kClip = true, which bounds each pre-activation with
// clip_pre and masks its gradient with clip_grad. Without clip nothing changes: the
// functions are instantiated with kClip = false, where both are the identity.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

namespace rnnwave::cells {

inline constexpr int kMaxStates = 2;   // h and c: what ForwardArgs can pass in and out
inline constexpr int kMaxBuffers = 4;
inline constexpr int kMaxVectors = 4;
inline constexpr int kMaxStages = 2;

/// The sizes a definition's shapes are written in, for one layer.
struct Dims {
  int64_t hidden = 0;  ///< H
  int64_t output = 0;  ///< width of h: the projection size P if any, else H
  int64_t input = 0;   ///< I_l: the layer's input size
};

/// An extent written as coef * size: {4, Size::hidden} is 4H.
enum class Size : uint8_t { one, hidden, output, input };
struct Extent {
  int64_t coef = 0;
  Size size = Size::one;

  constexpr int64_t of(const Dims& d) const {
    switch (size) {
      case Size::one: return coef;
      case Size::hidden: return coef * d.hidden;
      case Size::output: return coef * d.output;
      case Size::input: return coef * d.input;
    }
    return 0;
  }
};

inline constexpr Extent kNone{0, Size::one};

/// One parameter tensor of a (layer, direction): its PyTorch key (the name before
/// _l{k}[_reverse]) and shape [rows, cols], or [rows] for a vector (cols = kNone).
struct ParamDecl {
  std::string_view key;
  Extent rows;
  Extent cols = kNone;
  constexpr bool is_vector() const { return cols.coef == 0; }
};

/// A state carried from step to step. The first is h (its width must be {1, output}).
struct StateDecl {
  std::string_view name;
  Extent width;
};

/// An extra buffer of a step, [N, width] rows like every matrix of a step.
///   step:    one per (layer, direction, step), kept from the forward pass to the
///            backward one; rows past a sequence's end are zeroed by the backward step.
///   scratch: one per (layer, direction), valid within one step only.
enum class Life : uint8_t { step, scratch };
struct BufferDecl {
  std::string_view name;
  Extent width;
  Life life;
};

/// Where a matrix of a step lives. Every one is [rows, width] with a row stride of its own.
enum class Where : uint8_t {
  none,
  gates,            ///< [N, G*H]: x W_ih^T, then (pointwise) the activations, then
                    ///< (backward) the gradients of the input-side pre-activations
  state_prev,       ///< state `index` read by the step
  state_out,        ///< state `index` written by the step
  buffer,           ///< declared buffer `index`
  grad_state_prev,  ///< backward: the gradient into state `index` read by the step
  grad_state_next,  ///< backward: the gradient of state `index` written by the step,
                    ///< from the next step of the chain (and, for a final state, h_n's)
};

/// A matrix of the step, from column `col` on.
struct Ref {
  Where where = Where::none;
  int index = 0;
  Extent col = kNone;
};

/// A matrix product of one step, C = A W^T, where W is rows [row0, row0 + rows) of
/// parameter `param` (its columns match A's width) and the output columns form `groups`
/// equal groups (gates, so that a part of the hidden units is the same panels of each).
/// Forward: C = A W^T, added to C if `accumulate`. Backward: dA = dC W, added to dA if
/// `grad_accumulate`; and W's gradient += dC^T A, summed over a block of steps.
struct ProductDecl {
  int param = 0;
  Extent row0 = kNone;
  Extent rows = kNone;
  int groups = 1;
  Ref a, c;
  bool accumulate = false;
  Ref grad_c, grad_a;
  bool grad_accumulate = false;
};

/// A gradient summed over the rows r of a block of steps, into columns [offset,
/// offset + width) of parameter `param` (a vector, or rows of a matrix laid end to end):
///   column:   p[j] += sum_r dc[r][j]            (a bias)
///   diagonal: p[j] += sum_r dc[r][j] * a[r][j]  (a peephole weight)
enum class Sum : uint8_t { column, diagonal };
struct SumDecl {
  int param = 0;
  Extent offset = kNone;
  Extent width = kNone;
  Sum kind = Sum::column;
  Ref grad_c;
  Ref a;
};

/// A vector the pointwise math reads, per (layer, direction): parameter `param`, plus
/// parameter `plus` if >= 0 (b_ih + b_hh, added once per set_weights in that order).
struct VectorDecl {
  int param = 0;
  int plus = -1;
};

/// The products a stage runs before its pointwise math. They are independent: none reads
/// what another of the stage writes, and none writes what another writes unless it adds
/// to it (accumulate), so a step may take them in either order where none adds
/// (products_forward in src/graph/cell_ops.cpp takes them last to first on odd steps).
struct StageDecl {
  std::span<const ProductDecl> products;
};

/// A matrix of a step as the pointwise math sees it: the first row and unit of the part
/// being computed, and the row stride.
template <class T>
struct Mat {
  T* p = nullptr;
  int64_t ld = 0;
  T* row(int64_t r) const { return p + r * ld; }
};

/// Everything the pointwise math of one stage reads and writes, for `rows` rows and
/// `units` hidden units (all H, or a part when a step is split by hidden units). Gate g
/// of unit j is at column g*H + j of the gates, and of any buffer that is G*H wide.
template <class T>
struct StepView {
  int64_t rows = 0;
  int64_t units = 0;
  int64_t hidden = 0;  ///< H: the distance between gates
  int64_t output = 0;  ///< Hs: the width of h
  Mat<T> gates;
  std::array<Mat<T>, kMaxStates> state_prev{}, state_out{};
  std::array<Mat<T>, kMaxBuffers> buffer{};
  std::array<const T*, kMaxVectors> vec{};
  /// ONNX's cell clip, and the buffer `clip_mask` (laid out like the gates), in a
  /// definition built with clip only.
  T clip = 0;
  Mat<T> keep;
  // Backward only.
  Mat<T> grad_above;  ///< [rows, D*Hs]: dL/dh from the layer above or the output
  std::array<Mat<T>, kMaxStates> grad_state_prev{}, grad_state_next{};
};

template <class T>
using Pointwise = void (*)(const StepView<T>&);

/// The pointwise math of a stage; either may be null (nothing to do).
template <class T>
struct StageMath {
  Pointwise<T> forward = nullptr;
  Pointwise<T> backward = nullptr;
};

/// A cell definition: what cell_table.cpp holds for each cell kind and variant.
struct CellDef {
  std::string_view name;  ///< for messages, e.g. "lstm with projection"
  int gates = 1;          ///< G
  std::span<const ParamDecl> params;
  std::span<const StateDecl> states;
  std::span<const BufferDecl> buffers;
  std::span<const VectorDecl> vectors;
  std::span<const StageDecl> stages;
  std::span<const SumDecl> sums;
  std::array<StageMath<float>, kMaxStages> math_float{};
  std::array<StageMath<double>, kMaxStages> math_double{};
  int clip_mask = -1;  ///< the buffer `clip_mask` if the definition clips, else -1

  template <class T>
  const StageMath<T>& math(size_t stage) const {
    if constexpr (std::is_same_v<T, float>) {
      return math_float[stage];
    } else {
      return math_double[stage];
    }
  }

  /// A step may be cut by hidden units only when it has one stage: every product then
  /// reads the previous states alone, and the parts of a step need nothing from each
  /// other until the next step. A second stage's product would need every unit of the
  /// first stage's output: a synchronisation inside the step.
  bool splits_by_units() const { return stages.size() == 1; }
};

/// a*b + c, rounded once where the target has fused multiply-adds, else twice. Written
/// out where a sum has two products (a*b + c*d), of which the compiler may fuse either:
/// its choice can differ between the instantiations with and without clip, and a bound
/// that never binds must give the bits of no clip.
template <class T>
inline T mul_add(T a, T b, T c) {
#ifdef __FMA__
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

/// ONNX's cell clip, forward: the pre-activation `a` of column k of the gates bounded to
/// [-clip, clip], and keep[k] = 1 if it passed unchanged (|a| <= clip; NaN passes), else 0.
/// With kClip false: `a`, and keep is not touched.
template <bool kClip, class T>
inline T clip_pre(T a, const StepView<T>& s, T* keep, int64_t k) {
  if constexpr (kClip) {
    const bool below = a < -s.clip, above = a > s.clip;
    keep[k] = below || above ? T(0) : T(1);
    return below ? -s.clip : (above ? s.clip : a);
  } else {
    return a;
  }
}

/// Backward: the gradient `d` of the pre-activation of column k, zero where it was clipped.
template <bool kClip, class T>
inline T clip_grad(T d, const T* keep, int64_t k) {
  if constexpr (kClip) {
    return keep[k] != T(0) ? d : T(0);
  } else {
    return d;
  }
}

/// Row r of the clip mask with clip, else null (never read).
template <bool kClip, class T>
inline T* keep_row(const StepView<T>& s, int64_t r) {
  if constexpr (kClip) {
    return s.keep.row(r);
  } else {
    return nullptr;
  }
}

/// A cell's buffers and, last, the clip mask [N, G*H], kept per step.
template <size_t N>
constexpr std::array<BufferDecl, N + 1> with_clip_mask(std::span<const BufferDecl> own,
                                                       int gates) {
  std::array<BufferDecl, N + 1> all{};
  for (size_t i = 0; i < N; ++i) all[i] = own[i];
  all[N] = {"clip_mask", {gates, Size::hidden}, Life::step};
  return all;
}

template <class Cell>
inline constexpr auto kBuffersWithClipMask =
    with_clip_mask<std::size(Cell::kBuffers)>(Cell::kBuffers, Cell::kGates);

/// Builds a definition from a cell's file: a struct with the static members kName, kGates,
/// kParams, kStates, kBuffers, kVectors, kStages, kSums and
///   template <class T, bool kClip>
///   static constexpr void set_math(std::array<StageMath<T>, kMaxStages>&)
/// which fills in its pointwise functions. With kClip, the definition with ONNX's cell clip.
template <class Cell, bool kClip = false>
constexpr CellDef define_cell() {
  CellDef def;
  def.name = Cell::kName;
  def.gates = Cell::kGates;
  def.params = Cell::kParams;
  def.states = Cell::kStates;
  def.buffers = Cell::kBuffers;
  if constexpr (kClip) {
    def.buffers = kBuffersWithClipMask<Cell>;
    def.clip_mask = static_cast<int>(std::size(Cell::kBuffers));
  }
  def.vectors = Cell::kVectors;
  def.stages = Cell::kStages;
  def.sums = Cell::kSums;
  Cell::template set_math<float, kClip>(def.math_float);
  Cell::template set_math<double, kClip>(def.math_double);
  return def;
}

/// PyTorch's four parameters, which every cell has, in state_dict order: weight_ih
/// [G*H, I_l], weight_hh [G*H, Hs], bias_ih [G*H], bias_hh [G*H].
constexpr std::array<ParamDecl, 4> pytorch_params(int gates) {
  return {{{"weight_ih", {gates, Size::hidden}, {1, Size::input}},
           {"weight_hh", {gates, Size::hidden}, {1, Size::output}},
           {"bias_ih", {gates, Size::hidden}},
           {"bias_hh", {gates, Size::hidden}}}};
}
inline constexpr int kWeightIh = 0, kWeightHh = 1, kBiasIh = 2, kBiasHh = 3;

/// PyTorch's four, then one more parameter (index 4).
constexpr std::array<ParamDecl, 5> pytorch_params_and(int gates, ParamDecl extra) {
  const auto common = pytorch_params(gates);
  return {{common[0], common[1], common[2], common[3], extra}};
}

inline constexpr Ref kGatesRef{Where::gates};
inline constexpr Ref kPrevH{Where::state_prev, 0};
inline constexpr Ref kGradPrevH{Where::grad_state_prev, 0};

/// The recurrent product of a cell whose gates add x W_ih^T and h W_hh^T (RNN, LSTM):
/// gates += h_prev W_hh^T; backward: dh_prev = dgates W_hh, and dW_hh += dgates^T h_prev.
constexpr ProductDecl recurrent_into_gates(int gates) {
  ProductDecl p;
  p.param = kWeightHh;
  p.rows = {gates, Size::hidden};
  p.groups = gates;
  p.a = kPrevH;
  p.c = kGatesRef;
  p.accumulate = true;
  p.grad_c = kGatesRef;
  p.grad_a = kGradPrevH;
  p.grad_accumulate = false;
  return p;
}

/// The bias gradients of a cell that adds b_ih and b_hh unchanged to every gate: both are
/// the column sums of the gate gradients.
constexpr std::array<SumDecl, 2> folded_bias_sums(int gates) {
  return {{{kBiasIh, kNone, {gates, Size::hidden}, Sum::column, kGatesRef, {}},
           {kBiasHh, kNone, {gates, Size::hidden}, Sum::column, kGatesRef, {}}}};
}

}  // namespace rnnwave::cells
