// read_file and write_file_atomic: a failed write names the path, leaves no temporary
// file and never damages the file it was meant to replace.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "io/expect_error.h"
#include "io/io_test_support.h"
#include "rnnwave/npy.h"

namespace rnnwave {
namespace {

using testing::TempDir;
using testing::to_bytes;

TEST(AtomicFile, WritesAndReadsBack) {
  TempDir dir;
  const auto bytes = to_bytes(std::string("hello\0world", 11));
  write_file_atomic(dir.file("f.bin"), bytes);
  EXPECT_EQ(read_file(dir.file("f.bin")), bytes);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"f.bin"});
}

TEST(AtomicFile, WritesEmptyFiles) {
  TempDir dir;
  write_file_atomic(dir.file("empty"), {});
  EXPECT_TRUE(read_file(dir.file("empty")).empty());
}

TEST(AtomicFile, ReplacesAnExistingFileAndKeepsItsMode) {
  TempDir dir;
  write_file_atomic(dir.file("f"), to_bytes("old contents, longer"));
  ASSERT_EQ(::chmod(dir.file("f").c_str(), 0640), 0);
  write_file_atomic(dir.file("f"), to_bytes("new"));
  EXPECT_EQ(read_file(dir.file("f")), to_bytes("new"));
  struct stat info {};
  ASSERT_EQ(::stat(dir.file("f").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0640u);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"f"});
}

TEST(AtomicFile, NewFilesGetTheUsualModeNotMkstemps0600) {
  TempDir dir;
  const mode_t mask = ::umask(022);
  write_file_atomic(dir.file("f"), to_bytes("x"));
  ::umask(mask);
  struct stat info {};
  ASSERT_EQ(::stat(dir.file("f").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0644u);
}

TEST(AtomicFile, WritesRelativePaths) {
  TempDir dir;
  const std::string previous = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  EXPECT_NO_THROW(write_file_atomic("relative.bin", to_bytes("r")));
  std::filesystem::current_path(previous);
  EXPECT_EQ(read_file(dir.file("relative.bin")), to_bytes("r"));
}

TEST(AtomicFile, MissingDirectoryIsAnErrorNamingThePath) {
  TempDir dir;
  const std::string path = dir.file("no/such/dir/w.npy");
  EXPECT_ERROR_CONTAINING(write_file_atomic(path, to_bytes("x")), "cannot write '" + path + "'",
                          "No such file or directory");
  EXPECT_TRUE(dir.entries().empty());
}

TEST(AtomicFile, ParentThatIsAFileIsAnError) {
  TempDir dir;
  write_file_atomic(dir.file("plain"), to_bytes("x"));
  EXPECT_ERROR_CONTAINING(write_file_atomic(dir.file("plain/w.npy"), to_bytes("x")), "plain/w.npy", "Not a directory");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"plain"});
}

TEST(AtomicFile, UnwritableDirectoryIsAnErrorNamingThePath) {
  // /proc refuses new files even to root, so this runs under any user.
  EXPECT_ERROR_CONTAINING(write_file_atomic("/proc/w.npy", to_bytes("x")), "cannot write '/proc/w.npy'",
                          "temporary file in '/proc'");
  if (::geteuid() != 0) {  // permission bits do not stop root
    TempDir dir;
    ASSERT_EQ(::chmod(dir.path().c_str(), 0555), 0);
    EXPECT_ERROR_CONTAINING(write_file_atomic(dir.file("w.npy"), to_bytes("x")), dir.file("w.npy"), "Permission denied");
    ::chmod(dir.path().c_str(), 0755);
    EXPECT_TRUE(dir.entries().empty());
  }
}

TEST(AtomicFile, DirectoryInTheWayIsAnErrorAndIsLeftAlone) {
  TempDir dir;
  std::filesystem::create_directory(dir.file("target"));
  EXPECT_ERROR_CONTAINING(write_file_atomic(dir.file("target"), to_bytes("x")), "cannot write '" + dir.file("target") + "'");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"target"});
  EXPECT_TRUE(std::filesystem::is_directory(dir.file("target")));
  EXPECT_ERROR_CONTAINING(write_file_atomic(dir.file("target/"), to_bytes("x")), "names a directory");
}

/// Lowers the file size limit so that a large write fails half way (EFBIG), the way a
/// full disk would; restores it on destruction.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    ::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit saved_{};
  sighandler_t old_handler_;
};

TEST(AtomicFile, FailedWriteLeavesTheExistingFileIntactAndNoTemporaryFile) {
  TempDir dir;
  const std::string path = dir.file("weights.npz");
  const auto original = to_bytes("the previous checkpoint");
  write_file_atomic(path, original);
  const std::vector<std::byte> large(1 << 20, std::byte{7});
  {
    FileSizeLimit limit(4096);
    EXPECT_ERROR_CONTAINING(write_file_atomic(path, large), "cannot write '" + path + "'", "failed after 4096 of 1048576 bytes",
                            "File too large");
  }
  EXPECT_EQ(read_file(path), original);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"weights.npz"});
}

TEST(AtomicFile, FailedSaveNpyLeavesTheExistingFileIntact) {
  TempDir dir;
  const std::string path = dir.file("w.npy");
  save_npy(path, Tensor({2}, {1, 2}));
  {
    FileSizeLimit limit(1024);
    EXPECT_ERROR_CONTAINING(save_npy(path, Tensor({100000})), path);
  }
  EXPECT_EQ(load_npy<float>(path).vector(), (std::vector<float>{1, 2}));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"w.npy"});
}

// OutputFiles: several outputs appear together or not at all.

TEST(OutputFiles, CommitRenamesEveryFileAndLeavesNoTemporary) {
  TempDir dir;
  write_file_atomic(dir.file("b"), to_bytes("old b"));
  OutputFiles outputs;
  outputs.add(dir.file("a"), to_bytes("new a"), "--a");
  outputs.add(dir.file("b"), to_bytes("new b"), "--b");
  outputs.add_written(dir.file("c"), [](const std::string& path) { write_file_atomic(path, to_bytes("new c")); });
  EXPECT_EQ(read_file(dir.file("b")), to_bytes("old b"));  // nothing replaced before commit
  outputs.commit();
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(read_file(dir.file("b")), to_bytes("new b"));
  EXPECT_EQ(read_file(dir.file("c")), to_bytes("new c"));
}

TEST(OutputFiles, AFailedOutputLeavesEveryTargetAsItWas) {
  TempDir dir;
  write_file_atomic(dir.file("a"), to_bytes("old a"));
  {
    OutputFiles outputs;
    outputs.add(dir.file("a"), to_bytes("new a"), "--output");
    FileSizeLimit limit(4096);
    EXPECT_ERROR_CONTAINING(outputs.add(dir.file("b"), std::vector<std::byte>(1 << 20), "--hn"),
                            "--hn: cannot write '" + dir.file("b") + "'", "File too large");
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"a"});
  EXPECT_EQ(read_file(dir.file("a")), to_bytes("old a"));
  {
    OutputFiles outputs;  // destroyed without commit
    outputs.add(dir.file("a"), to_bytes("new a"));
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"a"});
  EXPECT_EQ(read_file(dir.file("a")), to_bytes("old a"));
}

TEST(OutputFiles, ADeviceThatFailsComesBeforeAnyRename) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  TempDir dir;
  OutputFiles outputs;
  outputs.add(dir.file("y.npy"), to_bytes("y"), "--output");
  outputs.add("/dev/full", to_bytes("hn"), "--hn");
  EXPECT_ERROR_CONTAINING(outputs.commit(), "--hn: cannot write '/dev/full'", "No space left on device");
  EXPECT_TRUE(dir.entries().empty());
  OutputFiles to_null;
  to_null.add("/dev/null", to_bytes("x"));
  to_null.add("/dev/null", to_bytes("y"));
  EXPECT_NO_THROW(to_null.commit());
  EXPECT_TRUE(std::filesystem::is_character_file("/dev/null"));
}

// error.h: a path that names no usable place is the caller's value; the system failing a
// valid write (no space, a file size limit) is a runtime failure, and
// OutputFiles keeps that kind when it adds the output's label.
TEST(AtomicFile, FailedWritesSayWhoseProblemTheyAre) {
  TempDir dir;
  EXPECT_ERROR_KIND(write_file_atomic(dir.file("no/such/dir/w.npy"), to_bytes("x")), ErrorKind::invalid_input);
  EXPECT_ERROR_KIND(write_file_atomic(dir.path() + "/", to_bytes("x")), ErrorKind::invalid_input);
  {
    FileSizeLimit limit(4096);  // the write itself fails: File too large
    EXPECT_ERROR_KIND(write_file_atomic(dir.file("big"), std::vector<std::byte>(1 << 20)), ErrorKind::runtime);
  }
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  OutputFiles outputs;
  outputs.add("/dev/full", to_bytes("hn"), "--hn");
  EXPECT_ERROR_KIND(outputs.commit(), ErrorKind::runtime);
}

TEST(ReadFile, MissingFileAndDirectoryAreErrorsNamingThePath) {
  TempDir dir;
  EXPECT_ERROR_CONTAINING(read_file(dir.file("absent")), "cannot open '" + dir.file("absent") + "'", "No such file");
  EXPECT_ERROR_CONTAINING(read_file(dir.path()), "cannot read '" + dir.path() + "': not a regular file");
}

}  // namespace
}  // namespace rnnwave
