#include "common/finite.h"

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

template <class T>
void check_finite(std::span<const T> values, const std::vector<int64_t>& shape,
                  std::string_view name) {
  for (size_t i = 0; i < values.size(); ++i) {
    const T v = values[i];
    if (!std::isfinite(v)) {
      fail(name, " contains ", std::isnan(v) ? "NaN" : (v > 0 ? "inf" : "-inf"), " at ",
           index_to_string(static_cast<int64_t>(i), shape),
           " (non-finite values are rejected, see README)");
    }
  }
}

template void check_finite<float>(std::span<const float>, const std::vector<int64_t>&,
                                  std::string_view);
template void check_finite<double>(std::span<const double>, const std::vector<int64_t>&,
                                   std::string_view);

}  // namespace rnnwave
