// oneDNN's dnnl_sgemm on a weight gradient computed in blocks of rows: dW[M, N] =
// sum over the blocks of dY_b^T X_b, where dY [R, M] and X [R, N] hold the R = T N rows of
// a pass and a block is K of them (the last one shorter). Whether the block size the
// engine sums its weight gradients in is a lever: if sgemm's rate does not depend on K,
// it is not. sgemm runs on every core unless OMP_NUM_THREADS says otherwise: set
// OMP_NUM_THREADS=1 to compare with the engine's one-thread passes.
//
//   bench_sgemm_blocks [--m M] [--n N] [--rows R] [--runs S] [--blocks K1,K2,...]
//
// Defaults: M = N = 1024, R = 6400 (T = 100 steps of N = 64), 5 runs, blocks
// 256,512,1024,2048,3200,6400. Prints one JSON line per block size: the median over the
// runs and GFLOP/s of it.
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "bench_flags.h"

int main(int argc, char** argv) {
  long long m = 1024, n = 1024, rows = 6400, runs = 5;
  std::vector<long long> blocks{256, 512, 1024, 2048, 3200, 6400};
  bench::Flags flags("bench_sgemm_blocks");
  flags.positive("--m", m).positive("--n", n).positive("--rows", rows).positive("--runs", runs);
  flags.positives("--blocks", blocks);
  if (!flags.parse(argc, argv)) return 2;
  std::vector<float> dy(rows * m), x(rows * n), dw(m * n);
  std::mt19937 random(1);
  std::uniform_real_distribution<float> uniform(-1, 1);
  for (float& v : dy) v = uniform(random);
  for (float& v : x) v = uniform(random);
  for (const long long k : blocks) {
    std::vector<double> ms;
    for (long long r = 0; r < runs; ++r) {
      const auto start = std::chrono::steady_clock::now();
      for (long long k0 = 0; k0 < rows; k0 += k) {
        const long long kk = std::min(k, rows - k0);
        dnnl_sgemm('T', 'N', m, n, kk, 1.f, dy.data() + k0 * m, m, x.data() + k0 * n, n,
                   k0 ? 1.f : 0.f, dw.data(), n);
      }
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    const double median = bench::median(ms);
    std::printf("{\"bench\": \"sgemm_blocks\", \"m\": %lld, \"n\": %lld, \"rows\": %lld, \"block\": %lld, "
                "\"median_ms\": %.2f, \"gflops\": %.1f}\n",
                m, n, rows, k, median, 2.0 * m * n * rows / median / 1e6);
  }
  return 0;
}
