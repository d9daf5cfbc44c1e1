// .npz archives: round trips, member naming, and hostile or corrupt archives.
#include <gtest/gtest.h>

#include <chrono>

#include "common/memory_limits.h"
#include "io/expect_error.h"
#include "io/io_test_support.h"
#include "rnnwave/npy.h"

namespace rnnwave {
namespace {

using testing::make_npy;
using testing::make_zip;
using testing::raw_bytes;
using testing::TempDir;
using testing::ZipEntry;

std::vector<std::byte> f4_npy(std::vector<float> values) {
  const std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
                             std::to_string(values.size()) + ",), }";
  return make_npy(header, raw_bytes(values));
}

template <class T>
class NpzRoundTrip : public ::testing::Test {};
using ElementTypes = ::testing::Types<float, double, int64_t>;
TYPED_TEST_SUITE(NpzRoundTrip, ElementTypes);

TYPED_TEST(NpzRoundTrip, PreservesKeysShapesAndValues) {
  using T = TypeParam;
  std::map<std::string, BasicTensor<T>> arrays;
  arrays.emplace("weight_ih_l0", BasicTensor<T>({2, 3}, {1, 2, 3, 4, 5, 6}));
  arrays.emplace("bias_ih_l0", BasicTensor<T>({2}, {7, 8}));
  arrays.emplace("step", BasicTensor<T>({}, {42}));
  arrays.emplace("empty", BasicTensor<T>({0, 4}));
  TempDir dir;
  save_npz(dir.file("w.npz"), arrays);
  const auto back = load_npz<T>(dir.file("w.npz"));
  ASSERT_EQ(back.size(), arrays.size());
  for (const auto& [key, tensor] : arrays) {
    SCOPED_TRACE(key);
    ASSERT_EQ(back.count(key), 1u);
    EXPECT_EQ(back.at(key).shape(), tensor.shape());
    EXPECT_EQ(back.at(key).vector(), tensor.vector());
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"w.npz"});
}

TEST(Npz, EmptyArchiveRoundTrips) {
  TempDir dir;
  save_npz(dir.file("none.npz"), std::map<std::string, Tensor>{});
  EXPECT_TRUE(load_npz<float>(dir.file("none.npz")).empty());
}

TEST(Npz, EqualArraysGiveEqualBytes) {
  TempDir dir;
  const std::map<std::string, Tensor> arrays = {{"a", Tensor({3}, {1, 2, 3})}, {"b", Tensor({1}, {4})}};
  save_npz(dir.file("1.npz"), arrays);
  save_npz(dir.file("2.npz"), arrays);
  EXPECT_EQ(read_file(dir.file("1.npz")), read_file(dir.file("2.npz")));
}

TEST(Npz, MembersAreStoredUncompressedLikeNpSavez) {
  const std::vector<float> values(1000, 0.0f);  // would deflate to almost nothing
  TempDir dir;
  save_npz(dir.file("z.npz"), std::map<std::string, Tensor>{{"zeros", Tensor({1000}, values)}});
  EXPECT_GT(read_file(dir.file("z.npz")).size(), values.size() * sizeof(float));
}

TEST(Npz, KeyIsTheMemberNameWithoutNpySuffix) {
  const auto zip = make_zip({{"a.npy", f4_npy({1})}, {"b", f4_npy({2})}, {"dir/c.npy", f4_npy({3})},
                             {"d.npy.npy", f4_npy({4})}});
  const auto arrays = parse_npz<float>(zip, "k.npz");
  std::vector<std::string> keys;
  for (const auto& [key, tensor] : arrays) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b", "d.npy", "dir/c"}));
}

TEST(Npz, ReadsZip64Members) {
  ZipEntry entry{"w.npy", f4_npy({1, 2})};
  entry.zip64 = true;
  const auto arrays = parse_npz<float>(make_zip({entry}), "z64.npz");
  EXPECT_EQ(arrays.at("w").vector(), (std::vector<float>{1, 2}));
}

TEST(NpzReject, DuplicateKeys) {
  EXPECT_ERROR_CONTAINING(parse_npz<float>(make_zip({{"w.npy", f4_npy({1})}, {"w", f4_npy({2})}}), "d.npz"),
                          "d.npz: member 'w': duplicate key (member 'w' repeats it)");
  EXPECT_ERROR_CONTAINING(parse_npz<float>(make_zip({{"w.npy", f4_npy({1})}, {"w.npy", f4_npy({2})}}), "d.npz"),
                          "d.npz: not a valid zip archive: duplicate member name: File already exists");
}

TEST(NpzReject, InvalidMembersAreNamed) {
  auto truncated = f4_npy({1, 2, 3});
  truncated.resize(truncated.size() - 2);
  EXPECT_ERROR_CONTAINING(parse_npz<float>(make_zip({{"ok.npy", f4_npy({1})}, {"weight_ih_l0.npy", truncated}}), "weights.npz"),
                          "weights.npz: member 'weight_ih_l0': truncated: header promises 12 bytes of data, file has 10");
  EXPECT_ERROR_CONTAINING(parse_npz<float>(make_zip({{"notes.txt", testing::to_bytes("hello")}}), "n.npz"),
                          "n.npz: member 'notes.txt': not an .npy file: only 5 bytes");
  EXPECT_ERROR_CONTAINING(parse_npz<float>(make_zip({{"dir/", {}}}), "n.npz"), "n.npz: member 'dir/': not an .npy file");
  const auto ints = make_npy("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", raw_bytes<int32_t>({1}));
  EXPECT_ERROR_CONTAINING(parse_npz<float>(make_zip({{"n.npy", ints}}), "n.npz"), "n.npz: member 'n': dtype '<i4'");
}

TEST(NpzReject, CorruptArchivesNameTheFileAndLibzipsReason) {
  EXPECT_ERROR_CONTAINING(parse_npz<float>({}, "e.npz"), "e.npz: not a valid zip archive");
  EXPECT_ERROR_CONTAINING(parse_npz<float>(testing::to_bytes("this is not a zip archive at all"), "t.npz"),
                          "t.npz: not a valid zip archive: Not a zip archive");
  const auto npy = f4_npy({1, 2});
  EXPECT_ERROR_CONTAINING(parse_npz<float>(npy, "n.npz"), "n.npz: not a valid zip archive");

  const auto zip = make_zip({{"a.npy", f4_npy({1, 2, 3})}, {"b.npy", f4_npy({4})}});
  for (size_t length : {size_t{4}, size_t{60}, zip.size() / 2, zip.size() - 30, zip.size() - 1}) {
    SCOPED_TRACE(length);
    const std::vector<std::byte> cut(zip.begin(), zip.begin() + static_cast<std::ptrdiff_t>(length));
    EXPECT_ERROR_CONTAINING(parse_npz<float>(cut, "cut.npz"), "cut.npz: ");
  }
}

TEST(NpzReject, DataNotMatchingItsCrcIsAnError) {
  ZipEntry entry{"a.npy", f4_npy({1, 2, 3})};
  entry.crc = testing::crc32(entry.data) ^ 1u;
  EXPECT_ERROR_CONTAINING(parse_npz<float>(make_zip({entry}), "c.npz"), "c.npz: member 'a.npy'", "CRC error");
}

TEST(NpzReject, MemberLargerThanMemoryIsRefusedBeforeReading) {
  // A stored member's sizes must agree: checked when the archive is opened.
  ZipEntry entry{"big.npy", f4_npy({1})};
  entry.declared_size = uint64_t{1} << 60;
  entry.zip64 = true;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_ERROR_CONTAINING(parse_npz<float>(make_zip({entry}), "big.npz"),
                          "big.npz: member 'big.npy': stored uncompressed but its sizes differ");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  // A deflated member may claim up to 1032 times its compressed size: beyond the memory
  // available, it is refused when read, before anything is allocated.
  const double available = static_cast<double>(read_memory_limits().available());
  const auto compressed = static_cast<size_t>(available / 1000.0);
  if (compressed > (size_t{96} << 20)) GTEST_SKIP() << "the machine has too much memory for a small test archive";
  ZipEntry deflated{"huge.npy", std::vector<std::byte>(compressed, std::byte{0})};
  deflated.method = 8;
  deflated.zip64 = true;
  deflated.declared_size = static_cast<uint64_t>(static_cast<double>(compressed) * 1030.0);
  EXPECT_ERROR_CONTAINING(parse_npz<float>(make_zip({deflated}), "huge.npz"), "huge.npz: member 'huge.npy' needs ",
                          "of memory is available");
}

// NpzFile reads what it is asked for: a member declaring more bytes than the shape the
// caller expects is refused before it is inflated, and members never read cost nothing
// (not even when they could not be inflated at all).
TEST(NpzFile, ReadsOnlyTheMembersAskedForAndChecksTheirDeclaredSize) {
  const std::vector<std::byte> w = f4_npy({1, 2, 3});
  std::vector<std::byte> bomb_data = testing::deflate_stored(std::vector<std::byte>(100000, std::byte{7}));
  ZipEntry bomb{"bomb.npy", bomb_data};
  bomb.method = 8;
  bomb.declared_size = 90000000;  // a lie deflate allows: 900 times the data
  ZipEntry lying{"lying.npy", testing::deflate_stored(w)};
  lying.method = 8;
  lying.crc = testing::crc32(w);
  lying.declared_size = 100000;
  const std::vector<std::byte> archive = make_zip({ZipEntry{"w.npy", w}, bomb, lying});
  const NpzFile npz(archive, "a.npz");
  EXPECT_EQ(npz.keys(), (std::vector<std::string>{"w", "bomb", "lying"}));
  EXPECT_EQ(npz.shape("w"), std::vector<int64_t>{3});
  EXPECT_EQ(npz.dtype("w"), "float32");
  EXPECT_EQ(npz.read<float>("w", {3}).vector(), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(npz.shape("lying"), std::vector<int64_t>{3});  // from the header alone
  EXPECT_ERROR_CONTAINING(npz.read<float>("lying", {3}), "a.npz: member 'lying.npy': declares 100000 bytes",
                          "more than an array of shape [3] takes");
  EXPECT_ERROR_CONTAINING(npz.read<float>("w", {4}), "a.npz: member 'w': expected shape [4], got [3]");
  EXPECT_ERROR_CONTAINING(npz.shape("bomb"), "a.npz: member 'bomb': not an .npy file");
  EXPECT_ERROR_CONTAINING(npz.read<float>("none"), "a.npz: no member 'none.npy'");
}

TEST(NpzReject, SizesThatCannotBeTrueAreRefusedBeforeReading) {
  ZipEntry stored{"s.npy", f4_npy({1})};
  stored.declared_size = 1 << 30;
  EXPECT_ERROR_CONTAINING(parse_npz<float>(make_zip({stored}), "s.npz"),
                          "s.npz: member 's.npy': stored uncompressed but its sizes differ");
  ZipEntry deflated{"d.npy", std::vector<std::byte>(100, std::byte{0x55})};
  deflated.method = 8;
  deflated.declared_size = 1 << 30;
  EXPECT_ERROR_CONTAINING(parse_npz<float>(make_zip({deflated}), "d.npz"),
                          "d.npz: member 'd.npy': claims 1073741824 bytes from 100 compressed bytes");
}

TEST(NpzReject, ArchiveClaimingMillionsOfMembersIsRefusedQuickly) {
  // A zip64 end record promising 50 million entries in an empty central directory.
  std::vector<std::byte> zip;
  using testing::append_le;
  append_le(zip, 0x06064b50, 4);
  append_le(zip, 44, 8);
  append_le(zip, 45, 2);
  append_le(zip, 45, 2);
  append_le(zip, 0, 4);
  append_le(zip, 0, 4);
  append_le(zip, 50'000'000, 8);
  append_le(zip, 50'000'000, 8);
  append_le(zip, 0, 8);  // directory size
  append_le(zip, 0, 8);  // directory offset
  append_le(zip, 0x07064b50, 4);  // zip64 locator
  append_le(zip, 0, 4);
  append_le(zip, 0, 8);
  append_le(zip, 1, 4);
  append_le(zip, 0x06054b50, 4);  // classic end record pointing at the zip64 one
  append_le(zip, 0, 4);
  append_le(zip, 0xffff, 2);
  append_le(zip, 0xffff, 2);
  append_le(zip, 0xffffffff, 4);
  append_le(zip, 0xffffffff, 4);
  append_le(zip, 0, 2);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_ERROR_CONTAINING(parse_npz<float>(zip, "many.npz"), "many.npz: not a valid zip archive: Zip archive inconsistent");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(NpzReject, CompressionMethodsNumpyDoesNotWrite) {
  ZipEntry bzip2{"b.npy", f4_npy({1})};
  bzip2.method = 12;
  EXPECT_ERROR_CONTAINING(parse_npz<float>(make_zip({bzip2}), "b.npz"), "b.npz: member 'b.npy': compression method 12");
}

TEST(NpzReject, EmptyKeyCannotBeSaved) {
  TempDir dir;
  EXPECT_ERROR_CONTAINING(save_npz(dir.file("k.npz"), std::map<std::string, Tensor>{{"", Tensor({1})}}),
                          "k.npz: cannot save an array with an empty key");
  EXPECT_TRUE(dir.entries().empty());
}

TEST(NpzReject, LoadingAMissingFileNamesThePath) {
  EXPECT_ERROR_CONTAINING(load_npz<float>("/nonexistent/w.npz"), "/nonexistent/w.npz", "No such file");
}

}  // namespace
}  // namespace rnnwave
