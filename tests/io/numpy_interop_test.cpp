// NumPy reads what we write and we read what NumPy writes. These run /usr/bin/python3;
// without it or without numpy they fail (they are the only proof of compatibility).
#include <gtest/gtest.h>

#include <cmath>

#include "io/expect_error.h"
#include "io/io_test_support.h"
#include "rnnwave/npy.h"

namespace rnnwave {
namespace {

using testing::run_python;
using testing::TempDir;

#define EXPECT_PYTHON_OK(script, argument)                                   \
  do {                                                                       \
    const auto result_ = run_python(script, argument);                       \
    EXPECT_EQ(result_.exit_code, 0) << "python output:\n" << result_.output; \
  } while (false)

TEST(NumpyInterop, PythonAndNumpyAreAvailable) {
  EXPECT_PYTHON_OK("assert int(np.__version__.split('.')[0]) >= 1", "");
}

TEST(NumpyInterop, NumpyReadsOurNpyFilesAndWritesTheSameBytes) {
  TempDir dir;
  save_npy(dir.file("f4.npy"), Tensor({2, 3}, {0.5f, -1, 2, 3.25f, 1e-3f, 1e30f}));
  save_npy(dir.file("f8.npy"), BasicTensor<double>({4}, {0.1, -0.0, 1e300, -2}));
  save_npy(dir.file("i8.npy"), BasicTensor<int64_t>({2, 1, 2}, {INT64_MIN, -1, 0, INT64_MAX}));
  save_npy(dir.file("scalar.npy"), Tensor({}, {7}));
  save_npy(dir.file("empty.npy"), Tensor({0, 5}));
  EXPECT_PYTHON_OK(R"(
import io, os
d = sys.argv[1]
expected = {
    'f4': np.array([[0.5, -1, 2], [3.25, 1e-3, 1e30]], dtype=np.float32),
    'f8': np.array([0.1, -0.0, 1e300, -2], dtype=np.float64),
    'i8': np.array([np.iinfo(np.int64).min, -1, 0, np.iinfo(np.int64).max], dtype=np.int64).reshape(2, 1, 2),
    'scalar': np.array(7, dtype=np.float32),
    'empty': np.zeros((0, 5), dtype=np.float32),
}
for name, want in expected.items():
    path = os.path.join(d, name + '.npy')
    got = np.load(path, allow_pickle=False)
    assert got.dtype == want.dtype, (name, got.dtype)
    assert got.shape == want.shape, (name, got.shape)
    assert got.flags['C_CONTIGUOUS']
    assert np.array_equal(got, want), (name, got)
    buffer = io.BytesIO()
    np.save(buffer, want)
    assert buffer.getvalue() == open(path, 'rb').read(), name + ': bytes differ from np.save'
)",
                   dir.path());
}

TEST(NumpyInterop, NumpyReadsOurNpz) {
  TempDir dir;
  std::map<std::string, BasicTensor<double>> arrays;
  arrays.emplace("weight_ih_l0", BasicTensor<double>({3, 2}, {1, 2, 3, 4, 5, 6}));
  arrays.emplace("bias", BasicTensor<double>({3}, {-1, 0, 1}));
  save_npz(dir.file("w.npz"), arrays);
  save_npz(dir.file("none.npz"), std::map<std::string, Tensor>{});
  EXPECT_PYTHON_OK(R"(
import os
with np.load(os.path.join(sys.argv[1], 'w.npz'), allow_pickle=False) as z:
    assert sorted(z.files) == ['bias', 'weight_ih_l0'], z.files
    assert np.array_equal(z['weight_ih_l0'], np.arange(1, 7, dtype=np.float64).reshape(3, 2))
    assert z['bias'].dtype == np.float64 and list(z['bias']) == [-1, 0, 1]
with np.load(os.path.join(sys.argv[1], 'none.npz')) as z:
    assert z.files == []
)",
                   dir.path());
}

/// Writes `script`'s files with numpy into a fresh directory and returns it.
std::unique_ptr<TempDir> numpy_writes(const std::string& script) {
  auto dir = std::make_unique<TempDir>();
  const auto result = run_python("import os\nd = sys.argv[1]\n" + script, dir->path());
  EXPECT_EQ(result.exit_code, 0) << "python output:\n" << result.output;
  return dir;
}

TEST(NumpyInterop, WeReadNumpysFloatArraysInEveryLayout) {
  const auto dir = numpy_writes(R"(
a = (np.arange(24, dtype=np.float64).reshape(2, 3, 4) - 5) / 4
np.save(os.path.join(d, 'f4.npy'), a.astype(np.float32))
np.save(os.path.join(d, 'f8.npy'), a)
np.save(os.path.join(d, 'fortran.npy'), np.asfortranarray(a.astype(np.float32)))
np.save(os.path.join(d, 'big_f4.npy'), a.astype('>f4'))
np.save(os.path.join(d, 'big_f8_fortran.npy'), np.asfortranarray(a.astype('>f8')))
np.save(os.path.join(d, 'scalar.npy'), np.float32(2.5))
np.save(os.path.join(d, 'empty.npy'), np.zeros((3, 0), dtype=np.float32))
for version in [(1, 0), (2, 0), (3, 0)]:
    with open(os.path.join(d, 'v%d.npy' % version[0]), 'wb') as f:
        np.lib.format.write_array(f, a.astype(np.float32), version=version)
)");
  std::vector<float> expected(24);
  for (int i = 0; i < 24; ++i) expected[static_cast<size_t>(i)] = static_cast<float>((i - 5) / 4.0);
  for (const char* name : {"f4", "f8", "fortran", "big_f4", "big_f8_fortran", "v1", "v2", "v3"}) {
    SCOPED_TRACE(name);
    const auto tensor = load_npy<float>(dir->file(std::string(name) + ".npy"));
    EXPECT_EQ(tensor.shape(), (std::vector<int64_t>{2, 3, 4}));
    EXPECT_EQ(tensor.vector(), expected);
    const auto as_double = load_npy<double>(dir->file(std::string(name) + ".npy"));
    EXPECT_EQ(as_double.data()[23], 4.5);
  }
  const auto scalar = load_npy<float>(dir->file("scalar.npy"));
  EXPECT_EQ(scalar.rank(), 0);
  EXPECT_EQ(scalar.vector(), std::vector<float>{2.5f});
  EXPECT_EQ(load_npy<float>(dir->file("empty.npy")).shape(), (std::vector<int64_t>{3, 0}));
}

TEST(NumpyInterop, WeReadNumpysIntegerArraysAsInt64) {
  const auto dir = numpy_writes(R"(
lengths = np.array([7, 3, 5, 1], dtype=np.int32)
np.save(os.path.join(d, 'lengths_i4.npy'), lengths)
np.save(os.path.join(d, 'lengths_big_i4.npy'), lengths.astype('>i4'))
np.save(os.path.join(d, 'lengths_u1.npy'), lengths.astype(np.uint8))
np.save(os.path.join(d, 'lengths_i2_fortran.npy'), np.asfortranarray(lengths.astype(np.int16).reshape(2, 2)))
np.save(os.path.join(d, 'u8_max.npy'), np.array([np.iinfo(np.uint64).max], dtype=np.uint64))
np.save(os.path.join(d, 'bool.npy'), np.array([True, False]))
np.save(os.path.join(d, 'f2.npy'), np.array([1.5], dtype=np.float16))
np.save(os.path.join(d, 'c8.npy'), np.array([1j], dtype=np.complex64))
np.save(os.path.join(d, 'objects.npy'), np.array([{'a': 1}], dtype=object), allow_pickle=True)
np.save(os.path.join(d, 'strings.npy'), np.array(['ab', 'c']))
np.save(os.path.join(d, 'records.npy'), np.zeros(2, dtype=[('x', '<f4'), ('n', '<i4')]))
np.save(os.path.join(d, 'f8_huge.npy'), np.array([1e200]))
)");
  for (const char* name : {"lengths_i4", "lengths_big_i4", "lengths_u1"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(load_npy<int64_t>(dir->file(std::string(name) + ".npy")).vector(), (std::vector<int64_t>{7, 3, 5, 1}));
  }
  const auto fortran = load_npy<int64_t>(dir->file("lengths_i2_fortran.npy"));
  EXPECT_EQ(fortran.shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(fortran.vector(), (std::vector<int64_t>{7, 3, 5, 1}));

  EXPECT_ERROR_CONTAINING(load_npy<int64_t>(dir->file("u8_max.npy")), "u8_max.npy: element 0", "above the int64 maximum");
  EXPECT_ERROR_CONTAINING(load_npy<int64_t>(dir->file("bool.npy")), "bool.npy: unsupported dtype '|b1' (bool)");
  EXPECT_ERROR_CONTAINING(load_npy<float>(dir->file("f2.npy")), "f2.npy: unsupported dtype '<f2' (float16)");
  EXPECT_ERROR_CONTAINING(load_npy<float>(dir->file("c8.npy")), "c8.npy: unsupported dtype '<c8' (complex)");
  EXPECT_ERROR_CONTAINING(load_npy<float>(dir->file("objects.npy")), "objects.npy: unsupported dtype '|O' (Python objects)");
  EXPECT_ERROR_CONTAINING(load_npy<float>(dir->file("strings.npy")), "strings.npy: unsupported dtype '<U2' (unicode strings)");
  EXPECT_ERROR_CONTAINING(load_npy<float>(dir->file("records.npy")), "records.npy: unsupported dtype [('x', '<f4'), ('n', '<i4')]");
  EXPECT_ERROR_CONTAINING(load_npy<float>(dir->file("f8_huge.npy")), "f8_huge.npy: element 0", "outside the range of float32");
}

TEST(NumpyInterop, WeReadNpSavezAndNpSavezCompressed) {
  const auto dir = numpy_writes(R"(
w = np.arange(12, dtype=np.float32).reshape(3, 4) / 8
b = np.array([1.5, -2.5], dtype=np.float64)
n = np.array([4, 2], dtype=np.int32)
np.savez(os.path.join(d, 'plain.npz'), weight_ih_l0=w, bias_ih_l0=b)
np.savez_compressed(os.path.join(d, 'compressed.npz'), weight_ih_l0=w, bias_ih_l0=b)
np.savez(os.path.join(d, 'positional.npz'), w, b)
np.savez(os.path.join(d, 'lengths.npz'), lengths=n)
np.savez_compressed(os.path.join(d, 'zeros.npz'), zeros=np.zeros((256, 256), dtype=np.float32))
np.savez(os.path.join(d, 'empty.npz'))
)");
  std::vector<float> w(12);
  for (int i = 0; i < 12; ++i) w[static_cast<size_t>(i)] = static_cast<float>(i / 8.0);
  for (const char* name : {"plain.npz", "compressed.npz"}) {
    SCOPED_TRACE(name);
    const auto arrays = load_npz<float>(dir->file(name));
    ASSERT_EQ(arrays.size(), 2u);
    EXPECT_EQ(arrays.at("weight_ih_l0").shape(), (std::vector<int64_t>{3, 4}));
    EXPECT_EQ(arrays.at("weight_ih_l0").vector(), w);
    EXPECT_EQ(arrays.at("bias_ih_l0").vector(), (std::vector<float>{1.5f, -2.5f}));
  }
  const auto positional = load_npz<double>(dir->file("positional.npz"));
  EXPECT_EQ(positional.count("arr_0") + positional.count("arr_1"), 2u);
  EXPECT_EQ(load_npz<int64_t>(dir->file("lengths.npz")).at("lengths").vector(), (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(load_npz<float>(dir->file("zeros.npz")).at("zeros").size(), 256 * 256);  // 1000:1 deflate
  EXPECT_TRUE(load_npz<float>(dir->file("empty.npz")).empty());
  EXPECT_ERROR_CONTAINING(load_npz<float>(dir->file("lengths.npz")), "lengths.npz: member 'lengths': dtype '<i4'");
}

TEST(NumpyInterop, WeRejectNpzArchivesWithDuplicateOrInvalidMembers) {
  const auto dir = numpy_writes(R"(
import io, zipfile, warnings
warnings.simplefilter('ignore')
def member(a):
    b = io.BytesIO(); np.save(b, a); return b.getvalue()
with zipfile.ZipFile(os.path.join(d, 'dup.npz'), 'w') as z:
    z.writestr('w.npy', member(np.ones(2, np.float32)))
    z.writestr('w.npy', member(np.zeros(2, np.float32)))
with zipfile.ZipFile(os.path.join(d, 'truncated.npz'), 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('w.npy', member(np.ones(8, np.float32))[:-3])
open(os.path.join(d, 'cut.npz'), 'wb').write(open(os.path.join(d, 'dup.npz'), 'rb').read()[:-10])
)");
  EXPECT_ERROR_CONTAINING(load_npz<float>(dir->file("dup.npz")), "dup.npz: not a valid zip archive: duplicate member name");
  EXPECT_ERROR_CONTAINING(load_npz<float>(dir->file("truncated.npz")), "truncated.npz: member 'w': truncated: header promises 32 bytes of data, file has 29");
  EXPECT_ERROR_CONTAINING(load_npz<float>(dir->file("cut.npz")), "cut.npz: not a valid zip archive");
}

}  // namespace
}  // namespace rnnwave
