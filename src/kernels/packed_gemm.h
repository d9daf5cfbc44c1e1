// Matrix products against a pre-packed right-hand side: the recurrent and input-weight
// GEMMs of every cell.
//
// Why not a BLAS here: the weights are the same at every step, so they are packed once
// (per set_weights) instead of once per call, and the kernels compute every element of C
// as one sequential sum over k, starting from C's old value (beta = 1) or zero. The value
// of an element therefore never depends on how many rows are computed together: a pass
// cut into any number of sub-batches gives the same bits as one computed whole.
#pragma once

#include <cstdint>

#include "common/aligned_buffer.h"

namespace rnnwave::kernels {

inline constexpr int64_t kPanelWidth = 16;  // columns per panel: one AVX-512 register of float

/// A [K, N] right-hand side in panels of 16 columns, each stored [K][16] contiguously.
/// Columns may form `groups` equal groups (the gates of a cell), each padded with zero
/// columns to a whole number of panels, so a panel never straddles two gates.
template <class T>
class PackedMatrix {
 public:
  PackedMatrix() = default;
  /// Packs B = W^T (transposed = true, W is [N, K]) or B = W (W is [K, N]); ldw is W's
  /// row stride.
  PackedMatrix(const T* w, int64_t k, int64_t n, int64_t ldw, bool transposed, int64_t groups = 1) {
    pack(w, k, n, ldw, transposed, groups);
  }

  /// Packs anew, reusing this matrix's memory when it is large enough: a model whose
  /// weights change every batch (training) repacks without allocating or page faults.
  /// Large matrices are packed on the OpenMP threads allowed to the caller.
  void pack(const T* w, int64_t k, int64_t n, int64_t ldw, bool transposed, int64_t groups = 1);

  /// Packs B = other's B transposed, in `groups` groups (the backward form of a forward
  /// packing has none; the forward form, made back from it, the gates): the same matrix as
  /// packing other's W untransposed (or W^T, for a backward packing), bit for bit, made
  /// from the packed copy alone (so the caller's W need not be kept). Reuses this
  /// matrix's memory as pack does.
  void pack_transpose_of(const PackedMatrix& other, int64_t groups = 1);

  /// Elements a packing of a [k, n] B in `groups` groups takes.
  static int64_t elements(int64_t k, int64_t n, int64_t groups = 1);
  /// Makes room for `count` elements (a larger packing to come), keeping none of the
  /// values when it grows.
  void reserve(int64_t count) { data_.reserve(count); }
  int64_t capacity() const { return data_.capacity(); }
  /// Hands this matrix's memory over, leaving it empty (no shape, no panels), for another
  /// matrix to pack into (adopt): a weight that changes form moves between two matrices'
  /// memory without allocating.
  AlignedBuffer<T> release();
  /// Takes `memory` to pack into next; the matrix is empty (no panels) until packed.
  void adopt(AlignedBuffer<T> memory);

  int64_t k() const { return k_; }
  int64_t n() const { return n_; }
  int64_t panels() const { return groups_ * panels_per_group_; }
  int64_t panels_per_group() const { return panels_per_group_; }
  const T* panel(int64_t p) const { return data_.data() + p * k_ * kPanelWidth; }
  /// First column of C that panel p holds, and how many of its 16 columns are real.
  int64_t panel_column(int64_t p) const {
    return (p / panels_per_group_) * group_cols_ + (p % panels_per_group_) * kPanelWidth;
  }
  int64_t panel_width(int64_t p) const;
  /// Whether every panel p holds the same columns of C as other's panel p (the same
  /// columns, and groups that pad alike: the two Bs of one gemm_packed).
  bool same_panels(const PackedMatrix& other) const {
    const bool unpadded = group_cols_ % kPanelWidth == 0 && other.group_cols_ % kPanelWidth == 0;
    return n_ == other.n_ && panels() == other.panels() && (unpadded || groups_ == other.groups_);
  }

 private:
  /// Sets the shape of a packing to come and makes room for it.
  void shape(int64_t k, int64_t n, int64_t groups);

  int64_t k_ = 0, n_ = 0, groups_ = 1, group_cols_ = 0, panels_per_group_ = 0;
  AlignedBuffer<T> data_;
};

/// The panels of a packed matrix that a product computes: [begin, end), or, with
/// groups > 1, those panels of each of `groups` groups `stride` panels apart (the same
/// hidden units of every gate), taken unit by unit: panel begin of each group, then
/// begin + 1 of each... so that the panels of one register tile hold every gate of the
/// same 16 units, and the gates of a block of units are finished together.
struct PanelRange {
  int64_t begin = 0, end = -1;  // end < 0: to the last panel (groups must be 1 then)
  int64_t groups = 1, stride = 0;
  /// Walk the range from its last panels to its first: the fp32 and bf16 AVX-512 kernels
  /// then start with what a forward walk read last, which the core's L2 still holds if
  /// the previous call on this core was such a walk (the portable and AMX kernels walk
  /// forward regardless). A step's products alternate walks from step to step, which
  /// pays where their weights exceed the L2 (a step at N = 1). The results are the same
  /// either way: each element is one sum over k in its own panel.
  bool reverse = false;

  /// How many panels the range holds, of a matrix with `panels` panels.
  int64_t count(int64_t panels) const { return ((end < 0 ? panels : end) - begin) * groups; }
  /// The q-th panel of the range, q in [0, count).
  int64_t panel(int64_t q) const { return begin + q / groups + (q % groups) * stride; }
};

/// A second product A2[m, k2] B2[k2, n] of a gemm_packed, summed after the first: B2 has
/// the same panels as the first B (same_panels: the input and recurrent weights of a
/// cell's gates). b = nullptr: none.
template <class T>
struct SecondProduct {
  const T* a = nullptr;
  int64_t lda = 0;
  const PackedMatrix<T>* b = nullptr;
};

/// C[m, n] = A[m, k] B[k, n] + (beta ? C : 0), row-major A and C, for the columns of the
/// panels in `panels` (all by default; the other columns of C are not touched). beta is 0
/// or 1.
template <class T>
void gemm_packed(int64_t m, const T* a, int64_t lda, const PackedMatrix<T>& b, bool beta, T* c,
                 int64_t ldc, PanelRange panels = {});

/// C[m, n] = A B + A2 B2 + (beta ? C : 0) in one pass over C: each element's sum runs over
/// A B's k and then A2 B2's, so the result has the bits of gemm_packed(A, B) followed by
/// gemm_packed(A2, B2, beta = 1), without storing and reloading C in between.
template <class T>
void gemm_packed(int64_t m, const T* a, int64_t lda, const PackedMatrix<T>& b,
                 const SecondProduct<T>& second, bool beta, T* c, int64_t ldc,
                 PanelRange panels = {});

/// C[m, n] = A^T B + (beta ? C : 0) where the product's left side is stored transposed,
/// as At [k, m] (row stride lda): element (i, kk) of A^T is at[kk * lda + i]. The weight
/// gradients' form (dW = dY^T X over the rows of a block of steps). Each element of C is
/// one sequential sum over k, as in gemm_packed.
template <class T>
void gemm_packed_at(int64_t m, const T* at, int64_t lda, const PackedMatrix<T>& b, bool beta,
                    T* c, int64_t ldc);

/// The same, with the portable kernel (also the fallback on CPUs without AVX-512).
template <class T>
void gemm_packed_portable(int64_t m, const T* a, int64_t lda, const PackedMatrix<T>& b,
                          const SecondProduct<T>& second, bool beta, T* c, int64_t ldc,
                          PanelRange panels);

template <class T>
void gemm_packed_at_portable(int64_t m, const T* at, int64_t lda, const PackedMatrix<T>& b,
                             bool beta, T* c, int64_t ldc);

/// AVX-512 kernels for float; defined only where the compiler targets it.
void gemm_packed_avx512(int64_t m, const float* a, int64_t lda, const PackedMatrix<float>& b,
                        const SecondProduct<float>& second, bool beta, float* c, int64_t ldc,
                        PanelRange panels);
void gemm_packed_at_avx512(int64_t m, const float* at, int64_t lda, const PackedMatrix<float>& b,
                           bool beta, float* c, int64_t ldc);

/// dst[j * ldd + i] = src[i * lds + j] for i, j < 16: one 16 x 16 block transposed, the
/// step of every packing that turns rows into panels.
void transpose_16x16_avx512(const float* src, int64_t lds, float* dst, int64_t ldd);

/// Whether gemm_packed<float> uses the AVX-512 kernel on this CPU.
bool packed_gemm_uses_avx512();

}  // namespace rnnwave::kernels
