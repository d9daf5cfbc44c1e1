// .npy round trips, the exact bytes we write, and the header variants and conversions
// the reader accepts. Rejections are in npy_reject_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "io/expect_error.h"
#include "io/io_test_support.h"
#include "rnnwave/npy.h"

namespace rnnwave {
namespace {

using testing::make_npy;
using testing::raw_bytes;
using testing::TempDir;

template <class T>
BasicTensor<T> counting_tensor(std::vector<int64_t> shape) {
  BasicTensor<T> tensor(std::move(shape));
  for (int64_t i = 0; i < tensor.size(); ++i) {
    tensor.data()[i] = std::is_floating_point_v<T> ? static_cast<T>(i * 0.25 - 1.5) : static_cast<T>(i * 7 - 20);
  }
  return tensor;
}

/// Equal shapes and bit-identical elements (so NaN and -0.0 count as preserved).
template <class T>
void expect_identical(const BasicTensor<T>& a, const BasicTensor<T>& b) {
  ASSERT_EQ(a.shape(), b.shape());
  ASSERT_EQ(a.size(), b.size());
  if (a.size() > 0) {
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.vector().size() * sizeof(T)), 0);
  }
}

template <class T>
class NpyRoundTrip : public ::testing::Test {};
using ElementTypes = ::testing::Types<float, double, int64_t>;
TYPED_TEST_SUITE(NpyRoundTrip, ElementTypes);

TYPED_TEST(NpyRoundTrip, PreservesShapeAndValuesForEveryRank) {
  const std::vector<std::vector<int64_t>> shapes = {{}, {0}, {1}, {7}, {2, 3}, {2, 0, 4}, {2, 3, 4}, {1, 2, 1, 3, 1}};
  for (const auto& shape : shapes) {
    SCOPED_TRACE(shape_to_string(shape));
    const auto tensor = counting_tensor<TypeParam>(shape);
    const auto bytes = serialize_npy(tensor);
    expect_identical(parse_npy<TypeParam>(bytes, "memory"), tensor);
  }
}

TYPED_TEST(NpyRoundTrip, PreservesExtremeValues) {
  using T = TypeParam;
  using limits = std::numeric_limits<T>;
  std::vector<T> values = {limits::lowest(), limits::max(), limits::min(), T(0), T(-1)};
  if constexpr (std::is_floating_point_v<T>) {
    values.insert(values.end(), {limits::infinity(), -limits::infinity(), limits::quiet_NaN(), T(-0.0),
                                 limits::denorm_min()});
  }
  const auto count = static_cast<int64_t>(values.size());
  const BasicTensor<T> tensor({count}, values);
  expect_identical(parse_npy<T>(serialize_npy(tensor), "memory"), tensor);
}

TYPED_TEST(NpyRoundTrip, ThroughAFile) {
  TempDir dir;
  const auto tensor = counting_tensor<TypeParam>({3, 5});
  save_npy(dir.file("a.npy"), tensor);
  expect_identical(load_npy<TypeParam>(dir.file("a.npy")), tensor);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"a.npy"});
}

TEST(NpyWriter, WritesNumpysHeaderTextVersion1AndAlignsDataTo64Bytes) {
  const auto bytes = serialize_npy(counting_tensor<float>({2, 3}));
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(std::memcmp(bytes.data(), "\x93NUMPY\x01\x00", 8), 0);
  const size_t header_length = static_cast<size_t>(bytes[8]) | (static_cast<size_t>(bytes[9]) << 8);
  EXPECT_EQ((10 + header_length) % 64, 0u);
  EXPECT_EQ(bytes.size(), 10 + header_length + 6 * sizeof(float));
  const std::string header(reinterpret_cast<const char*>(bytes.data()) + 10, header_length);
  EXPECT_EQ(header.substr(0, header.find(" }") + 2), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
  EXPECT_EQ(header.back(), '\n');
}

TEST(NpyWriter, DescribesEachElementTypeAndRankLikeNumpy) {
  auto header_of = [](const std::vector<std::byte>& bytes) {
    const size_t length = static_cast<size_t>(bytes[8]) | (static_cast<size_t>(bytes[9]) << 8);
    const std::string text(reinterpret_cast<const char*>(bytes.data()) + 10, length);
    return text.substr(0, text.find('}') + 1);
  };
  EXPECT_EQ(header_of(serialize_npy(BasicTensor<double>({4}))), "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }");
  EXPECT_EQ(header_of(serialize_npy(BasicTensor<int64_t>(std::vector<int64_t>{}))), "{'descr': '<i8', 'fortran_order': False, 'shape': (), }");
}

TEST(NpyWriter, WritesRank64ButRefusesRanksNumpyCannotRead) {
  const std::vector<int64_t> rank64(64, 1);
  EXPECT_EQ(parse_npy<float>(serialize_npy(BasicTensor<float>(rank64)), "memory").shape(), rank64);
  EXPECT_ERROR_CONTAINING(serialize_npy(BasicTensor<float>(std::vector<int64_t>(65, 1))),
                          "cannot write a tensor of rank 65 to .npy: numpy reads at most 64 dimensions");
}

TEST(NpyReader, ScalarIsARankZeroTensorWithOneElement) {
  const auto bytes = make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", raw_bytes<double>({2.5}));
  const auto scalar = parse_npy<double>(bytes, "scalar.npy");
  EXPECT_EQ(scalar.rank(), 0);
  ASSERT_EQ(scalar.size(), 1);
  EXPECT_EQ(scalar.data()[0], 2.5);
}

TEST(NpyReader, AcceptsHeaderSpellingsOtherWritersUse) {
  const auto data = raw_bytes<float>({1, 2, 3, 4, 5, 6});
  const std::vector<std::string> headers = {
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
      "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 3)}",
      "{'shape': (2,3), 'fortran_order': False, 'descr': '<f4'}",
      "  {  'descr' :'<f4' ,'fortran_order':False,'shape':( 2 , 3 , ) }  ",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }",  // Python 2
      "{'descr': 'f4', 'fortran_order': False, 'shape': (2, 3), }",     // native order
  };
  for (const auto& header : headers) {
    SCOPED_TRACE(header);
    const auto tensor = parse_npy<float>(make_npy(header, data), "variant.npy");
    EXPECT_EQ(tensor.shape(), (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(tensor.vector(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  }
  // Verbatim, without padding or the final newline.
  const auto unpadded = make_npy("{'descr':'<f4','fortran_order':False,'shape':(6,)}", data, 1, false);
  EXPECT_EQ(parse_npy<float>(unpadded, "unpadded.npy").size(), 6);
}

TEST(NpyReader, AcceptsFormatVersions2And3) {
  for (int major : {2, 3}) {
    const auto bytes = make_npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
                                raw_bytes<int64_t>({-4, 9}), major);
    EXPECT_EQ(parse_npy<int64_t>(bytes, "v.npy").vector(), (std::vector<int64_t>{-4, 9}));
  }
}

TEST(NpyReader, ReordersFortranOrderToCOrder) {
  // A 2x3x2 array a[i][j][k] = 100i + 10j + k, stored with i fastest.
  std::vector<double> column_major;
  for (int k = 0; k < 2; ++k)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 2; ++i) column_major.push_back(100 * i + 10 * j + k);
  const auto bytes = make_npy("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3, 2), }", raw_bytes(column_major));
  const auto tensor = parse_npy<double>(bytes, "fortran.npy");
  ASSERT_EQ(tensor.shape(), (std::vector<int64_t>{2, 3, 2}));
  std::vector<double> expected;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 2; ++k) expected.push_back(100 * i + 10 * j + k);
  EXPECT_EQ(tensor.vector(), expected);
}

TEST(NpyReader, SwapsBigEndianData) {
  const auto f4 = make_npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
                           {std::byte{0x3f}, std::byte{0xc0}, std::byte{0}, std::byte{0}});  // 1.5
  EXPECT_EQ(parse_npy<float>(f4, "be.npy").vector(), std::vector<float>{1.5f});
  const auto i2 = make_npy("{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }",
                           {std::byte{0xff}, std::byte{0xfe}, std::byte{0x01}, std::byte{0x02}});
  EXPECT_EQ(parse_npy<int64_t>(i2, "be.npy").vector(), (std::vector<int64_t>{-2, 258}));
}

TEST(NpyReader, ConvertsFloat32AndFloat64ToEitherFloatingType) {
  const auto f4 = make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", raw_bytes<float>({0.1f, -3}));
  EXPECT_EQ(parse_npy<double>(f4, "f4.npy").vector(), (std::vector<double>{double(0.1f), -3.0}));
  const auto f8 = make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
                           raw_bytes<double>({0.1, std::numeric_limits<double>::infinity(), 1e-300}));
  const auto as_float = parse_npy<float>(f8, "f8.npy");
  EXPECT_EQ(as_float.data()[0], 0.1f);
  EXPECT_TRUE(std::isinf(as_float.data()[1]));  // inf stays inf: it is not out of range
  EXPECT_EQ(as_float.data()[2], 0.0f);          // underflow rounds to zero, as numpy does
}

TEST(NpyReader, Float64ThatRoundsToFloatMaxIsAccepted) {
  const double just_below = static_cast<double>(std::numeric_limits<float>::max()) + 0x1p102;
  const auto bytes = make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", raw_bytes<double>({just_below}));
  EXPECT_EQ(parse_npy<float>(bytes, "max.npy").data()[0], std::numeric_limits<float>::max());
}

TEST(NpyReader, ConvertsEveryIntegerWidthToInt64) {
  struct Case {
    std::string descr;
    std::vector<std::byte> data;
    std::vector<int64_t> expected;
  };
  const std::vector<Case> cases = {
      {"|i1", raw_bytes<int8_t>({-128, 127}), {-128, 127}},
      {"|u1", raw_bytes<uint8_t>({0, 255}), {0, 255}},
      {"<i2", raw_bytes<int16_t>({-32768, 32767}), {-32768, 32767}},
      {"<u2", raw_bytes<uint16_t>({0, 65535}), {0, 65535}},
      {"<i4", raw_bytes<int32_t>({INT32_MIN, INT32_MAX}), {INT32_MIN, INT32_MAX}},
      {"<u4", raw_bytes<uint32_t>({0, UINT32_MAX}), {0, int64_t{UINT32_MAX}}},
      {"<i8", raw_bytes<int64_t>({INT64_MIN, INT64_MAX}), {INT64_MIN, INT64_MAX}},
      {"<u8", raw_bytes<uint64_t>({0, uint64_t{INT64_MAX}}), {0, INT64_MAX}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.descr);
    const auto bytes = make_npy("{'descr': '" + c.descr + "', 'fortran_order': False, 'shape': (2,), }", c.data);
    EXPECT_EQ(parse_npy<int64_t>(bytes, "int.npy").vector(), c.expected);
  }
}

TEST(NpyReader, EmptyArrayNeedsNoData) {
  const auto bytes = make_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (3, 0, 1000000000000), }", {});
  const auto tensor = parse_npy<float>(bytes, "empty.npy");
  EXPECT_EQ(tensor.shape(), (std::vector<int64_t>{3, 0, 1000000000000}));
  EXPECT_EQ(tensor.size(), 0);
}

}  // namespace
}  // namespace rnnwave
