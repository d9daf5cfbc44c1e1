#include "io/npy_header.h"

#include <bit>
#include <cstring>

#include "common/strings.h"
#include "io/python_literal.h"
#include "rnnwave/tensor.h"

namespace rnnwave {
namespace {

constexpr unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr int64_t kAlignment = 64;  // numpy's ARRAY_ALIGN: data starts at a multiple of it

std::string hex_bytes(std::span<const std::byte> bytes) {
  std::string out;
  for (std::byte b : bytes) {
    if (!out.empty()) out += ' ';
    const char* digits = "0123456789abcdef";
    out += digits[static_cast<unsigned>(b) >> 4];
    out += digits[static_cast<unsigned>(b) & 15];
  }
  return out;
}

/// What a descr that we do not support stands for, in words a user recognises.
std::string describe_unsupported(char kind, int size, bool well_formed) {
  switch (kind) {
    case 'b': return "bool";
    case 'c': return "complex";
    case 'O': return "Python objects";
    case 'S':
    case 'a': return "byte strings";
    case 'U': return "unicode strings";
    case 'V': return "raw or structured records";
    case 'M': return "datetime";
    case 'm': return "timedelta";
    case 'f': return well_formed && size > 0 ? cat("float", size * 8) : "not a dtype";
    case 'i':
    case 'u': return well_formed && size > 0 ? cat(size, "-byte integers") : "not a dtype";
    default: return "not a dtype";
  }
}

NpyDtype parse_dtype(const PyValue& descr, std::string_view what) {
  if (descr.kind == PyValue::Kind::list) {
    fail(what, ": unsupported dtype ", to_python(descr), " (structured arrays are not supported)");
  }
  if (descr.kind != PyValue::Kind::string) {
    fail(what, ": 'descr' must be a string such as '<f4', got ", to_python(descr));
  }
  const std::string& text = descr.text;
  size_t pos = 0;
  char order = '=';
  if (!text.empty() && std::strchr("<>=|", text[0]) != nullptr) order = text[pos++];
  const char kind = pos < text.size() ? text[pos++] : '?';
  int size = 0;
  const size_t digits_start = pos;
  while (pos < text.size() && pos - digits_start < 3 && text[pos] >= '0' && text[pos] <= '9') {
    size = size * 10 + (text[pos++] - '0');
  }
  const bool well_formed = pos == text.size();
  const bool supported = well_formed && pos > digits_start && ((kind == 'f' && (size == 4 || size == 8)) ||
                                         ((kind == 'i' || kind == 'u') &&
                                          (size == 1 || size == 2 || size == 4 || size == 8)));
  if (!supported) {
    fail(what, ": unsupported dtype ", quote_for_message(text, 40), " (",
         describe_unsupported(kind, size, well_formed),
         "); supported are float32, float64 and signed or unsigned integers of 1, 2, 4 or 8 "
         "bytes");
  }
  if (order == '|' && size > 1) {
    fail(what, ": dtype ", quote_for_message(text), " has ", size,
         " bytes but no byte order ('|' is for single bytes)");
  }
  NpyDtype dtype;
  dtype.kind = kind;
  dtype.size = size;
  dtype.big_endian = order == '>' || (order != '<' && std::endian::native == std::endian::big);
  dtype.descr = text;
  return dtype;
}

/// Errors about the dict's structure quote the whole header so the user sees what the
/// writer produced.
[[noreturn]] void bad_header(std::string_view what, std::string_view detail, std::string_view header) {
  fail(what, ": ", detail, " in header ", quote_for_message(header));
}

const PyValue& require_key(const PyValue& dict, std::string_view key, std::string_view what,
                           std::string_view header) {
  for (size_t i = 0; i < dict.keys.size(); ++i) {
    if (dict.keys[i] == key) return dict.items[i];
  }
  bad_header(what, cat("missing key '", key, "'"), header);
}

std::vector<int64_t> parse_shape(const PyValue& shape, std::string_view what, std::string_view header) {
  if (shape.kind != PyValue::Kind::tuple) {
    bad_header(what, cat("'shape' must be a tuple of integers, got ", to_python(shape)), header);
  }
  if (shape.items.size() > kMaxRank) {
    fail(what, ": shape has ", shape.items.size(), " dimensions; numpy arrays have at most ", kMaxRank);
  }
  std::vector<int64_t> dims;
  for (const PyValue& item : shape.items) {
    if (item.kind != PyValue::Kind::integer) {
      bad_header(what, cat("'shape' must be a tuple of integers, got ", to_python(shape)), header);
    }
    dims.push_back(item.integer);
  }
  for (int64_t dim : dims) {
    if (dim < 0) fail(what, ": shape ", shape_to_string(dims), " has a negative dimension");
  }
  return dims;
}

uint32_t read_little_endian(std::span<const std::byte> bytes) {
  uint32_t value = 0;
  for (size_t i = bytes.size(); i-- > 0;) value = (value << 8) | static_cast<uint32_t>(bytes[i]);
  return value;
}

}  // namespace

std::string NpyDtype::name() const {
  if (kind == 'f') return cat("float", size * 8);
  return cat(kind == 'u' ? "uint" : "int", size * 8);
}

int64_t npy_header_bytes(std::span<const std::byte> start) {
  if (start.size() < 8 || std::memcmp(start.data(), kMagic, sizeof kMagic) != 0) return 0;
  const auto major = static_cast<int>(start[6]);
  if (major < 1 || major > 3) return 0;
  const int64_t length_bytes = major == 1 ? 2 : 4;
  const int64_t prefix = 8 + length_bytes;
  if (static_cast<int64_t>(start.size()) < prefix) return 0;
  return prefix + read_little_endian(start.subspan(8, static_cast<size_t>(length_bytes)));
}

NpyHeader parse_npy_header(std::span<const std::byte> bytes, std::string_view what, bool with_data) {
  const auto size = static_cast<int64_t>(bytes.size());
  if (size < 6) {
    fail(what, ": not an .npy file: only ", size, " bytes (", hex_bytes(bytes), ")");
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    fail(what, ": not an .npy file: it starts with bytes ", hex_bytes(bytes.first(6)),
         ", expected 93 4e 55 4d 50 59 ('\\x93NUMPY')");
  }
  if (size < 8) fail(what, ": truncated: the file ends inside the preamble, after ", size, " bytes");
  const auto major = static_cast<int>(bytes[6]);
  const auto minor = static_cast<int>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0) {
    fail(what, ": unsupported .npy format version ", major, ".", minor,
         " (supported are 1.0, 2.0 and 3.0)");
  }
  const int64_t length_bytes = major == 1 ? 2 : 4;
  const int64_t prefix = 8 + length_bytes;
  if (size < prefix) fail(what, ": truncated: the file ends inside the preamble, after ", size, " bytes");
  const int64_t header_length = read_little_endian(bytes.subspan(8, length_bytes));
  if (header_length > size - prefix) {
    fail(what, ": truncated: header length is ", header_length, " bytes but only ", size - prefix,
         " bytes follow the preamble");
  }
  const std::string_view header(reinterpret_cast<const char*>(bytes.data() + prefix),
                                static_cast<size_t>(header_length));

  PyValue dict;
  try {
    dict = parse_python_literal(header);
  } catch (const Error& error) {
    bad_header(what, cat("syntax error: ", error.what()), header);
  }
  if (dict.kind != PyValue::Kind::dict) bad_header(what, "expected a dict", header);
  for (size_t i = 0; i < dict.keys.size(); ++i) {
    const std::string& key = dict.keys[i];
    if (key != "descr" && key != "fortran_order" && key != "shape") {
      bad_header(what, cat("unexpected key ", quote_for_message(key, 40)), header);
    }
    for (size_t j = 0; j < i; ++j) {
      if (dict.keys[j] == key) bad_header(what, cat("duplicate key '", key, "'"), header);
    }
  }

  NpyHeader result;
  const PyValue& fortran = require_key(dict, "fortran_order", what, header);
  if (fortran.kind != PyValue::Kind::boolean) {
    bad_header(what, cat("'fortran_order' must be True or False, got ", to_python(fortran)), header);
  }
  result.fortran_order = fortran.boolean;
  result.shape = parse_shape(require_key(dict, "shape", what, header), what, header);
  result.dtype = parse_dtype(require_key(dict, "descr", what, header), what);

  // Messages are built only on failure: a header may list tens of thousands of dims.
  auto array_text = [&] { return cat("shape ", shape_to_string(result.shape), " of ", result.dtype.name()); };
  result.elements = 1;
  for (int64_t dim : result.shape) {
    if (__builtin_mul_overflow(result.elements, dim, &result.elements)) {
      fail(what, ": ", array_text(), " has more elements than int64 can count");
    }
  }
  if (__builtin_mul_overflow(result.elements, int64_t{result.dtype.size}, &result.data_bytes)) {
    fail(what, ": ", array_text(), " needs more bytes than int64 can count");
  }
  result.data_offset = prefix + header_length;

  const int64_t available = size - result.data_offset;
  if (!with_data) return result;
  if (available < result.data_bytes) {
    fail(what, ": truncated: header promises ", result.data_bytes, " bytes of data, file has ", available,
         " (", array_text(), ")");
  }
  if (available > result.data_bytes) {
    fail(what, ": ", available - result.data_bytes, " trailing bytes: header promises ", result.data_bytes,
         " bytes of data, file has ", available, " (", array_text(), ")");
  }
  return result;
}

std::vector<std::byte> format_npy_header(std::string_view descr, const std::vector<int64_t>& shape) {
  if (shape.size() > kMaxRank) {
    fail("cannot write a tensor of rank ", shape.size(), " to .npy: numpy reads at most ", kMaxRank,
         " dimensions");
  }
  // Exactly numpy's text (format.py, _write_array_header): keys sorted, repr of each
  // value, a trailing ", " before the brace.
  std::string dict = cat("{'descr': '", descr, "', 'fortran_order': False, 'shape': (");
  for (size_t i = 0; i < shape.size(); ++i) dict += cat(i > 0 ? ", " : "", shape[i]);
  dict += shape.size() == 1 ? ",), }" : "), }";

  // numpy pads with spaces so that preamble + header + '\n' is a multiple of 64, adding
  // a full 64 bytes when it already is one; we do the same so the bytes match np.save.
  constexpr int64_t prefix = 10;
  const int64_t text_length = static_cast<int64_t>(dict.size()) + 1;
  const int64_t padding = kAlignment - (prefix + text_length) % kAlignment;
  const int64_t header_length = text_length + padding;
  if (header_length > 0xffff) fail("an .npy header of ", header_length, " bytes does not fit version 1.0");

  std::vector<std::byte> out;
  out.reserve(static_cast<size_t>(prefix + header_length));
  for (unsigned char c : kMagic) out.push_back(std::byte{c});
  out.push_back(std::byte{1});
  out.push_back(std::byte{0});
  out.push_back(std::byte(header_length & 0xff));
  out.push_back(std::byte(header_length >> 8));
  for (char c : dict) out.push_back(std::byte(c));
  out.insert(out.end(), static_cast<size_t>(padding), std::byte{' '});
  out.push_back(std::byte{'\n'});
  return out;
}

}  // namespace rnnwave
