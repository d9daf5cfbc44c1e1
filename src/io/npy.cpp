// .npy arrays: element conversion, Fortran-order reordering, and the writer.
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "common/memory_limits.h"
#include "common/strings.h"
#include "io/npy_header.h"
#include "rnnwave/npy.h"

namespace rnnwave {
namespace {

template <class T>
constexpr const char* type_name() {
  if constexpr (std::is_same_v<T, float>) return "float32";
  if constexpr (std::is_same_v<T, double>) return "float64";
  return "int64";
}

/// The descr we write: little-endian, numpy's spelling.
template <class T>
constexpr const char* descr_of() {
  if constexpr (std::is_same_v<T, float>) return "<f4";
  if constexpr (std::is_same_v<T, double>) return "<f8";
  return "<i8";
}

template <class U>
U byte_swap(U value) {
  if constexpr (sizeof(U) == 1) return value;
  if constexpr (sizeof(U) == 2) return __builtin_bswap16(value);
  if constexpr (sizeof(U) == 4) return __builtin_bswap32(value);
  if constexpr (sizeof(U) == 8) return __builtin_bswap64(value);
}

template <size_t N>
struct UnsignedOf;
template <> struct UnsignedOf<1> { using type = uint8_t; };
template <> struct UnsignedOf<2> { using type = uint16_t; };
template <> struct UnsignedOf<4> { using type = uint32_t; };
template <> struct UnsignedOf<8> { using type = uint64_t; };

/// One element of type Raw from possibly unaligned bytes in the given byte order.
template <class Raw>
Raw load(const std::byte* at, bool big_endian) {
  using Bits = typename UnsignedOf<sizeof(Raw)>::type;
  Bits bits;
  std::memcpy(&bits, at, sizeof bits);
  if (big_endian != (std::endian::native == std::endian::big)) bits = byte_swap(bits);
  return std::bit_cast<Raw>(bits);
}

/// float32's largest finite value plus half a unit in the last place: doubles below it
/// round to a finite float, doubles at or above it would become inf. Exactly representable.
constexpr double kFloatRoundingLimit = 340282356779733661637539395458142568448.0;  // (2^25-1)*2^103
static_assert(kFloatRoundingLimit == static_cast<double>(std::numeric_limits<float>::max()) +
                                         0x1p103);

/// Converts one element read from the file to T, refusing values T cannot hold.
template <class T, class Raw>
T convert(Raw value, size_t index, std::string_view what) {
  if constexpr (std::is_same_v<T, float> && std::is_same_v<Raw, double>) {
    if (std::isfinite(value) && std::fabs(value) >= kFloatRoundingLimit) {
      fail(what, ": element ", index, " (in file order) is ", value,
           ", outside the range of float32; read the file as float64 instead");
    }
    return static_cast<float>(value);
  } else if constexpr (std::is_same_v<T, int64_t> && std::is_same_v<Raw, uint64_t>) {
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      fail(what, ": element ", index, " (in file order) is ", value, ", above the int64 maximum");
    }
    return static_cast<int64_t>(value);
  } else {
    return static_cast<T>(value);
  }
}

template <class T, class Raw>
void convert_all(const std::byte* data, bool big_endian, std::span<T> out, std::string_view what) {
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = convert<T, Raw>(load<Raw>(data + i * sizeof(Raw), big_endian), i, what);
  }
}

/// Whether the documented conversions allow reading `dtype` as T.
template <class T>
bool readable_as(const NpyDtype& dtype) {
  if constexpr (std::is_floating_point_v<T>) return dtype.kind == 'f';
  return dtype.kind == 'i' || dtype.kind == 'u';
}

/// Dispatch on the file's dtype, which parse_npy_header limited to float32, float64 and
/// 1/2/4/8-byte integers, and readable_as<T> to those T accepts.
template <class T>
void convert_data(const NpyDtype& dtype, const std::byte* data, std::span<T> out, std::string_view what) {
  const bool big = dtype.big_endian;
  if constexpr (std::is_floating_point_v<T>) {
    if (dtype.size == 4) return convert_all<T, float>(data, big, out, what);
    return convert_all<T, double>(data, big, out, what);
  } else {
    const bool is_signed = dtype.kind == 'i';
    switch (dtype.size) {
      case 1: return is_signed ? convert_all<T, int8_t>(data, big, out, what)
                               : convert_all<T, uint8_t>(data, big, out, what);
      case 2: return is_signed ? convert_all<T, int16_t>(data, big, out, what)
                               : convert_all<T, uint16_t>(data, big, out, what);
      case 4: return is_signed ? convert_all<T, int32_t>(data, big, out, what)
                               : convert_all<T, uint32_t>(data, big, out, what);
      default: return is_signed ? convert_all<T, int64_t>(data, big, out, what)
                                : convert_all<T, uint64_t>(data, big, out, what);
    }
  }
}

/// Fortran order stores the first index fastest; walk the C-order output with an
/// odometer and fetch each element from its column-major position.
template <class T>
std::vector<T> fortran_to_c(const std::vector<T>& column_major, const std::vector<int64_t>& shape) {
  const size_t rank = shape.size();
  std::vector<int64_t> stride(rank, 1);  // column-major strides
  for (size_t k = 1; k < rank; ++k) stride[k] = stride[k - 1] * shape[k - 1];
  std::vector<int64_t> index(rank, 0);
  std::vector<T> row_major(column_major.size());
  int64_t source = 0;
  for (size_t out = 0; out < row_major.size(); ++out) {
    row_major[out] = column_major[static_cast<size_t>(source)];
    for (size_t k = rank; k-- > 0;) {  // advance the last index first, carrying left
      source += stride[k];
      if (++index[k] < shape[k]) break;
      source -= stride[k] * shape[k];
      index[k] = 0;
    }
  }
  return row_major;
}

}  // namespace

template <class T>
BasicTensor<T> parse_npy(std::span<const std::byte> bytes, std::string_view what) {
  const NpyHeader header = parse_npy_header(bytes, what);
  if (!readable_as<T>(header.dtype)) {
    fail(what, ": dtype '", header.dtype.descr, "' (", header.dtype.name(), ") cannot be read as ",
         type_name<T>(),
         std::is_floating_point_v<T> ? "; expected float32 or float64" : "; expected an integer type");
  }
  // The data section has exactly the promised size, so this is at most 8x the input
  // (int8 read as int64); still refuse it politely if it cannot fit.
  check_fits_in_memory(static_cast<double>(header.elements) * sizeof(T) *
                           (header.fortran_order ? 2 : 1),
                       cat(what, ": the array"));
  std::vector<T> values(static_cast<size_t>(header.elements));
  convert_data<T>(header.dtype, bytes.data() + header.data_offset, std::span<T>(values), what);
  if (header.fortran_order && header.shape.size() > 1) values = fortran_to_c(values, header.shape);
  return BasicTensor<T>(header.shape, std::move(values));
}

template <class T>
BasicTensor<T> load_npy(const std::string& path) {
  return parse_npy<T>(read_file(path), path);
}

template <class T>
std::vector<std::byte> serialize_npy(const BasicTensor<T>& tensor) {
  std::vector<std::byte> out = format_npy_header(descr_of<T>(), tensor.shape());
  const size_t header_size = out.size();
  out.resize(header_size + tensor.vector().size() * sizeof(T));
  std::byte* data = out.data() + header_size;
  if constexpr (std::endian::native == std::endian::little) {
    if (!tensor.empty()) std::memcpy(data, tensor.data(), tensor.vector().size() * sizeof(T));
  } else {
    using Bits = typename UnsignedOf<sizeof(T)>::type;
    for (T value : tensor.vector()) {
      const Bits bits = byte_swap(std::bit_cast<Bits>(value));
      std::memcpy(data, &bits, sizeof bits);
      data += sizeof bits;
    }
  }
  return out;
}

template <class T>
void save_npy(const std::string& path, const BasicTensor<T>& tensor) {
  write_file_atomic(path, serialize_npy(tensor));
}

#define RNNWAVE_INSTANTIATE_NPY(T)                                                       \
  template BasicTensor<T> parse_npy<T>(std::span<const std::byte>, std::string_view);    \
  template BasicTensor<T> load_npy<T>(const std::string&);                               \
  template std::vector<std::byte> serialize_npy<T>(const BasicTensor<T>&);               \
  template void save_npy<T>(const std::string&, const BasicTensor<T>&);

RNNWAVE_INSTANTIATE_NPY(float)
RNNWAVE_INSTANTIATE_NPY(double)
RNNWAVE_INSTANTIATE_NPY(int64_t)
#undef RNNWAVE_INSTANTIATE_NPY

}  // namespace rnnwave
