// IEEE arithmetic for the shard tree, whatever the calling thread's mode.
//
// The engine's worker threads flush denormals to zero (kernels/denormals.h); the progress
// thread does not. The tree's additions run on either (a bucket is started from a task,
// finished on the progress thread), and with K = 1 all on the caller. So that the bits
// do not depend on who adds, every tree addition runs in one fixed mode: round to nearest,
// denormals kept (MXCSR FTZ and DAZ clear), restored afterwards.
#pragma once

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

namespace rnnwave::dist::detail {

class ScopedIeeeArithmetic {
 public:
#if defined(__SSE__)
  ScopedIeeeArithmetic() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ & ~kModeBits); }
  ~ScopedIeeeArithmetic() { _mm_setcsr(saved_); }
#endif
  ScopedIeeeArithmetic(const ScopedIeeeArithmetic&) = delete;
  ScopedIeeeArithmetic& operator=(const ScopedIeeeArithmetic&) = delete;

 private:
#if defined(__SSE__)
  // FTZ (bit 15), rounding control (bits 13-14; 00 = to nearest), DAZ (bit 6).
  static constexpr unsigned kModeBits = 0x8000 | 0x6000 | 0x0040;
  unsigned saved_;
#endif
};

}  // namespace rnnwave::dist::detail
