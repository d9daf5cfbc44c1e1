// Whole-file reads and crash-safe writes (temporary file + fsync + rename).
//
// Why: a checkpoint that is half written when the process dies or the disk fills up
// must not replace a good one. Writing to a temporary file in the same directory and
// renaming it over the target is atomic on POSIX file systems, so a reader sees either
// the old file or the complete new one, never a mix.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <system_error>

#include "common/memory_limits.h"
#include "common/strings.h"
#include "rnnwave/npy.h"

namespace rnnwave {
namespace {

std::string errno_text(int code) { return std::error_code(code, std::generic_category()).message(); }

/// Whose problem a failed system call on an output path is (error.h): a path that names no
/// usable place (a missing directory, a file where a directory should be, a name too long)
/// is the caller's value; anything else (no space, no permission, a read-only or failing
/// disk) is the system failing a valid write.
ErrorKind write_error_kind(int code) {
  switch (code) {
    case ENOENT:
    case ENOTDIR:
    case EISDIR:
    case ENAMETOOLONG:
      return ErrorKind::invalid_input;
    default:
      return ErrorKind::runtime;
  }
}

/// Closes a descriptor on scope exit unless released.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  /// Closes now and reports close()'s error (it can be the first sign of a failed write).
  int close_now() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

/// "dir/name" -> "dir"; "name" -> "."; "/name" -> "/".
std::string parent_directory(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

/// The process umask, read without changing it (umask() itself is not thread-safe).
mode_t current_umask() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Umask:", 0) == 0) {
      return static_cast<mode_t>(std::strtoul(line.c_str() + 6, nullptr, 8) & 0777);
    }
  }
  return 022;
}

/// mkstemp creates files readable by the owner only; give the new file the mode an
/// ordinary open() would have (0666 minus the umask), or the mode of the file it replaces.
mode_t final_mode(const std::string& path) {
  struct stat existing {};
  if (::stat(path.c_str(), &existing) == 0 && S_ISREG(existing.st_mode)) {
    return existing.st_mode & 07777;
  }
  return 0666 & ~current_umask();
}

void write_all(int fd, std::span<const std::byte> bytes, const std::string& temp_path) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_as(ErrorKind::runtime, "writing '", temp_path, "' failed after ", done, " of ",
              bytes.size(), " bytes: ", errno_text(errno));
    }
    done += static_cast<size_t>(n);
  }
}

/// Makes the rename itself durable. Some file systems cannot fsync a directory (EINVAL);
/// there is nothing more to do on those.
void sync_directory(const std::string& directory) {
  FileDescriptor dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) {
    fail_as(ErrorKind::runtime, "cannot open directory '", directory, "' to sync it: ", errno_text(errno));
  }
  if (::fsync(dir.get()) != 0 && errno != EINVAL) {
    fail_as(ErrorKind::runtime, "cannot sync directory '", directory, "': ", errno_text(errno));
  }
}

}  // namespace

std::vector<std::byte> read_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is then refused below as
  // not a regular file); reads of regular files are unaffected.
  FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  // The path may come from a file (a data folder saved in a checkpoint): quoted escaped.
  const std::string quoted = quote_for_message(path, 200);
  if (file.get() < 0) fail("cannot open ", quoted, ": ", errno_text(errno));
  struct stat info {};
  if (::fstat(file.get(), &info) != 0) fail("cannot stat ", quoted, ": ", errno_text(errno));
  if (!S_ISREG(info.st_mode)) fail("cannot read ", quoted, ": not a regular file");
  check_fits_in_memory(static_cast<double>(info.st_size), cat("reading ", quoted));

  std::vector<std::byte> bytes(static_cast<size_t>(info.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(file.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_as(ErrorKind::runtime, "reading ", quoted, " failed after ", done, " bytes: ", errno_text(errno));
    }
    if (n == 0) break;  // the file shrank while we read it; keep what is there
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

namespace {

/// A character device or a pipe (say /dev/null or /dev/stdout): written straight into.
/// Renaming a temporary file over it would replace the device; atomicity means nothing
/// there.
bool is_device(const std::string& path) {
  struct stat existing {};
  return ::stat(path.c_str(), &existing) == 0 && (S_ISCHR(existing.st_mode) || S_ISFIFO(existing.st_mode));
}

/// "--hn: " or "".
std::string prefix(const std::string& label) { return label.empty() ? "" : label + ": "; }

void check_target(const std::string& path, const std::string& label) {
  if (path.empty()) fail(prefix(label), "cannot write a file with an empty path");
  if (path.back() == '/') fail(prefix(label), "cannot write '", path, "': the path names a directory");
}

/// A new temporary file ".NAME.tmp.XXXXXX" beside `path`, with the mode the target will
/// have; its descriptor is open.
std::pair<std::string, int> create_temporary(const std::string& path, const std::string& label) {
  const std::string directory = parent_directory(path);
  const std::string name = path.substr(path.find_last_of('/') + 1);
  std::string temp_path = cat(directory, "/.", name, ".tmp.XXXXXX");
  const int fd = ::mkstemp(temp_path.data());
  if (fd < 0) {
    const int code = errno;
    fail_as(write_error_kind(code), prefix(label), "cannot write '", path,
            "': cannot create a temporary file in '", directory, "': ", errno_text(code));
  }
  if (::fchmod(fd, final_mode(path)) != 0) {
    const int code = errno;
    ::close(fd);
    ::unlink(temp_path.c_str());
    fail_as(ErrorKind::runtime, prefix(label), "cannot write '", path, "': cannot set the permissions of '",
            temp_path, "': ", errno_text(code));
  }
  return {temp_path, fd};
}

}  // namespace

struct OutputFiles::Pending {
  std::string path;
  std::string label;
  std::string temp;                                       // empty for a device
  std::vector<std::byte> device_bytes;                    // add() to a device
  std::function<void(const std::string&)> device_writer;  // add_written() to a device
};

OutputFiles::OutputFiles() = default;

OutputFiles::~OutputFiles() { discard(); }

void OutputFiles::discard() {
  for (const Pending& file : pending_) {
    if (!file.temp.empty()) ::unlink(file.temp.c_str());
  }
  pending_.clear();
}

void OutputFiles::add(const std::string& path, std::span<const std::byte> bytes, const std::string& label) {
  check_target(path, label);
  if (is_device(path)) {
    pending_.push_back({path, label, "", std::vector<std::byte>(bytes.begin(), bytes.end()), {}});
    return;
  }
  auto [temp_path, fd] = create_temporary(path, label);
  pending_.push_back({path, label, temp_path, {}, {}});  // removed by the destructor on failure
  FileDescriptor file(fd);
  try {
    write_all(file.get(), bytes, temp_path);
    if (::fsync(file.get()) != 0) fail_as(ErrorKind::runtime, "cannot sync '", temp_path, "': ", errno_text(errno));
    if (file.close_now() != 0) fail_as(ErrorKind::runtime, "cannot close '", temp_path, "': ", errno_text(errno));
  } catch (const Error& error) {
    fail_as(error.kind(), prefix(label), "cannot write '", path, "': ", error.what());
  }
}

void OutputFiles::add_written(const std::string& path, const std::function<void(const std::string&)>& write,
                              const std::string& label) {
  check_target(path, label);
  if (is_device(path)) {
    pending_.push_back({path, label, "", {}, write});
    return;
  }
  auto [temp_path, fd] = create_temporary(path, label);
  pending_.push_back({path, label, temp_path, {}, {}});
  ::close(fd);
  try {
    write(temp_path);
  } catch (const Error& error) {
    fail_as(error.kind(), prefix(label), "cannot write '", path, "': ", error.what());
  }
}

void OutputFiles::commit() {
  try {
    commit_all();
  } catch (...) {
    discard();
    throw;
  }
}

void OutputFiles::commit_all() {
  // Devices first: a failure there must come before any target is replaced.
  for (const Pending& file : pending_) {
    if (!file.temp.empty()) continue;
    try {
      if (file.device_writer) {
        file.device_writer(file.path);
      } else {
        FileDescriptor device(::open(file.path.c_str(), O_WRONLY | O_CLOEXEC | O_NONBLOCK));
        if (device.get() < 0) {
          const int code = errno;
          fail_as(write_error_kind(code), "cannot open it: ", errno_text(code));
        }
        write_all(device.get(), file.device_bytes, file.path);
      }
    } catch (const Error& error) {
      fail_as(error.kind(), prefix(file.label), "cannot write '", file.path, "': ", error.what());
    }
  }
  std::vector<std::string> directories;
  for (Pending& file : pending_) {
    if (file.temp.empty()) continue;
    if (::rename(file.temp.c_str(), file.path.c_str()) != 0) {
      const int code = errno;
      fail_as(write_error_kind(code), prefix(file.label), "cannot write '", file.path, "': cannot rename '",
              file.temp, "' to '", file.path, "': ", errno_text(code));
    }
    file.temp.clear();  // renamed: nothing left to remove
    const std::string directory = parent_directory(file.path);
    if (std::find(directories.begin(), directories.end(), directory) == directories.end()) {
      directories.push_back(directory);
    }
  }
  pending_.clear();
  for (const std::string& directory : directories) {
    try {
      sync_directory(directory);
    } catch (const Error& error) {
      fail_as(error.kind(), "wrote the files in '", directory, "' but ", error.what());
    }
  }
}

void write_file_atomic(const std::string& path, std::span<const std::byte> bytes) {
  OutputFiles file;
  file.add(path, bytes);
  file.commit();
}

}  // namespace rnnwave
