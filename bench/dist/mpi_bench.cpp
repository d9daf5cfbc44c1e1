// MPI latency and bandwidth on this machine, for the scaling model: one JSON line per
// (test, size) on rank 0's stdout.
//
//   mpirun --oversubscribe --bind-to none -np 2 build/bench_dist_mpi > dist_mpi.jsonl
//
// Tests, each over message sizes from 8 bytes to --max-bytes:
//   pingpong_mpi    blocking MPI_Send/MPI_Recv between ranks 0 and 1; time = half a round trip
//   pingpong_pipe   the same through PipeChannel (non-blocking, moved by the progress thread)
//   allreduce_mpi   MPI_Allreduce (sum of floats) over all ranks: MPI's own, order not fixed
//   reduce_shards   ShardReducer<float>::combine over all ranks, S = K: the deterministic tree
// Each size is repeated until --seconds have passed (at least 5, at most 10000 times);
// the line gives the median and the 10th and 90th percentiles. Timings need a quiet
// machine: every rank needs a core of its own (or the figures measure the scheduler).
#include <mpi.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rnnwave/dist.h"

namespace {

using namespace rnnwave::dist;
using Clock = std::chrono::steady_clock;

struct Flags {
  int64_t max_bytes = 64 << 20;
  double seconds = 0.3;
};

std::string cpu_model() {
  std::ifstream info("/proc/cpuinfo");
  for (std::string line; std::getline(info, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

std::vector<int64_t> sizes(int64_t max_bytes) {
  std::vector<int64_t> out;
  for (int64_t b = 8; b <= max_bytes; b *= 8) out.push_back(b);
  if (out.back() != max_bytes) out.push_back(max_bytes);
  return out;
}

/// Runs `once` until the time budget is spent (rank 0 decides, everyone follows), and
/// returns each repetition's time in microseconds.
template <class F>
std::vector<double> repeat(const Flags& flags, F&& once) {
  std::vector<double> times;
  const auto started = Clock::now();
  while (true) {
    const auto t0 = Clock::now();
    once();
    times.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    int more = times.size() < 5 || (times.size() < 10000 &&
                                    std::chrono::duration<double>(Clock::now() - started).count() < flags.seconds);
    MPI_Bcast(&more, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!more) return times;
  }
}

void report(const World& world, const std::string& test, int64_t bytes, std::vector<double> times, double scale) {
  if (world.rank() != 0) return;
  std::sort(times.begin(), times.end());
  const auto at = [&](double q) { return times[static_cast<size_t>(q * static_cast<double>(times.size() - 1))] * scale; };
  const nlohmann::json line{
      {"bench", "dist_mpi"},
      {"test", test},
      {"ranks", world.size()},
      {"bytes", bytes},
      {"repeats", times.size()},
      {"median_us", at(0.5)},
      {"p10_us", at(0.1)},
      {"p90_us", at(0.9)},
      {"bandwidth_gb_s", static_cast<double>(bytes) / (at(0.5) * 1e3)},
      {"mpi", world.mpi_library()},
      {"machine", {{"cpu", cpu_model()}, {"cores", static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN))}}},
  };
  std::printf("%s\n", line.dump().c_str());
  std::fflush(stdout);
}

void pingpong_mpi(const World& world, const Flags& flags, int64_t bytes) {
  std::vector<char> buffer(static_cast<size_t>(bytes));
  const int n = static_cast<int>(bytes);
  const auto times = repeat(flags, [&] {
    if (world.rank() == 0) {
      MPI_Send(buffer.data(), n, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
      MPI_Recv(buffer.data(), n, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else if (world.rank() == 1) {
      MPI_Recv(buffer.data(), n, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      MPI_Send(buffer.data(), n, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
    }
  });
  report(world, "pingpong_mpi", bytes, times, 0.5);
}

void pingpong_pipe(const World& world, PipeChannel& channel, const Flags& flags, int64_t bytes) {
  std::vector<float> buffer(static_cast<size_t>(bytes / 4));
  const BlockId id{Flow::up, 0, 0, 0};
  const auto times = repeat(flags, [&] {
    Transfer t;
    if (world.rank() == 0) {
      t = channel.send<float>(1, id, std::span<const float>(buffer));
      channel.wait(t);
      t = channel.receive<float>(1, id, std::span<float>(buffer));
      channel.wait(t);
    } else if (world.rank() == 1) {
      t = channel.receive<float>(0, id, std::span<float>(buffer));
      channel.wait(t);
      t = channel.send<float>(0, id, std::span<const float>(buffer));
      channel.wait(t);
    }
  });
  report(world, "pingpong_pipe", bytes / 4 * 4, times, 0.5);
}

void allreduce_mpi(const World& world, const Flags& flags, int64_t bytes) {
  std::vector<float> in(static_cast<size_t>(bytes / 4), 1.0f), out(in.size());
  const auto times = repeat(flags, [&] {
    MPI_Allreduce(in.data(), out.data(), static_cast<int>(in.size()), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  });
  report(world, "allreduce_mpi", bytes / 4 * 4, times, 1.0);
}

void reduce_shards(World& world, const Flags& flags, int64_t bytes) {
  ShardReducer<float> reducer(world, world.size(), {{"bench", bytes / 4}});
  std::fill(reducer.local(0, 0).begin(), reducer.local(0, 0).end(), 1.0f);
  const auto times = repeat(flags, [&] { reducer.combine(0); });
  report(world, "reduce_shards", bytes / 4 * 4, times, 1.0);
}

int run(World& world, const Flags& flags) {
  if (world.size() < 2) throw CollectiveError("run it under mpirun with at least 2 ranks");
  check_same_config(world, std::vector<ConfigItem>{{"flags", std::to_string(flags.max_bytes) + " " + std::to_string(flags.seconds)}});
  PipeChannel channel(world);
  // Raw MPI calls are made from this thread while no transfer of the layer is in flight,
  // so the progress thread is idle and MPI_THREAD_SERIALIZED holds.
  for (const int64_t bytes : sizes(flags.max_bytes)) pingpong_mpi(world, flags, bytes);
  for (const int64_t bytes : sizes(flags.max_bytes)) pingpong_pipe(world, channel, flags, bytes);
  for (const int64_t bytes : sizes(flags.max_bytes)) allreduce_mpi(world, flags, bytes);
  for (const int64_t bytes : sizes(flags.max_bytes)) reduce_shards(world, flags, bytes);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  CLI::App app{"MPI latency and bandwidth, raw and through rnnwave's distributed layer (JSON lines)"};
  app.add_option("--max-bytes", flags.max_bytes, "largest message")->check(CLI::Range(int64_t{8}, int64_t{1} << 30));
  app.add_option("--seconds", flags.seconds, "time per size and test")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  WorldOptions options;
  options.program = "bench_dist_mpi";
  return run_distributed(options, [&](World& world) { return run(world, flags); });
}
