// rnnwave/dist/pipe_channel.h — blocks of a layer's output flowing up to the next rank of a
// layer pipeline, and their gradients flowing down.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "rnnwave/dist/world.h"

namespace rnnwave::dist {

namespace detail {
class Op;
}

/// Which way a block travels.
enum class Flow {
  up,    ///< forward: layer l's output for steps [t0, t1), [t1-t0, N, D*H], to the rank of layer l+1
  down,  ///< backward: the gradient with respect to that output, [t1-t0, N, D*H], back to layer l's rank
};
const char* to_string(Flow flow);

/// Names one block of one pass. Its MPI tag packs the fields into 27 bits (MPICH allows
/// 2^28-1 tags, Open MPI 2^31-1): block bits 0-14, split bits 15-18, boundary bits 19-25,
/// flow bit 26. Distinct ids have distinct tags, so blocks of different steps, layers,
/// sub-batches and passes can never be confused; two transfers of the same id between the
/// same two ranks (the same block of the next batch) are matched in the order they were
/// started, which MPI guarantees.
struct BlockId {
  Flow flow = Flow::up;
  int boundary = 0;  ///< l: the block is layer l's output (up) or its gradient (down); [0, 128)
  int block = 0;     ///< step block index along T; [0, 32768)
  int split = 0;     ///< batch split (sub-batch) index; [0, 16)
};
constexpr int kMaxBoundaries = 1 << 7;
constexpr int kMaxBlocks = 1 << 15;
constexpr int kMaxSplits = 1 << 4;

/// The tag of a block. Throws Error naming the field that does not fit.
int pipe_tag(const BlockId& id);
/// "layer 2's output, steps block 3, split 0" (up) / "the gradient of layer 2's output, ..." (down).
std::string describe(const BlockId& id);

/// A transfer in flight; empty once waited for.
class Transfer {
 public:
  Transfer() = default;
  bool empty() const { return op_ == nullptr; }

 private:
  friend class PipeChannel;
  explicit Transfer(std::shared_ptr<detail::Op> op) : op_(std::move(op)) {}
  std::shared_ptr<detail::Op> op_;
};

/// Non-blocking point-to-point transfers of pipeline blocks between ranks. The data are
/// sent from and received into the caller's memory (no copy): it must stay valid and
/// untouched until the transfer is complete, and the receiving span must have exactly the
/// size sent (a different size ends the job with a message naming the block). Progress is
/// made by the World's progress thread; a receive that hears nothing for its deadline ends
/// the job ("no answer from rank Q for 60 s while receiving layer 2's output, ...").
/// Until the job ends, an abandoned transfer (a channel destroyed during stack unwinding)
/// may still read or write its memory.
class PipeChannel {
 public:
  /// Collective when world has several ranks (a channel of its own).
  explicit PipeChannel(World& world);
  ~PipeChannel();
  PipeChannel(const PipeChannel&) = delete;
  PipeChannel& operator=(const PipeChannel&) = delete;

  /// Starts sending `data` to rank `to`. on_done runs once it is complete (on the progress
  /// thread; quick, must not throw or call the channel). T is float or double. Throws
  /// Error if `to` is this rank or out of range, or the id does not fit a tag.
  template <class T>
  Transfer send(int to, const BlockId& id, std::span<const T> data, std::function<void()> on_done = {},
                std::optional<Seconds> timeout = {});
  /// Starts receiving into `data` from rank `from`; see send. `timeout` counts from now:
  /// pass a long one when the peer has much to compute before it sends.
  template <class T>
  Transfer receive(int from, const BlockId& id, std::span<T> data, std::function<void()> on_done = {},
                   std::optional<Seconds> timeout = {});

  /// True when the transfer is complete (or empty); never blocks.
  bool test(const Transfer& transfer) const;
  /// Blocks until the transfer is complete, then empties it.
  void wait(Transfer& transfer) const;

 private:
  template <class T>
  Transfer start(bool sending, int peer, const BlockId& id, T* data, size_t count, std::function<void()> on_done,
                 std::optional<Seconds> timeout);

  World& world_;
  int channel_ = -1;
};

}  // namespace rnnwave::dist
