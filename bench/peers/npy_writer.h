// A minimal float32 .npy writer for the peers' --dump output (read back by numpy in the
// check scripts). The peers share no code with the library they are compared with.
#pragma once

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace rnnwave::bench {

/// Writes `values` as a C-order little-endian float32 array of `shape` (npy format 1.0).
inline void write_npy(const std::string& path, const std::vector<int64_t>& shape,
                      const float* values) {
  int64_t count = 1;
  std::string dims;
  for (int64_t extent : shape) {
    count *= extent;
    dims += std::to_string(extent) + ", ";
  }
  if (shape.size() > 1) dims.resize(dims.size() - 2);  // "(3,)" keeps its comma, "(2, 3)" not
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // magic (6) + version (2) + header length (2) + header + '\n', padded to 64 bytes
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  const uint16_t header_len = static_cast<uint16_t>(header.size());
  out.write("\x93NUMPY\x01\x00", 8);
  out.put(static_cast<char>(header_len & 0xff));
  out.put(static_cast<char>(header_len >> 8));
  out << header;
  out.write(reinterpret_cast<const char*>(values), static_cast<std::streamsize>(count * 4));
  if (!out) throw std::runtime_error("--dump: could not write " + path);
}

inline void write_npy(const std::string& path, const std::vector<int64_t>& shape,
                      const std::vector<float>& values) {
  write_npy(path, shape, values.data());
}

}  // namespace rnnwave::bench
