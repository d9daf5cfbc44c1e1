// The transport under the distributed layer: point-to-point messages grouped into
// operations, moved forward by a progress thread, each with a deadline.
//
// An operation is a sequence of stages. Each stage is a set of messages posted together;
// when all of them have completed, the operation's next_stage function is called (on the
// progress thread, outside the lock) to compute and return the next stage's messages, or
// none when the operation is complete. The reducer's reduce-scatter -> tree -> all-gather
// and a pipeline block's single send are both operations.
//
// Only this interface is seen by the reducer, the pipe channel and the configuration
// check; only mpi_transport.cpp includes <mpi.h>.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rnnwave/dist/launcher.h"
#include "rnnwave/dist/world.h"

namespace rnnwave::dist::detail {

/// One message of a stage. Sends read `data`, receives write it; a receive must get
/// exactly `bytes` bytes (more or fewer is an error that ends the job).
struct Message {
  enum class Kind { send, receive };
  Kind kind = Kind::send;
  int peer = 0;
  int tag = 0;
  void* data = nullptr;
  int64_t bytes = 0;
};

struct OpSpec {
  int channel = 0;
  std::string what;  ///< for messages: "combining bucket 'layer 1' (step 3)"
  Seconds timeout{60.0};
  /// The messages of the next stage; empty when the operation is complete. Called once by
  /// start() on the caller's thread, then on the progress thread. Must not throw (an
  /// exception ends the job with its message) and must not call the transport.
  std::function<std::vector<Message>()> next_stage;
  /// Called once when the operation completes: on the progress thread, or inside start()
  /// when the first stage is already empty. Must be quick and must not throw.
  std::function<void()> on_done;
};

class Op;  // defined by the transport
using OpHandle = std::shared_ptr<Op>;

class Transport {
 public:
  virtual ~Transport() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// The largest tag allowed (MPI_TAG_UB: 2^31-1 in Open MPI, 2^28-1 in MPICH).
  virtual int tag_limit() const = 0;
  virtual std::string library_version() const = 0;

  /// A new channel (a communicator of its own), so that tags of different users never
  /// meet. Collective: every rank opens its channels in the same order.
  virtual int open_channel(std::string_view what) = 0;
  /// Starts an operation; its first stage is posted before returning.
  virtual OpHandle start(OpSpec spec) = 0;
  virtual bool test(const OpHandle& op) = 0;
  /// Blocks until the operation is complete (the progress thread ends the job when the
  /// deadline passes, so this returns or the process ends).
  virtual void wait(const OpHandle& op) = 0;
  /// A barrier over every rank with the default deadline.
  virtual void barrier(std::string_view what) = 0;
  /// Prints the line and ends every rank (MPI_Abort with status 1).
  [[noreturn]] virtual void abort(std::string_view line) = 0;
};

/// The MPI transport, or an Error for a build without MPI. Initialises MPI.
std::unique_ptr<Transport> make_mpi_transport(const WorldOptions& options, const LaunchInfo& launch);

/// "2 s", "0.5 s": a duration for messages.
std::string format_seconds(Seconds s);

}  // namespace rnnwave::dist::detail

namespace rnnwave::dist::detail {

/// Posts `messages` as an operation of one stage and waits for it.
inline void exchange(Transport& transport, int channel, std::string what, Seconds timeout,
                     std::vector<Message> messages) {
  OpSpec spec;
  spec.channel = channel;
  spec.what = std::move(what);
  spec.timeout = timeout;
  spec.next_stage = [messages = std::move(messages), posted = false]() mutable -> std::vector<Message> {
    if (posted) return {};
    posted = true;
    return messages;
  };
  transport.wait(transport.start(std::move(spec)));
}

}  // namespace rnnwave::dist::detail
