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
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

bool positive(const char* flag, const std::string& text, long long& out) {
  char* end = nullptr;
  out = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || out < 1) {
    std::fprintf(stderr, "bench_sgemm_blocks: %s needs positive integers, got '%.40s'\n", flag,
                 text.c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  long long m = 1024, n = 1024, rows = 6400, runs = 5;
  std::vector<long long> blocks{256, 512, 1024, 2048, 3200, 6400};
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i], value = i + 1 < argc ? argv[i + 1] : "";
    bool ok = true;
    if (flag == "--m") ok = positive("--m", value, m);
    else if (flag == "--n") ok = positive("--n", value, n);
    else if (flag == "--rows") ok = positive("--rows", value, rows);
    else if (flag == "--runs") ok = positive("--runs", value, runs);
    else if (flag == "--blocks") {
      blocks.clear();
      std::stringstream list(value);
      for (std::string item; ok && std::getline(list, item, ',');) {
        long long k = 0;
        ok = positive("--blocks", item, k);
        blocks.push_back(k);
      }
      ok = ok && !blocks.empty();
    } else {
      std::fprintf(stderr, "bench_sgemm_blocks: unknown flag %.40s\n", argv[i]);
      return 2;
    }
    if (!ok) return 2;
  }
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
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2];
    std::printf("{\"bench\": \"sgemm_blocks\", \"m\": %lld, \"n\": %lld, \"rows\": %lld, \"block\": %lld, "
                "\"median_ms\": %.2f, \"gflops\": %.1f}\n",
                m, n, rows, k, median, 2.0 * m * n * rows / median / 1e6);
  }
  return 0;
}
