// Every way an .npy image can be wrong gives a one-line rnnwave::Error saying what and
// where, never a crash, a hang, a huge allocation or a silently wrong tensor.
#include <gtest/gtest.h>

#include <chrono>
#include <limits>

#include "io/expect_error.h"
#include "io/io_test_support.h"
#include "rnnwave/npy.h"

namespace rnnwave {
namespace {

using testing::make_npy;
using testing::raw_bytes;
using testing::to_bytes;

const std::string kF4Header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";

std::vector<std::byte> valid_file() { return make_npy(kF4Header, raw_bytes(std::vector<float>(12, 1.0f))); }

TEST(NpyReject, TruncationAtEveryOffsetIsAnError) {
  const auto whole = valid_file();
  for (size_t length = 0; length < whole.size(); ++length) {
    SCOPED_TRACE(length);
    const std::vector<std::byte> cut(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(length));
    EXPECT_ERROR_CONTAINING(parse_npy<float>(cut, "cut.npy"), "cut.npy: ");
  }
}

TEST(NpyReject, TruncationMessagesSayWhereTheFileEnds) {
  const auto whole = valid_file();  // 128 bytes of preamble and header, 48 of data
  auto cut = [&](size_t length) { return std::vector<std::byte>(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(length)); };
  EXPECT_ERROR_CONTAINING(parse_npy<float>(cut(0), "a.npy"), "a.npy: not an .npy file: only 0 bytes");
  EXPECT_ERROR_CONTAINING(parse_npy<float>(cut(7), "a.npy"), "a.npy: truncated", "preamble");
  EXPECT_ERROR_CONTAINING(parse_npy<float>(cut(9), "a.npy"), "a.npy: truncated", "preamble");
  EXPECT_ERROR_CONTAINING(parse_npy<float>(cut(30), "a.npy"), "a.npy: truncated: header length is 118 bytes but only 20");
  EXPECT_ERROR_CONTAINING(parse_npy<float>(cut(128), "a.npy"),
                          "a.npy: truncated: header promises 48 bytes of data, file has 0 (shape [3, 4] of float32)");
  EXPECT_ERROR_CONTAINING(parse_npy<float>(cut(150), "a.npy"),
                          "a.npy: truncated: header promises 48 bytes of data, file has 22");
}

TEST(NpyReject, TrailingBytesAfterTheData) {
  auto bytes = valid_file();
  bytes.push_back(std::byte{0});
  EXPECT_ERROR_CONTAINING(parse_npy<float>(bytes, "t.npy"), "t.npy: 1 trailing bytes: header promises 48 bytes",
                          "file has 49");
}

TEST(NpyReject, BadMagic) {
  auto bytes = valid_file();
  bytes[1] = std::byte{'n'};
  EXPECT_ERROR_CONTAINING(parse_npy<float>(bytes, "m.npy"), "m.npy: not an .npy file: it starts with bytes 93 6e 55");
  EXPECT_ERROR_CONTAINING(parse_npy<float>(to_bytes("PK\x03\x04 a zip file"), "z.npy"), "z.npy: not an .npy file");
}

TEST(NpyReject, UnsupportedVersion) {
  auto bytes = valid_file();
  bytes[6] = std::byte{4};
  EXPECT_ERROR_CONTAINING(parse_npy<float>(bytes, "v.npy"), "v.npy: unsupported .npy format version 4.0");
  bytes[6] = std::byte{1};
  bytes[7] = std::byte{1};
  EXPECT_ERROR_CONTAINING(parse_npy<float>(bytes, "v.npy"), "unsupported .npy format version 1.1");
  bytes[6] = std::byte{0};
  bytes[7] = std::byte{0};
  EXPECT_ERROR_CONTAINING(parse_npy<float>(bytes, "v.npy"), "unsupported .npy format version 0.0");
}

TEST(NpyReject, HeaderLengthBeyondTheFile) {
  auto bytes = valid_file();
  bytes[8] = std::byte{0xff};
  bytes[9] = std::byte{0xff};
  EXPECT_ERROR_CONTAINING(parse_npy<float>(bytes, "h.npy"), "h.npy: truncated: header length is 65535 bytes");
  const auto v2 = make_npy(kF4Header, {}, 2);
  auto huge = v2;
  huge[8] = huge[9] = huge[10] = huge[11] = std::byte{0xff};
  EXPECT_ERROR_CONTAINING(parse_npy<float>(huge, "h.npy"), "header length is 4294967295 bytes");
}

TEST(NpyReject, MalformedHeadersAreQuotedInTheMessage) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "expected a value"},
      {"not a dict", "unexpected name"},
      {"['descr', '<f4']", "expected a dict"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), ", "expected a string key"},
      {"{'descr': '<f4' 'fortran_order': False, 'shape': (3, 4)}", "expected ',' or '}'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3 4)}", "expected ',' or ')'"},
      {"{'descr': '<f4, 'fortran_order': False, 'shape': (3, 4)}", "expected ',' or '}'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4)} junk", "after the value"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3.0, 4)}", "only integers"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 99999999999999999999)}", "int64 range"},
      {"{'descr': '<f4', 'fortran_order': False}", "missing key 'shape'"},
      {"{'descr': '<f4', 'shape': (3, 4)}", "missing key 'fortran_order'"},
      {"{'fortran_order': False, 'shape': (3, 4)}", "missing key 'descr'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), 'extra': 1}", "unexpected key 'extra'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), 'shape': (3, 4)}", "duplicate key 'shape'"},
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': (3, 4)}", "'fortran_order' must be True or False, got 0"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [3, 4]}", "'shape' must be a tuple of integers, got [3, 4]"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (12)}", "'shape' must be a tuple of integers, got 12"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': ('3', 4)}", "must be a tuple of integers"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (((((((((((((((((((((((((((((((((3,),),),),),),),),),),),),),),),),),),),),),),),),),),),),),),),),),)}", "nested deeper"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4)}\x01", "unexpected character '\\x01'"},
  };
  for (const auto& [header, detail] : cases) {
    SCOPED_TRACE(header);
    const auto bytes = make_npy(header, raw_bytes(std::vector<float>(12)));
    EXPECT_ERROR_CONTAINING(parse_npy<float>(bytes, "bad.npy"), "bad.npy: ", detail, " in header '");
  }
}

TEST(NpyReject, UnsupportedDtypesAreNamed) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"'<f2'", "unsupported dtype '<f2' (float16)"},
      {"'<f16'", "unsupported dtype '<f16' (float128)"},
      {"'|b1'", "unsupported dtype '|b1' (bool)"},
      {"'<c8'", "unsupported dtype '<c8' (complex)"},
      {"'|O'", "unsupported dtype '|O' (Python objects)"},
      {"'<M8[ns]'", "unsupported dtype '<M8[ns]' (datetime)"},
      {"'<x4'", "unsupported dtype '<x4' (not a dtype)"},
      {"'|O8'", "unsupported dtype '|O8' (Python objects)"},
      {"'<U5'", "unsupported dtype '<U5' (unicode strings)"},
      {"'|S3'", "unsupported dtype '|S3' (byte strings)"},
      {"'<M8'", "unsupported dtype '<M8' (datetime)"},
      {"'<i3'", "unsupported dtype '<i3' (3-byte integers)"},
      {"'<f4x'", "unsupported dtype '<f4x' (not a dtype)"},
      {"''", "unsupported dtype '' (not a dtype)"},
      {"[('a', '<f4'), ('b', '<i4')]", "unsupported dtype [('a', '<f4'), ('b', '<i4')] (structured arrays"},
      {"'|f4'", "dtype '|f4' has 4 bytes but no byte order"},
      {"4", "'descr' must be a string"},
  };
  for (const auto& [descr, detail] : cases) {
    SCOPED_TRACE(descr);
    const auto bytes = make_npy("{'descr': " + descr + ", 'fortran_order': False, 'shape': (3, 4), }",
                                raw_bytes(std::vector<float>(12)));
    EXPECT_ERROR_CONTAINING(parse_npy<float>(bytes, "d.npy"), "d.npy: ", detail);
  }
}

TEST(NpyReject, IntegersAreNotReadAsFloatsNorFloatsAsIntegers) {
  const auto ints = make_npy("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", raw_bytes<int32_t>({1}));
  EXPECT_ERROR_CONTAINING(parse_npy<float>(ints, "i.npy"), "i.npy: dtype '<i4' (int32) cannot be read as float32");
  EXPECT_ERROR_CONTAINING(parse_npy<double>(ints, "i.npy"), "cannot be read as float64");
  const auto floats = make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", raw_bytes<double>({1}));
  EXPECT_ERROR_CONTAINING(parse_npy<int64_t>(floats, "f.npy"), "f.npy: dtype '<f8' (float64) cannot be read as int64");
}

TEST(NpyReject, NegativeAndOverflowingShapes) {
  EXPECT_ERROR_CONTAINING(
      parse_npy<float>(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, -4), }", {}), "s.npy"),
      "s.npy: shape [3, -4] has a negative dimension");
  EXPECT_ERROR_CONTAINING(
      parse_npy<float>(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", {}), "s.npy"),
      "s.npy: shape [4294967296, 4294967296] of float32 has more elements than int64 can count");
  // Elements fit in int64 but bytes do not.
  EXPECT_ERROR_CONTAINING(
      parse_npy<double>(make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,), }", {}), "s.npy"),
      "s.npy: shape [2305843009213693952] of float64 needs more bytes than int64 can count");
}

TEST(NpyReject, MoreThan64Dimensions) {
  std::string shape = "(";
  for (int i = 0; i < 65; ++i) shape += "1, ";
  const auto bytes = make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + "), }", raw_bytes<float>({1}));
  EXPECT_ERROR_CONTAINING(parse_npy<float>(bytes, "r.npy"), "r.npy: shape has 65 dimensions; numpy arrays have at most 64");
}

TEST(NpyReject, HugeShapeFailsFastWithoutAllocating) {
  const auto start = std::chrono::steady_clock::now();
  const auto bytes = make_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (1000000, 1000000000), }",
                              raw_bytes<float>({1, 2}));
  EXPECT_ERROR_CONTAINING(parse_npy<float>(bytes, "huge.npy"),
                          "huge.npy: truncated: header promises 4000000000000000 bytes of data", "file has 8");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(NpyReject, Float64OutsideFloat32RangeIsNotSilentlyInfinite) {
  const auto bytes = make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", raw_bytes<double>({1, -2, -1e39}));
  EXPECT_ERROR_CONTAINING(parse_npy<float>(bytes, "r.npy"), "r.npy: element 2", "-1e+39", "outside the range of float32");
  EXPECT_EQ(parse_npy<double>(bytes, "r.npy").data()[2], -1e39);
  const double rounds_to_inf = static_cast<double>(std::numeric_limits<float>::max()) + 0x1p103;
  const auto edge = make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", raw_bytes<double>({rounds_to_inf}));
  EXPECT_ERROR_CONTAINING(parse_npy<float>(edge, "r.npy"), "outside the range of float32");
}

TEST(NpyReject, Uint64AboveInt64MaxIsNotWrapped) {
  const auto bytes = make_npy("{'descr': '<u8', 'fortran_order': False, 'shape': (2,), }",
                              raw_bytes<uint64_t>({1, uint64_t{1} << 63}));
  EXPECT_ERROR_CONTAINING(parse_npy<int64_t>(bytes, "u.npy"), "u.npy: element 1", "9223372036854775808", "above the int64 maximum");
}

TEST(NpyReject, LoadingAMissingFileNamesThePath) {
  EXPECT_ERROR_CONTAINING(load_npy<float>("/nonexistent/dir/w.npy"), "/nonexistent/dir/w.npy", "No such file");
}

}  // namespace
}  // namespace rnnwave
