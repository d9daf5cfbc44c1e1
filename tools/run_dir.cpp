#include "tools/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <span>

#include "rnnwave/error.h"
#include "rnnwave/npy.h"

namespace rnnwave::tools {
namespace {

namespace fs = std::filesystem;

void write_text_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, std::as_bytes(std::span<const char>(text.data(), text.size())));
}

/// ".NAME.tmp.XXXXXX" for NAME one of the run's files: what an atomic write leaves when
/// the process is killed between creating its temporary file and renaming it.
bool is_stale_temporary(const std::string& entry) {
  for (const char* name : run_files()) {
    const std::string prefix = std::string(".") + name + ".tmp.";
    if (entry.size() == prefix.size() + 6 && entry.compare(0, prefix.size(), prefix) == 0) return true;
  }
  return false;
}

/// The pid written in a lock file, or "" if none can be read.
std::string lock_owner(int fd) {
  char text[32] = {};
  const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
  if (n <= 0) return "";
  std::string pid(text, static_cast<size_t>(n));
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  const bool digits = !pid.empty() && pid.find_first_not_of("0123456789") == std::string::npos;
  return digits ? pid : "";
}

}  // namespace

std::string run_file(const std::string& dir, const char* name) {
  return (fs::path(dir) / name).string();
}

void refuse_existing_run(const std::string& dir) {
  std::error_code ec;
  if (fs::is_symlink(fs::symlink_status(dir, ec)) && !fs::exists(dir, ec)) {
    throw Error("--out " + dir + " is a symbolic link to " + fs::read_symlink(dir, ec).string() +
                ", which does not exist; create its target or choose another --out");
  }
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    throw Error("--out " + dir + " exists and is not a directory");
  }
  for (const char* name : {kCheckpointFile, kConfigFile, kMetricsFile, kModelFile}) {
    if (fs::exists(fs::symlink_status(run_file(dir, name), ec))) {
      throw Error("--out " + dir + " already holds a run (" + name + "); continue it with --resume " +
                  dir + ", or choose another --out");
    }
  }
}

RunLock::RunLock(const std::string& dir, const std::string& flag) : path_(run_file(dir, kLockFile)) {
  // Open, lock, then check that the path still names the locked file: an owner removes
  // it when done, and a lock on a removed file protects nothing.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      throw Error(flag + " " + dir + ": cannot create the lock file " + path_ + ": " + std::strerror(errno));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int code = errno;
      const std::string owner = lock_owner(fd);
      ::close(fd);
      if (code == EWOULDBLOCK) {
        throw Error(flag + " " + dir + " is in use by another rnnwave train" +
                    (owner.empty() ? "" : " (pid " + owner + ")") +
                    "; wait for it to end, or stop it, before training in this directory");
      }
      throw Error(flag + " " + dir + ": cannot lock " + path_ + ": " + std::strerror(code));
    }
    struct stat held {}, named {};
    if (::fstat(fd, &held) == 0 && ::stat(path_.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
        held.st_ino == named.st_ino) {
      fd_ = fd;
      const std::string pid = std::to_string(::getpid()) + "\n";
      // Without the pid the lock still holds; a second run just cannot name this one.
      if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, pid.data(), pid.size(), 0);
      return;
    }
    ::close(fd);
  }
  throw Error(flag + " " + dir + ": cannot lock " + path_ + ": it keeps being replaced");
}

RunLock::~RunLock() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());  // still locked here: a newcomer holding the old file retries
  ::close(fd_);
}

void remove_stale_temporaries(const std::string& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ignored;
    if (is_stale_temporary(it->path().filename().string())) fs::remove(it->path(), ignored);
  }
}

void check_run_files_writable(const std::string& dir, const std::string& flag) {
  for (const char* name : run_files()) {
    const std::string path = run_file(dir, name);
    struct stat info {};
    if (::lstat(path.c_str(), &info) == 0 && !S_ISREG(info.st_mode)) {
      throw Error(flag + " " + dir + ": " + path + " is not a regular file; the run writes its " + name +
                  " there (move it away)");
    }
  }
}

Trainer load_run(const std::string& dir, const std::string& flag, const ExecOptions& exec) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw Error(flag + " " + dir + ": no such run directory");
  }
  const std::string checkpoint = run_file(dir, kCheckpointFile);
  if (!fs::exists(checkpoint, ec)) {
    throw Error(flag + " " + dir + ": no " + kCheckpointFile +
                " (not a run directory: a run writes its checkpoint before its first epoch)");
  }
  return Trainer::from_checkpoint(checkpoint, exec);
}

void note_if_untrained(const Trainer& trainer, const std::string& dir, const std::string& what) {
  if (trainer.epochs_done() > 0) return;
  // A run writes its checkpoint before epoch 1, so a run stopped in its first epoch has
  // one: without this line its score would look like a (bad) trained model's.
  std::fprintf(stderr,
               "rnnwave: note: %s has not finished an epoch: this %s its initial, untrained "
               "weights (rnnwave train --resume %s trains it)\n",
               dir.c_str(), what.c_str(), dir.c_str());
}

/// The run-defining fields as the checkpoint stores them, with the data folder resolved
/// and the execution settings, for people reading the run directory.
nlohmann::json config_json(const TrainConfig& c) {
  nlohmann::json json = nlohmann::json::parse(to_json(c));
  if (c.data_dir.empty()) json["data_dir"] = default_data_dir();
  json["shards"] = c.shards;  // the checkpoint's config leaves out shards of 1
  json["exec"] = {{"schedule", std::string(to_string(c.exec.schedule))},
                  {"threads", c.exec.threads}};
  return json;
}

void write_config(const std::string& dir, const TrainConfig& config, int64_t epochs) {
  nlohmann::json json = config_json(config);
  json["epochs"] = epochs;
  write_text_atomic(run_file(dir, kConfigFile), json.dump(2) + "\n");
}

}  // namespace rnnwave::tools
