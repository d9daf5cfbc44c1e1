#include "train/gradient_buckets.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <utility>

#include "common/strings.h"

namespace rnnwave::train {
namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::vector<dist::ShardReducer<float>::Bucket> buckets_of(const std::vector<ParamGroup>& groups,
                                                          const std::vector<Parameter<float>>& params) {
  std::vector<dist::ShardReducer<float>::Bucket> buckets;
  for (const ParamGroup& group : groups) {
    int64_t size = 0;
    for (size_t p : group.params) size += static_cast<int64_t>(params[p].grad.size());
    // One group of every parameter keeps the name the bucket always had.
    buckets.push_back({groups.size() == 1 ? std::string("the gradients") : "the gradients of " + group.name, size});
  }
  return buckets;
}

/// The length of the union of the intervals [start, end).
double union_seconds(std::vector<std::pair<int64_t, int64_t>> spans) {
  std::sort(spans.begin(), spans.end());
  int64_t total = 0, covered_to = INT64_MIN;
  for (const auto& [start, end] : spans) {
    const int64_t from = std::max(start, covered_to);
    if (end > from) total += end - from;
    covered_to = std::max(covered_to, end);
  }
  return static_cast<double>(total) / 1e9;
}

}  // namespace

std::vector<ParamGroup> checked_gradient_groups(const std::vector<GradientGroup>& groups,
                                                const std::vector<Parameter<float>>& params,
                                                const std::string& task_name) {
  std::vector<ParamGroup> checked;
  if (groups.empty()) {
    checked.push_back({"every parameter", {}});
    for (size_t p = 0; p < params.size(); ++p) checked[0].params.push_back(p);
    return checked;
  }
  const std::string what = cat("task ", quote_for_message(task_name, 80), ": gradient group ");
  std::map<std::string, size_t> index;
  for (size_t p = 0; p < params.size(); ++p) index.emplace(params[p].name, p);
  std::vector<int64_t> owner(params.size(), -1);
  for (size_t g = 0; g < groups.size(); ++g) {
    const GradientGroup& group = groups[g];
    const std::string named = cat(what, g, " ", quote_for_message(group.name, 80));
    if (group.name.empty()) fail(what, g, " has an empty name");
    if (group.parameters.empty()) fail(named, " has no parameter");
    ParamGroup out{group.name, {}};
    for (const std::string& name : group.parameters) {
      const auto it = index.find(name);
      if (it == index.end()) fail(named, ": ", quote_for_message(name, 80), " is not a parameter of the task");
      if (owner[it->second] >= 0) {
        fail(named, ": parameter ", quote_for_message(name, 80), " is already in group ",
             quote_for_message(groups[static_cast<size_t>(owner[it->second])].name, 80));
      }
      owner[it->second] = static_cast<int64_t>(g);
      out.params.push_back(it->second);
    }
    checked.push_back(std::move(out));
  }
  for (size_t p = 0; p < params.size(); ++p) {
    if (owner[p] < 0) {
      fail("task ", quote_for_message(task_name, 80), ": parameter ", quote_for_message(params[p].name, 80),
           " is in no gradient group");
    }
  }
  return checked;
}

GradientBuckets::GradientBuckets(dist::World& world, int64_t shards, const std::vector<Parameter<float>>& params,
                                 std::vector<ParamGroup> groups)
    : reducer_(world, shards, buckets_of(groups, params)),
      params_(params),
      groups_(std::move(groups)),
      taken_(groups_.size(), 0),
      started_(groups_.size(), 0),
      done_(new std::atomic<int64_t>[groups_.size()]) {}

void GradientBuckets::begin_shard(int64_t local_shard, bool last) {
  shard_ = local_shard;
  last_ = last;
  std::fill(taken_.begin(), taken_.end(), 0);
}

void GradientBuckets::take(size_t group) {
  const std::span<float> bucket = reducer_.local(static_cast<int>(group), shard_);
  size_t at = 0;
  for (size_t p : groups_[group].params) {
    const std::span<float> grad = params_[p].grad;
    std::copy(grad.begin(), grad.end(), bucket.begin() + static_cast<std::ptrdiff_t>(at));
    at += grad.size();
  }
  taken_[group] = 1;
  if (!last_) return;
  started_[group] = now_ns();
  done_[group].store(0, std::memory_order_relaxed);
  std::atomic<int64_t>* done = &done_[group];
  reducer_.start(static_cast<int>(group), [done] { done->store(now_ns(), std::memory_order_release); });
}

void GradientBuckets::group_final(int64_t group) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (group < 0 || group >= static_cast<int64_t>(groups_.size())) {
    fail("the task announced gradient group ", group, "; it has ", groups_.size());
  }
  if (taken_[static_cast<size_t>(group)]) {
    fail("the task announced gradient group ", quote_for_message(groups_[static_cast<size_t>(group)].name, 80),
         " twice in one shard");
  }
  take(static_cast<size_t>(group));
}

void GradientBuckets::end_shard() {
  const std::lock_guard<std::mutex> lock(mutex_);
  for (size_t g = 0; g < groups_.size(); ++g) {
    if (!taken_[g]) take(g);
  }
}

void GradientBuckets::add_trace(Trace& trace, const std::vector<std::pair<int64_t, int64_t>>& spans,
                                int64_t wait_start, int64_t wait_end) const {
  int64_t origin = wait_start;
  for (const auto& span : spans) origin = std::min(origin, span.first);
  const auto event = [origin](const std::string& kind, int layer, int thread, int64_t start, int64_t end) {
    TraceEvent e;
    e.pass = "combine";
    e.kind = kind;
    e.layer = layer;
    e.thread = thread;
    e.start_us = static_cast<double>(start - origin) / 1e3;
    e.duration_us = static_cast<double>(end - start) / 1e3;
    return e;
  };
  std::vector<TraceEvent> events;
  for (size_t g = 0; g < spans.size(); ++g) {
    events.push_back(event("combine " + groups_[g].name, static_cast<int>(g), kCombineTrack, spans[g].first,
                           spans[g].second));
  }
  events.push_back(event("combine_wait", -1, 0, wait_start, wait_end));
  trace.append(std::move(events), origin);
}

void GradientBuckets::finish() {
  const int64_t wait_start = now_ns();
  reducer_.wait_all();
  const int64_t wait_end = now_ns();
  std::vector<std::pair<int64_t, int64_t>> spans;
  for (size_t g = 0; g < groups_.size(); ++g) {
    spans.emplace_back(started_[g], done_[g].load(std::memory_order_acquire));
    const std::span<const float> result = reducer_.result(static_cast<int>(g));
    size_t at = 0;
    for (size_t p : groups_[g].params) {
      const std::span<float> grad = params_[p].grad;
      std::copy(result.begin() + static_cast<std::ptrdiff_t>(at),
                result.begin() + static_cast<std::ptrdiff_t>(at + grad.size()), grad.begin());
      at += grad.size();
    }
  }
  if (trace_ != nullptr) add_trace(*trace_, spans, wait_start, wait_end);
  stats_.combining_seconds += union_seconds(std::move(spans));
  stats_.waiting_seconds += static_cast<double>(wait_end - wait_start) / 1e9;
  stats_.batches += 1;
}

}  // namespace rnnwave::train
