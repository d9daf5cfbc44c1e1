// The distributed layer under a real MPI launcher: run by tests/dist/mpi_cases.py as
//   mpirun -np K dist_mpi_check <case> [--timeout S] [--max-message BYTES]
// Each case ends with status 0 and "ok ..." on rank 0's stdout, or fails the job through
// run_distributed (one line on stderr, every rank non-zero). The failure cases (throw,
// hang, die, handshake-mismatch, pipe-size-mismatch) fail on purpose; the driver checks how.
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "rnnwave/dist.h"
#include "rnnwave/error.h"
#include "rnnwave/random.h"

namespace {

using namespace rnnwave::dist;
using rnnwave::Error;

struct Args {
  std::string name;
  double timeout = 20;
  long long max_message = 1 << 30;
};

/// A value with a random sign and an exponent in [-20, 20], so that the order of the
/// additions shows in the bits.
template <class T>
T value(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  const uint64_t h = rnnwave::counter_bits(rnnwave::counter_key(a, b, c) ^ d, 0);
  const double mantissa = 1.0 + static_cast<double>(h >> 12) / 4503599627370496.0;
  const int exponent = static_cast<int>(h % 41) - 20;
  return static_cast<T>(std::ldexp((h & 2048) ? -mantissa : mantissa, exponent));
}

template <class T>
void fill_shard(std::span<T> out, uint64_t batch, uint64_t bucket, uint64_t shard) {
  for (size_t k = 0; k < out.size(); ++k) out[k] = value<T>(batch, bucket, shard, k);
}

/// The single-process computation: tree_sum over all S shards.
template <class T>
std::vector<T> reference(int64_t shards, int64_t n, uint64_t batch, uint64_t bucket) {
  std::vector<std::vector<T>> values(static_cast<size_t>(shards), std::vector<T>(static_cast<size_t>(n)));
  std::vector<std::span<T>> spans;
  for (int64_t s = 0; s < shards; ++s) {
    fill_shard<T>(values[s], batch, bucket, static_cast<uint64_t>(s));
    spans.emplace_back(values[s]);
  }
  std::vector<T> out(static_cast<size_t>(n));
  tree_sum<T>(spans, out);
  return out;
}

void handshake(World& world, const std::string& flags) {
  const std::vector<ConfigItem> items{{"flags", flags}, {"build", "test build"}, {"data order", "0123abcd"}};
  check_same_config(world, items);
}

/// Some arithmetic between start and wait, so that the buckets travel while this rank
/// computes, as the backward pass of lower layers will.
double compute_a_little(int rounds) {
  double x = 1;
  for (int i = 0; i < rounds * 10000; ++i) x = std::sqrt(x + i);
  return x;
}

template <class T>
int check_reduce(World& world, int64_t shards, const std::vector<int64_t>& sizes) {
  std::vector<typename ShardReducer<T>::Bucket> buckets;
  for (size_t b = 0; b < sizes.size(); ++b) buckets.push_back({"bucket " + std::to_string(b), sizes[b]});
  ShardReducer<T> reducer(world, shards, buckets);
  const int count = reducer.bucket_count();
  volatile double sink = 0;
  for (uint64_t batch = 0; batch < 3; ++batch) {
    for (int b = 0; b < count; ++b) {
      for (int64_t i = 0; i < reducer.plan().local_shards(); ++i) {
        fill_shard<T>(reducer.local(b, i), batch, b, static_cast<uint64_t>(reducer.plan().first_shard() + i));
      }
    }
    // Ranks start the buckets in different orders (rotated by rank), as the task graph
    // may finish layers in different orders on different ranks.
    std::atomic<int> done{0};
    for (int j = 0; j < count; ++j) {
      const int b = (j + world.rank()) % count;
      reducer.start(b, [&done] { ++done; });
      sink = sink + compute_a_little(1);
      reducer.test((b + 1) % count);
    }
    reducer.wait_all();
    if (done != count) throw Error("on_done ran " + std::to_string(done.load()) + " times for " + std::to_string(count) + " buckets");
    for (int b = 0; b < count; ++b) {
      const std::vector<T> want = reference<T>(shards, sizes[b], batch, b);
      const auto got = reducer.result(b);
      if (!want.empty() && std::memcmp(got.data(), want.data(), want.size() * sizeof(T)) != 0) {
        size_t k = 0;
        while (std::memcmp(&got[k], &want[k], sizeof(T)) == 0) ++k;
        throw Error("S=" + std::to_string(shards) + " bucket " + std::to_string(b) + " batch " +
                    std::to_string(batch) + ": element " + std::to_string(k) + " is " + std::to_string(got[k]) +
                    ", the single-process tree_sum gives " + std::to_string(want[k]));
      }
    }
  }
  return count;
}

int run_reduce(World& world) {
  handshake(world, "--lr 0.1");
  const int K = world.size();
  // Bucket sizes: empty, fewer values than ranks, uneven chunks, several messages each
  // when --max-message is small.
  const std::vector<int64_t> sizes{0, 1, K > 1 ? K - 1 : 2, 1000, 4099};
  int checked = 0;
  std::string list;
  for (const int64_t shards : {1, 2, 3, 4, 6, 8, 12, 16, 24}) {
    if (shards % K != 0) continue;
    checked += check_reduce<float>(world, shards, sizes);
    checked += check_reduce<double>(world, shards, sizes);
    list.append(list.empty() ? "" : " ").append(std::to_string(shards));
  }
  if (world.rank() == 0) {
    std::printf("ok reduce ranks=%d shards=[%s] buckets=%d bit-identical to tree_sum\n", K, list.c_str(), checked);
  }
  return 0;
}

/// The pipeline: rank r is "layer r". Forward, layer r's output block b (of split s) is
/// f_r(its input block); backward, the gradient flows down through g_r. Every block's
/// expected contents are known to every rank, so each receive is checked exactly.
float forward_value(int layer, int block, int split, int batch, size_t k) {
  float x = value<float>(batch, block, split, k);
  for (int l = 0; l <= layer; ++l) x = x * 0.5f + static_cast<float>(l);
  return x;
}

float backward_value(int layer, int block, int split, int batch, size_t k, int top) {
  float x = value<float>(batch + 100, block, split, k);
  for (int l = top; l >= layer; --l) x = x * 0.25f - static_cast<float>(l);
  return x;
}

size_t block_size(int block) { return 64 + 37 * static_cast<size_t>(block); }

void expect_block(const std::vector<float>& got, int layer, int block, int split, int batch, bool up, int top) {
  for (size_t k = 0; k < got.size(); ++k) {
    const float want = up ? forward_value(layer, block, split, batch, k) : backward_value(layer, block, split, batch, k, top);
    if (std::memcmp(&got[k], &want, sizeof(float)) != 0) {
      throw Error(std::string(up ? "forward" : "backward") + " block " + std::to_string(block) + " of layer " +
                  std::to_string(layer) + " batch " + std::to_string(batch) + ": element " + std::to_string(k) +
                  " differs");
    }
  }
}

int run_pipe(World& world) {
  handshake(world, "--pipeline");
  PipeChannel channel(world);
  const int r = world.rank();
  const int top = world.size() - 1;
  const int blocks = 6;
  const int splits = 2;
  const int batches = 2;
  using Key = std::tuple<int, int, int>;  // batch, block, split
  std::map<Key, std::vector<float>> up_in, up_out, down_in, down_out;
  std::map<Key, Transfer> receives, sends;
  // All receives are posted first, the last block first: blocks match by tag, and the same
  // block of two batches matches in order.
  for (int batch = 0; batch < batches; ++batch) {
    for (int b = blocks - 1; b >= 0; --b) {
      for (int s = 0; s < splits; ++s) {
        const Key key{batch, b, s};
        if (r > 0) {
          up_in[key].resize(block_size(b));
          receives[key] = channel.receive<float>(r - 1, {Flow::up, r - 1, b, s}, std::span<float>(up_in[key]));
        }
      }
    }
  }
  for (int batch = 0; batch < batches; ++batch) {
    for (int b = 0; b < blocks; ++b) {
      for (int s = 0; s < splits; ++s) {
        const Key key{batch, b, s};
        if (r > 0) {
          channel.wait(receives[key]);
          expect_block(up_in[key], r - 1, b, s, batch, true, top);
        }
        if (r < top) {
          auto& out = up_out[key];
          out.resize(block_size(b));
          for (size_t k = 0; k < out.size(); ++k) out[k] = forward_value(r, b, s, batch, k);
          sends[key] = channel.send<float>(r + 1, {Flow::up, r, b, s}, std::span<const float>(out));
        }
      }
    }
  }
  // Backward: the gradient of layer r's output comes down from rank r+1, the last block
  // first; each rank passes its own on once it has received the one from above.
  for (int batch = 0; batch < batches; ++batch) {
    for (int b = blocks - 1; b >= 0; --b) {
      for (int s = 0; s < splits; ++s) {
        const Key key{batch, b, s};
        if (r < top) {
          auto& in = down_in[key];
          in.resize(block_size(b));
          Transfer t = channel.receive<float>(r + 1, {Flow::down, r, b, s}, std::span<float>(in));
          channel.wait(t);
          expect_block(in, r, b, s, batch, false, top);
        }
        if (r > 0) {
          auto& out = down_out[key];
          out.resize(block_size(b));
          for (size_t k = 0; k < out.size(); ++k) out[k] = backward_value(r - 1, b, s, batch, k, top);
          sends[{batch + batches, b, s}] = channel.send<float>(r - 1, {Flow::down, r - 1, b, s}, std::span<const float>(out));
        }
      }
    }
  }
  for (auto& [key, t] : sends) channel.wait(t);
  world.barrier("finishing the pipeline test");
  if (r == 0) std::printf("ok pipe ranks=%d blocks=%d splits=%d batches=%d\n", world.size(), blocks, splits, batches);
  return 0;
}

int run_pipe_size_mismatch(World& world) {
  PipeChannel channel(world);
  std::vector<float> data(world.rank() == 0 ? 10 : 12, 1.0f);
  if (world.rank() == 0) {
    Transfer t = channel.send<float>(1, {Flow::up, 0, 0, 0}, std::span<const float>(data));
    channel.wait(t);
  } else if (world.rank() == 1) {
    Transfer t = channel.receive<float>(0, {Flow::up, 0, 0, 0}, std::span<float>(data));
    channel.wait(t);
  }
  world.barrier("after the mismatched block");
  return 0;
}

/// Every rank starts a bucket; rank 1 then fails. The others must not wait for it.
int run_throw(World& world) {
  handshake(world, "--lr 0.1");
  ShardReducer<float> reducer(world, world.size(), {{"layer 0", 1000}});
  reducer.local(0, 0)[0] = 1;
  reducer.start(0);
  if (world.rank() == 1) throw Error("injected failure on rank 1");
  reducer.wait(0);
  return 0;
}

/// Every rank starts a bucket; rank 1 then dies without a word (as a crash would). The
/// launcher, or else the others' deadlines, must end the job.
int run_die(World& world) {
  handshake(world, "--lr 0.1");
  ShardReducer<float> reducer(world, world.size(), {{"layer 0", 1000}});
  reducer.start(0);
  if (world.rank() == 1) std::_Exit(3);
  reducer.wait(0);
  return 0;
}

/// Rank 1 stops answering before it starts its bucket; rank 0's deadline for the bucket
/// (1.5 s) ends the job. The handshake keeps the world's deadline: on a loaded machine
/// rank 1 may start seconds after rank 0.
int run_hang(World& world) {
  handshake(world, "--lr 0.1");
  ShardReducer<float> reducer(world, world.size(), {{"layer 0", 1000}});
  if (world.rank() == 1) std::this_thread::sleep_for(std::chrono::seconds(120));
  reducer.start(0, {}, Seconds(1.5));
  reducer.wait(0);
  return 0;
}

/// The last rank was started with other flags.
int run_handshake_mismatch(World& world) {
  handshake(world, world.rank() == world.size() - 1 ? "--lr 0.2" : "--lr 0.1");
  return 0;
}

int run_case(World& world, const Args& args) {
  if (args.name == "reduce") return run_reduce(world);
  if (args.name == "pipe") return run_pipe(world);
  if (args.name == "pipe-size-mismatch") return run_pipe_size_mismatch(world);
  if (args.name == "throw") return run_throw(world);
  if (args.name == "hang") return run_hang(world);
  if (args.name == "die") return run_die(world);
  if (args.name == "handshake-mismatch") return run_handshake_mismatch(world);
  if (args.name == "world") {
    if (world.rank() == 0) std::printf("ok world ranks=%d mpi=%d\n", world.size(), world.uses_mpi() ? 1 : 0);
    return 0;
  }
  throw CollectiveError("unknown case '" + args.name + "'");
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--timeout" && i + 1 < argc) {
      args.timeout = std::stod(argv[++i]);
    } else if (arg == "--max-message" && i + 1 < argc) {
      args.max_message = std::stoll(argv[++i]);
    } else {
      args.name = arg;
    }
  }
  WorldOptions options;
  options.program = "dist_mpi_check";
  options.timeout = Seconds(args.timeout);
  options.max_message_bytes = args.max_message;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  return run_distributed(options, [&](World& world) { return run_case(world, args); });
}
