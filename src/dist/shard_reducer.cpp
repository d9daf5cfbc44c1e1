// ShardReducer: local tree sums, reduce-scatter of the partial sums, the tree completed
// per chunk, all-gather.
#include "rnnwave/dist/shard_reducer.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <exception>

#include "common/strings.h"
#include "dist/transport.h"

namespace rnnwave::dist {
namespace {

using detail::Message;

/// What every bucket shares: who owns which shards, the nodes each rank sends, the tags.
struct Layout {
  ShardPlan plan;
  std::vector<std::vector<TreeNode>> nodes;  ///< per rank: its maximal nodes
  std::vector<TreeNode> all;                 ///< every rank's nodes, left to right
  int slot_bits = 0;

  explicit Layout(ShardPlan p) : plan(p) {
    for (int q = 0; q < plan.ranks(); ++q) {
      nodes.push_back(plan.nodes_of(q));
      all.insert(all.end(), nodes.back().begin(), nodes.back().end());
    }
    size_t most = 1;
    for (const auto& n : nodes) most = std::max(most, n.size());
    slot_bits = static_cast<int>(std::bit_width(most - 1));
  }

  /// Bucket b, phase 0 (partial sums) or 1 (finished chunks), slot = node index within
  /// the sending rank. Each reducer has its own channel, so these tags meet no others.
  int tag(int b, int phase, int slot) const { return ((b * 2 + phase) << slot_bits) | slot; }
};

template <class T>
struct BucketState {
  int64_t size = 0;
  std::vector<T> local;     ///< [S/K, n]: the rank's shards, then its partial sums
  std::vector<T> result;    ///< [n]
  std::vector<T> received;  ///< [nodes of the other ranks, chunk of this rank]
  detail::OpHandle op;      ///< in flight, or null
  int64_t step = 0;
  int stage = 0;
  std::atomic<bool> abandoned{false};

  T* node_values(const Layout& layout, const TreeNode& node) {
    return local.data() + (node.first - layout.plan.first_shard()) * size;
  }
};

template <class T>
Message message(Message::Kind kind, int peer, int tag, const T* data, int64_t count) {
  return {kind, peer, tag, const_cast<T*>(data), count * static_cast<int64_t>(sizeof(T))};
}

/// Step 2: chunk q of each of this rank's nodes to rank q; chunk r of every other rank's
/// nodes from them.
template <class T>
std::vector<Message> scatter_messages(const Layout& layout, BucketState<T>& s, int b) {
  const int r = layout.plan.rank();
  const int ranks = layout.plan.ranks();
  const Chunk mine = chunk_of(s.size, ranks, r);
  std::vector<Message> messages;
  for (int q = 0; q < ranks; ++q) {
    const Chunk theirs = chunk_of(s.size, ranks, q);
    if (q == r || theirs.size() == 0) continue;
    for (size_t i = 0; i < layout.nodes[r].size(); ++i) {
      const T* values = s.node_values(layout, layout.nodes[r][i]) + theirs.begin;
      messages.push_back(message(Message::Kind::send, q, layout.tag(b, 0, static_cast<int>(i)), values, theirs.size()));
    }
  }
  if (mine.size() == 0) return messages;
  T* into = s.received.data();
  for (int q = 0; q < ranks; ++q) {
    if (q == r) continue;
    for (size_t i = 0; i < layout.nodes[q].size(); ++i) {
      messages.push_back(message(Message::Kind::receive, q, layout.tag(b, 0, static_cast<int>(i)), into, mine.size()));
      into += mine.size();
    }
  }
  return messages;
}

/// Step 3: the tree over every rank's nodes, for this rank's chunk, into result.
template <class T>
void complete_chunk(const Layout& layout, BucketState<T>& s) {
  const Chunk mine = chunk_of(s.size, layout.plan.ranks(), layout.plan.rank());
  if (mine.size() == 0) return;
  std::vector<std::span<T>> parts;
  T* received = s.received.data();
  for (int q = 0; q < layout.plan.ranks(); ++q) {
    for (const TreeNode& node : layout.nodes[q]) {
      if (q == layout.plan.rank()) {
        parts.emplace_back(s.node_values(layout, node) + mine.begin, mine.size());
      } else {
        parts.emplace_back(received, mine.size());
        received += mine.size();
      }
    }
  }
  const size_t root = sum_node_in_place<T>({0, layout.plan.shards()}, layout.all, parts);
  std::memcpy(s.result.data() + mine.begin, parts[root].data(), mine.size() * sizeof(T));
}

/// Step 4: this rank's finished chunk to every rank, theirs from them.
template <class T>
std::vector<Message> gather_messages(const Layout& layout, BucketState<T>& s, int b) {
  const int r = layout.plan.rank();
  const Chunk mine = chunk_of(s.size, layout.plan.ranks(), r);
  std::vector<Message> messages;
  for (int q = 0; q < layout.plan.ranks(); ++q) {
    if (q == r) continue;
    const Chunk theirs = chunk_of(s.size, layout.plan.ranks(), q);
    if (mine.size() > 0) {
      messages.push_back(message(Message::Kind::send, q, layout.tag(b, 1, 0), s.result.data() + mine.begin, mine.size()));
    }
    if (theirs.size() > 0) {
      messages.push_back(message(Message::Kind::receive, q, layout.tag(b, 1, 0), s.result.data() + theirs.begin, theirs.size()));
    }
  }
  return messages;
}

/// Step 1: each of the rank's maximal nodes summed in place over its shards.
template <class T>
void sum_local_nodes(const Layout& layout, BucketState<T>& s) {
  const int64_t first = layout.plan.first_shard();
  std::vector<TreeNode> shards;
  std::vector<std::span<T>> values;
  for (int64_t i = 0; i < layout.plan.local_shards(); ++i) {
    shards.push_back({first + i, first + i + 1});
    values.emplace_back(s.local.data() + i * s.size, s.size);
  }
  for (const TreeNode& node : layout.nodes[layout.plan.rank()]) {
    sum_node_in_place<T>(node, shards, values);
  }
}

}  // namespace

template <class T>
struct ShardReducer<T>::Impl {
  World& world;
  std::shared_ptr<const Layout> layout;
  std::vector<Bucket> buckets;
  std::vector<std::shared_ptr<BucketState<T>>> states;
  int channel = -1;

  Impl(World& w, int64_t shards, std::vector<Bucket> b)
      : world(w), layout(std::make_shared<Layout>(ShardPlan(shards, w.size(), w.rank()))), buckets(std::move(b)) {
    int64_t other_nodes = 0;
    for (int q = 0; q < layout->plan.ranks(); ++q) {
      if (q != layout->plan.rank()) other_nodes += static_cast<int64_t>(layout->nodes[q].size());
    }
    for (size_t b_index = 0; b_index < buckets.size(); ++b_index) {
      const Bucket& bucket = buckets[b_index];
      if (bucket.size < 0) fail("bucket '", bucket.name, "': size must be >= 0, got ", bucket.size);
      auto state = std::make_shared<BucketState<T>>();
      state->size = bucket.size;
      state->local.assign(static_cast<size_t>(layout->plan.local_shards() * bucket.size), T(0));
      state->result.assign(static_cast<size_t>(bucket.size), T(0));
      const Chunk mine = chunk_of(bucket.size, layout->plan.ranks(), layout->plan.rank());
      state->received.assign(static_cast<size_t>(other_nodes * mine.size()), T(0));
      states.push_back(std::move(state));
    }
    detail::Transport* transport = world.transport();
    if (transport == nullptr || layout->plan.ranks() == 1) return;
    check_tags(*transport);
    channel = transport->open_channel("a shard reducer");
  }

  void check_tags(const detail::Transport& transport) const {
    if (buckets.empty()) return;
    const int64_t most_nodes = int64_t{1} << layout->slot_bits;
    const int64_t highest = ((static_cast<int64_t>(buckets.size()) * 2) << layout->slot_bits) - 1;
    if (highest > transport.tag_limit()) {
      fail(buckets.size(), " buckets with up to ", most_nodes, " partial sums per rank need MPI tags up to ", highest,
           "; this MPI allows ", transport.tag_limit(), " (use fewer buckets)");
    }
  }

  void check_bucket(int b) const {
    if (b < 0 || b >= static_cast<int>(buckets.size())) {
      fail("bucket ", b, " out of range [0, ", buckets.size(), ")");
    }
  }

  bool in_flight(int b) const {
    const auto& op = states[b]->op;
    return op && !world.transport()->test(op);
  }

  void check_idle(int b) const {
    if (in_flight(b)) fail("bucket '", buckets[b].name, "' is being combined: wait for it before touching its buffers");
  }

  void start(int b, std::function<void()> on_done, std::optional<Seconds> timeout) {
    check_bucket(b);
    check_idle(b);
    BucketState<T>& s = *states[b];
    s.op.reset();
    sum_local_nodes(*layout, s);
    const int64_t step = s.step++;
    if (channel < 0) {  // one rank: the root is its only node
      std::copy_n(s.local.data(), s.result.size(), s.result.data());
      if (on_done) on_done();
      return;
    }
    detail::OpSpec spec;
    spec.channel = channel;
    spec.what = cat("combining bucket '", buckets[b].name, "' (batch ", step, ")");
    spec.timeout = timeout.value_or(world.options().timeout);
    s.stage = 0;
    auto state = states[b];
    auto shared_layout = layout;
    spec.next_stage = [state, shared_layout, b]() -> std::vector<Message> {
      while (state->stage < 2 && !state->abandoned) {
        std::vector<Message> messages;
        if (state->stage == 0) {
          messages = scatter_messages(*shared_layout, *state, b);
        } else {
          complete_chunk(*shared_layout, *state);
          messages = gather_messages(*shared_layout, *state, b);
        }
        ++state->stage;
        if (!messages.empty()) return messages;
      }
      return {};
    };
    spec.on_done = [state, done = std::move(on_done)] {
      if (done && !state->abandoned) done();
    };
    s.op = world.transport()->start(std::move(spec));
  }
};

template <class T>
ShardReducer<T>::ShardReducer(World& world, int64_t shards, std::vector<Bucket> buckets)
    : impl_(std::make_unique<Impl>(world, shards, std::move(buckets))) {}

template <class T>
ShardReducer<T>::~ShardReducer() {
  const bool unwinding = std::uncaught_exceptions() > 0;
  for (auto& state : impl_->states) {
    if (!state->op) continue;
    if (unwinding) {
      state->abandoned = true;  // its buffers live on in the operation
    } else {
      impl_->world.transport()->wait(state->op);
    }
  }
}

template <class T>
const ShardPlan& ShardReducer<T>::plan() const { return impl_->layout->plan; }

template <class T>
int ShardReducer<T>::bucket_count() const { return static_cast<int>(impl_->buckets.size()); }

template <class T>
auto ShardReducer<T>::bucket(int b) const -> const Bucket& {
  impl_->check_bucket(b);
  return impl_->buckets[b];
}

template <class T>
std::span<T> ShardReducer<T>::local(int b, int64_t i) {
  impl_->check_bucket(b);
  if (i < 0 || i >= plan().local_shards()) {
    fail("bucket '", impl_->buckets[b].name, "': local shard ", i, " out of range [0, ", plan().local_shards(), ")");
  }
  impl_->check_idle(b);
  BucketState<T>& s = *impl_->states[b];
  return {s.local.data() + i * s.size, static_cast<size_t>(s.size)};
}

template <class T>
std::span<const T> ShardReducer<T>::result(int b) const {
  impl_->check_bucket(b);
  impl_->check_idle(b);
  return impl_->states[b]->result;
}

template <class T>
void ShardReducer<T>::start(int b, std::function<void()> on_done, std::optional<Seconds> timeout) {
  impl_->start(b, std::move(on_done), timeout);
}

template <class T>
bool ShardReducer<T>::test(int b) {
  impl_->check_bucket(b);
  auto& op = impl_->states[b]->op;
  if (!op) return true;
  if (!impl_->world.transport()->test(op)) return false;
  op.reset();
  return true;
}

template <class T>
void ShardReducer<T>::wait(int b) {
  impl_->check_bucket(b);
  auto& op = impl_->states[b]->op;
  if (!op) return;
  impl_->world.transport()->wait(op);
  op.reset();
}

template <class T>
void ShardReducer<T>::wait_all() {
  for (int b = 0; b < bucket_count(); ++b) wait(b);
}

template <class T>
std::span<const T> ShardReducer<T>::combine(int b) {
  start(b);
  wait(b);
  return result(b);
}

template class ShardReducer<float>;
template class ShardReducer<double>;

}  // namespace rnnwave::dist
