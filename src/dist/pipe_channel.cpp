// PipeChannel: one operation of one message per block transfer.
#include "rnnwave/dist/pipe_channel.h"

#include "common/strings.h"
#include "dist/transport.h"

namespace rnnwave::dist {

const char* to_string(Flow flow) { return flow == Flow::up ? "up" : "down"; }

int pipe_tag(const BlockId& id) {
  if (id.boundary < 0 || id.boundary >= kMaxBoundaries) {
    fail("pipeline: layer ", id.boundary, " out of range [0, ", kMaxBoundaries, ")");
  }
  if (id.block < 0 || id.block >= kMaxBlocks) {
    fail("pipeline: step block ", id.block, " of layer ", id.boundary, " out of range [0, ", kMaxBlocks,
         ") (use larger step blocks)");
  }
  if (id.split < 0 || id.split >= kMaxSplits) {
    fail("pipeline: batch split ", id.split, " out of range [0, ", kMaxSplits, ")");
  }
  const int flow = id.flow == Flow::up ? 0 : 1;
  return (flow << 26) | (id.boundary << 19) | (id.split << 15) | id.block;
}

std::string describe(const BlockId& id) {
  const std::string what = cat("layer ", id.boundary, "'s output, step block ", id.block, ", split ", id.split);
  return id.flow == Flow::up ? what : "the gradient of " + what;
}

PipeChannel::PipeChannel(World& world) : world_(world) {
  if (world.transport() != nullptr && world.size() > 1) {
    channel_ = world.transport()->open_channel("a pipeline");
  }
}

PipeChannel::~PipeChannel() = default;

template <class T>
Transfer PipeChannel::start(bool sending, int peer, const BlockId& id, T* data, size_t count,
                            std::function<void()> on_done, std::optional<Seconds> timeout) {
  const int tag = pipe_tag(id);
  if (peer < 0 || peer >= world_.size() || peer == world_.rank()) {
    fail("pipeline: ", sending ? "send to" : "receive from", " rank ", peer, " (", describe(id),
         "): the peer must be another rank of [0, ", world_.size(), ")");
  }
  detail::OpSpec spec;
  spec.channel = channel_;
  spec.what = cat(sending ? "sending " : "receiving ", describe(id), sending ? " to rank " : " from rank ", peer);
  spec.timeout = timeout.value_or(world_.options().timeout);
  const detail::Message message{sending ? detail::Message::Kind::send : detail::Message::Kind::receive, peer, tag,
                                data, static_cast<int64_t>(count * sizeof(T))};
  // One stage of one message: posted by start(), then the operation is complete.
  spec.next_stage = [message, posted = false]() mutable -> std::vector<detail::Message> {
    if (posted) return {};
    posted = true;
    return {message};
  };
  spec.on_done = std::move(on_done);
  return Transfer(world_.transport()->start(std::move(spec)));
}

template <class T>
Transfer PipeChannel::send(int to, const BlockId& id, std::span<const T> data, std::function<void()> on_done,
                           std::optional<Seconds> timeout) {
  return start<T>(true, to, id, const_cast<T*>(data.data()), data.size(), std::move(on_done), timeout);
}

template <class T>
Transfer PipeChannel::receive(int from, const BlockId& id, std::span<T> data, std::function<void()> on_done,
                              std::optional<Seconds> timeout) {
  return start<T>(false, from, id, data.data(), data.size(), std::move(on_done), timeout);
}

bool PipeChannel::test(const Transfer& transfer) const {
  return transfer.empty() || world_.transport()->test(transfer.op_);
}

void PipeChannel::wait(Transfer& transfer) const {
  if (transfer.empty()) return;
  world_.transport()->wait(transfer.op_);
  transfer.op_.reset();
}

template Transfer PipeChannel::send<float>(int, const BlockId&, std::span<const float>, std::function<void()>,
                                           std::optional<Seconds>);
template Transfer PipeChannel::send<double>(int, const BlockId&, std::span<const double>, std::function<void()>,
                                            std::optional<Seconds>);
template Transfer PipeChannel::receive<float>(int, const BlockId&, std::span<float>, std::function<void()>,
                                              std::optional<Seconds>);
template Transfer PipeChannel::receive<double>(int, const BlockId&, std::span<double>, std::function<void()>,
                                               std::optional<Seconds>);

}  // namespace rnnwave::dist
