// Activation functions shared by the cell kinds.
//
// float uses its own exp: branch-free, so the compiler vectorises the pointwise loops of
// the cells (16 lanes with AVX-512) instead of calling the scalar libm once per element,
// which would cost more than the GEMMs at small sizes. Accuracy: a few units in the last
// place (tested against the libm functions in tests/kernels). double, used only for
// gradient checks, keeps libm. The products-plus-sums below become fused multiply-adds
// where the target has them.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace rnnwave::kernels {

/// e^x for float, relative error < 4e-7 over the whole range; saturates to 0 below -87.3
/// and to 2^127-ish above 88.3 (callers only divide by it or add 1).
inline float exp_approx(float x) {
  x = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);  // ternaries vectorise to min/max
  // x = n ln2 + r with |r| <= ln2/2; n rounded to nearest by the 1.5*2^23 trick.
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kRound = 12582912.0f;
  const float n = (x * kLog2e + kRound) - kRound;
  constexpr float kLn2Hi = 0.693145751953125f, kLn2Lo = 1.42860682030941723212e-6f;
  float r = x - n * kLn2Hi;
  r = r - n * kLn2Lo;
  // e^r by its Taylor series to r^7: truncation below 2e-8 for |r| <= 0.347.
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t exponent = static_cast<int32_t>(n) + 127;
  return p * std::bit_cast<float>(exponent << 23);
}

inline float sigmoid(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

/// tanh for float: an odd Taylor polynomial near 0, where 1 - 2/(e^2x + 1) would cancel,
/// and that formula elsewhere; both are computed and one is selected, without branches.
inline float tanh(float x) {
  const float a = std::fabs(x);
  const float x2 = x * x;
  // x - x^3/3 + 2x^5/15 - 17x^7/315 + 62x^9/2835: error below 1e-8 relative for |x| < 0.25.
  float p = 62.0f / 2835.0f;
  p = p * x2 + -17.0f / 315.0f;
  p = p * x2 + 2.0f / 15.0f;
  p = p * x2 + -1.0f / 3.0f;
  const float small = p * x2 * x + x;
  const float large = std::copysign(1.0f - 2.0f / (exp_approx(2.0f * a) + 1.0f), x);
  return a < 0.25f ? small : large;
}

inline double sigmoid(double x) {
  // exp of a negative argument only: no overflow for large |x|.
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

inline double tanh(double x) { return std::tanh(x); }

}  // namespace rnnwave::kernels
