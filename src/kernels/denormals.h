// Flush-to-zero / denormals-are-zero for the current thread, for a scope.
//
// Denormal floats make every arithmetic instruction that touches them ~100x slower; in
// an RNN they appear when gates saturate, and peers report 20x slowdowns from them.
// Their contribution to an output is below float precision anyway.
#pragma once

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

namespace rnnwave::kernels {

class ScopedFlushDenormals {
 public:
#if defined(__SSE__)
  ScopedFlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFtzDaz); }
  ~ScopedFlushDenormals() { _mm_setcsr(saved_); }
#endif
  ScopedFlushDenormals(const ScopedFlushDenormals&) = delete;
  ScopedFlushDenormals& operator=(const ScopedFlushDenormals&) = delete;

 private:
#if defined(__SSE__)
  static constexpr unsigned kFtzDaz = 0x8040;  // MXCSR bits FTZ (15) and DAZ (6)
  unsigned saved_;
#endif
};

}  // namespace rnnwave::kernels
