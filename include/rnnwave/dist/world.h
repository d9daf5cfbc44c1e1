// rnnwave/dist/world.h — the processes of one run, and how long a rank waits for another.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace rnnwave::dist {

namespace detail {
class Transport;
}

/// Seconds, as a double: deadlines are configured in seconds and printed in seconds.
using Seconds = std::chrono::duration<double>;

struct WorldOptions {
  /// The program's name, the first word of every message ("rnnwave: error: ...").
  std::string program = "rnnwave";
  /// Default deadline of every wait: a rank that has been waiting on a transfer for this
  /// long without any of its messages completing ends the whole job with
  /// "rank R: no answer from rank Q for 60 s while <what>". Operations that may wait on a
  /// peer's long computation pass a longer deadline of their own.
  Seconds timeout{60.0};
  /// Largest single MPI message in bytes; longer transfers are sent as several messages
  /// (MPI counts are int). Tests lower it to exercise the splitting.
  int64_t max_message_bytes = int64_t{1} << 30;
  /// Longest sleep of the progress thread between polls while transfers are pending (it
  /// starts at 1 us and doubles while nothing completes; it sleeps on a condition variable
  /// while nothing is pending).
  std::chrono::microseconds max_poll_interval{200};
};

/// The processes of one run: one per rank, K in all.
///
/// Under an MPI launcher, in a build with MPI, the constructor initialises MPI
/// (MPI_THREAD_SERIALIZED: every MPI call is made under one lock, mostly by the progress
/// thread) and starts the progress thread that moves every transfer forward while the
/// caller computes. Otherwise — no launcher, or a build without MPI — the World is the
/// single process, rank 0 of 1, and MPI is never touched: this is the ordinary run.
///
/// The constructor throws Error when the process was started by a launcher as one of
/// several processes but cannot join them: a build without MPI
/// (refuse_launcher_without_mpi), or a launcher of another MPI implementation (MPI sees a
/// job of one while the launcher says K). One World per process; MPI is finalised by the
/// destructor, which requires every transfer to have completed.
class World {
 public:
  explicit World(WorldOptions options = {});
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  /// True when MPI is initialised (started by a launcher, in a build with MPI).
  bool uses_mpi() const { return transport_ != nullptr; }
  /// The MPI library's version line ("Open MPI v4.1.4, ..."), or "" without MPI.
  std::string mpi_library() const;
  const WorldOptions& options() const { return options_; }

  /// Prints "<program>: error: rank R: <message>" as one line on stderr and ends every
  /// rank of the job (MPI_Abort, exit status 1). Without MPI it prints
  /// "<program>: error: <message>" and exits the process with status 1.
  [[noreturn]] void abort(std::string_view message) const;

  /// A barrier with the default deadline. Used before leaving together after an error
  /// that every rank raised.
  void barrier(std::string_view what);

  /// The transport, or nullptr for a World of one process without MPI (internal).
  detail::Transport* transport() const { return transport_.get(); }

 private:
  WorldOptions options_;
  std::unique_ptr<detail::Transport> transport_;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace rnnwave::dist
