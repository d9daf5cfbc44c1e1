// The contents of a packed matrix, for tests that compare packings bit for bit.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/packed_gemm.h"

namespace rnnwave::testing {

/// Every value of the packing, panel after panel, padding included.
template <class T>
std::vector<T> packed_values(const kernels::PackedMatrix<T>& m) {
  std::vector<T> out;
  for (int64_t p = 0; p < m.panels(); ++p) {
    out.insert(out.end(), m.panel(p), m.panel(p) + m.k() * kernels::kPanelWidth);
  }
  return out;
}

}  // namespace rnnwave::testing
