#include "common/finite.h"

#include <algorithm>
#include <bit>
#include <cstdint>

#include "common/strings.h"

namespace rnnwave {

std::string index_to_string(int64_t flat, const std::vector<int64_t>& shape) {
  std::vector<int64_t> index(shape.size());
  for (size_t k = shape.size(); k-- > 0;) {
    const int64_t extent = shape[k] > 0 ? shape[k] : 1;
    index[k] = flat % extent;
    flat /= extent;
  }
  std::string text = "[";
  for (size_t k = 0; k < index.size(); ++k) text += (k ? ", " : "") + std::to_string(index[k]);
  return text + "]";
}

namespace {

/// The bits of an IEEE float and its exponent field (all ones: inf or NaN).
template <class T>
struct FloatBits;
template <>
struct FloatBits<float> {
  using type = uint32_t;
  static constexpr type exponent = 0x7f800000u;
};
template <>
struct FloatBits<double> {
  using type = uint64_t;
  static constexpr type exponent = 0x7ff0000000000000ull;
};

/// Whether values[begin, end) are all finite: a branch-free test of the exponent bits
/// that the compiler vectorises, so that checking a large gradient costs a memory pass.
template <class T>
bool all_finite(const T* values, size_t begin, size_t end) {
  using Bits = typename FloatBits<T>::type;
  constexpr Bits exponent = FloatBits<T>::exponent;
  Bits bad = 0;
  for (size_t i = begin; i < end; ++i) {
    const auto bits = std::bit_cast<Bits>(values[i]);
    bad |= static_cast<Bits>((bits & exponent) == exponent);
  }
  return bad == 0;
}

/// Values tested per block before looking for the offender in a block that failed.
constexpr size_t kFiniteBlock = 4096;

}  // namespace

template <class T>
void check_finite(std::span<const T> values, const std::vector<int64_t>& shape,
                  std::string_view name) {
  for (size_t begin = 0; begin < values.size(); begin += kFiniteBlock) {
    const size_t end = std::min(values.size(), begin + kFiniteBlock);
    if (all_finite(values.data(), begin, end)) continue;
    for (size_t i = begin; i < end; ++i) {
      const T v = values[i];
      if (!std::isfinite(v)) {
        throw NonFiniteError(cat(name, " contains ", std::isnan(v) ? "NaN" : (v > 0 ? "inf" : "-inf"), " at ",
                                 index_to_string(static_cast<int64_t>(i), shape),
                                 " (non-finite values are rejected, see README)"));
      }
    }
  }
}

template void check_finite<float>(std::span<const float>, const std::vector<int64_t>&,
                                  std::string_view);
template void check_finite<double>(std::span<const double>, const std::vector<int64_t>&,
                                   std::string_view);

}  // namespace rnnwave
