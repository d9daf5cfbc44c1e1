// The cost of packing a weight for the kernels, in the two forms a training step makes:
//   forward     W [rows, cols] packed as W^T in groups (the gates), from the caller's W:
//               set_weights does it for every weight, so a training loop pays it per step;
//   backward    that packing transposed (pack_transpose_of): the panels the backward
//               products read, made from the forward ones on the step's first backward.
//
//   bench_packing [--rows R] [--cols C] [--groups G] [--threads P] [--runs N] [--rounds S]
//
// Defaults: R = 4096, C = 1024, G = 4 (an LSTM's W_hh at H = 1024), one thread (packings of
// 4 MiB and more use the OpenMP threads they are given), 9 runs, 2 rounds. Prints one JSON
// line per round and form: the median and minimum time of one packing, and the GB/s of
// the median counting the bytes read and written once each.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <utility>
#include <vector>

#include "bench_flags.h"
#include "kernels/packed_gemm.h"

namespace {

using rnnwave::kernels::PackedMatrix;

struct Shape {
  int64_t rows = 4096, cols = 1024, groups = 4, threads = 1, runs = 9, rounds = 2;
};

}  // namespace

int main(int argc, char** argv) {
  Shape s;
  bench::Flags flags("bench_packing");
  flags.positive("--rows", s.rows).positive("--cols", s.cols).positive("--groups", s.groups);
  flags.positive("--threads", s.threads).positive("--runs", s.runs).positive("--rounds", s.rounds);
  if (!flags.parse(argc, argv)) return 2;
  if (s.rows % s.groups != 0) {
    std::fprintf(stderr, "bench_packing: --rows (%lld) must be a multiple of --groups (%lld)\n",
                 static_cast<long long>(s.rows), static_cast<long long>(s.groups));
    return 2;
  }
  omp_set_num_threads(static_cast<int>(s.threads));
  std::vector<float> w(static_cast<size_t>(s.rows * s.cols));
  std::mt19937 random(1);
  std::uniform_real_distribution<float> uniform(-1, 1);
  for (float& x : w) x = uniform(random);
  PackedMatrix<float> forward, backward;
  forward.pack(w.data(), s.cols, s.rows, s.cols, true, s.groups);
  backward.pack_transpose_of(forward);  // both allocated and touched before any timing
  const std::pair<const char*, std::function<void()>> forms[] = {
      {"forward", [&] { forward.pack(w.data(), s.cols, s.rows, s.cols, true, s.groups); }},
      {"backward", [&] { backward.pack_transpose_of(forward); }},
  };
  const double bytes = 2.0 * sizeof(float) * static_cast<double>(s.rows * s.cols);
  for (int64_t round = 1; round <= s.rounds; ++round) {
    for (const auto& [name, pack] : forms) {
      std::vector<double> ms;
      for (int64_t r = 0; r < s.runs; ++r) {
        const auto start = std::chrono::steady_clock::now();
        pack();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
      }
      const double median = bench::median(ms);
      std::printf("{\"bench\": \"packing\", \"round\": %lld, \"form\": \"%s\", \"rows\": %lld, "
                  "\"cols\": %lld, \"groups\": %lld, \"threads\": %lld, \"median_ms\": %.3f, "
                  "\"min_ms\": %.3f, \"gb_per_s\": %.1f}\n",
                  static_cast<long long>(round), name, static_cast<long long>(s.rows),
                  static_cast<long long>(s.cols), static_cast<long long>(s.groups),
                  static_cast<long long>(s.threads), median, *std::min_element(ms.begin(), ms.end()),
                  bytes / median / 1e6);
    }
  }
  return 0;
}
