// The GEMM providers on the products a recurrent cell makes, one thread: OpenBLAS,
// oneDNN's dnnl_sgemm, libxsmm and rnnwave's packed-weight kernel. One JSON line per
// (shape, provider): best and median GFLOP/s over the repetitions.
//
// Shapes are C[M, N] = A[M, K] W^T with W [N, K] (PyTorch's weight layout): the recurrent
// product (M = rows of a sub-batch, N = G*H, K = H), the input projection of a block of
// steps (M = steps*rows), and the backward product into the previous state (K = G*H).
// Run it twice, with and without OPENBLAS_CORETYPE set, to see what that variable costs.
//
// `--only TEXT` keeps the shapes and providers whose names contain TEXT (e.g. "h1024 n64",
// "rnnwave"), for a quick look at one product. `--copies C` gives every provider C copies
// of the weights, used in turn, so that a call finds less of its weights in the caches
// (at H = 1024 each copy is 16 MiB: from two copies on, none is in the L2); one copy, the
// default, stays in the cache from call to call.
//
// `bench_gemm_providers --large P` instead measures one large square product (4096^3) with
// OpenBLAS and dnnl_sgemm on P threads: the machine's practical GEMM speed, the yardstick
// of the training-efficiency target in docs/benchmarks.md. `--peak` measures what one core
// does with fused multiply-adds on registers alone (AVX-512 builds).
#include <cblas.h>
#include <immintrin.h>
#include <libxsmm.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include "kernels/packed_gemm.h"

namespace {

double seconds(const std::chrono::steady_clock::time_point& start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

template <class F>
std::vector<double> time_runs(F&& run, int repeats) {
  run();  // warm-up: first-touch, JIT, packing caches
  std::vector<double> times;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    run();
    times.push_back(seconds(start));
  }
  std::sort(times.begin(), times.end());
  return times;
}

/// The large square product on `threads` threads; one JSON line per provider.
int run_large(int threads) {
  const int n = 4096;
  openblas_set_num_threads(threads);
  omp_set_num_threads(threads);
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> a(size_t(n) * n), b(size_t(n) * n), c(size_t(n) * n);
  for (float& x : a) x = dist(gen);
  for (float& x : b) x = dist(gen);
  const double flop = 2.0 * n * n * n;
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  const struct {
    const char* name;
    std::function<void()> run;
  } providers[] = {
      {"openblas", [&] {
         cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n,
                     b.data(), n, 0.0f, c.data(), n);
       }},
      {"onednn_sgemm", [&] {
         dnnl_sgemm('N', 'N', n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
       }},
  };
  for (const auto& p : providers) {
    const std::vector<double> t = time_runs(p.run, 5);
    std::printf(
        "{\"shape\": \"large square\", \"m\": %d, \"n\": %d, \"k\": %d, \"threads\": %d, "
        "\"provider\": \"%s\", \"openblas_coretype\": \"%s\", \"best_gflops\": %.1f, "
        "\"median_gflops\": %.1f}\n",
        n, n, n, threads, p.name, coretype ? coretype : "", flop / t.front() / 1e9,
        flop / t[t.size() / 2] / 1e9);
  }
  return 0;
}

/// The core's own ceiling, the yardstick of the kernels' rates: 24 independent chains of
/// fused multiply-adds on registers, no memory operand, for about a second on one thread.
int run_peak() {
#ifdef __AVX512F__
  __m512 acc[24];
  for (int i = 0; i < 24; ++i) acc[i] = _mm512_set1_ps(0.001f * i);
  __m512 x = _mm512_set1_ps(0.9999f);
  const __m512 y = _mm512_set1_ps(0.0001f);
  constexpr long kIterations = 200000000;
  const auto start = std::chrono::steady_clock::now();
  for (long k = 0; k < kIterations; ++k) {
#pragma GCC unroll 24
    for (int i = 0; i < 24; ++i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
    __asm__ volatile("" : "+v"(x));  // x unknown to the compiler: no folding of the chains
  }
  const double s = seconds(start);
  float sum = 0, lanes[16];
  for (int i = 0; i < 24; ++i) {
    _mm512_storeu_ps(lanes, acc[i]);
    for (float v : lanes) sum += v;
  }
  std::printf("{\"shape\": \"fma peak\", \"threads\": 1, \"gflops\": %.1f, \"checksum\": %.3f}\n",
              2.0 * 16 * 24 * double(kIterations) / s / 1e9, sum);
  return 0;
#else
  std::fprintf(stderr, "bench_gemm_providers: --peak needs a build for AVX-512\n");
  return 2;
#endif
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--large") == 0) return run_large(std::atoi(argv[2]));
  if (argc == 2 && std::strcmp(argv[1], "--peak") == 0) return run_peak();
  const char* only = nullptr;
  int copies = 1;
  constexpr int kMaxCopies = 64;
  for (int i = 1; i < argc; i += 2) {
    const bool valued = i + 1 < argc;
    if (valued && std::strcmp(argv[i], "--only") == 0) {
      only = argv[i + 1];
    } else if (valued && std::strcmp(argv[i], "--copies") == 0) {
      char* end = nullptr;
      const long value = std::strtol(argv[i + 1], &end, 10);
      if (*argv[i + 1] == '\0' || *end != '\0' || value < 1 || value > kMaxCopies) {
        std::fprintf(stderr,
                     "bench_gemm_providers: --copies must be an integer in [1, %d], got \"%.20s\"\n",
                     kMaxCopies, argv[i + 1]);
        return 2;
      }
      copies = static_cast<int>(value);
    } else {
      std::fprintf(stderr,
                   "usage: bench_gemm_providers [--only TEXT] [--copies C] | --large THREADS | --peak\n");
      return 2;
    }
  }
  const auto kept = [only](const char* shape, const char* provider) {
    return only == nullptr || std::strstr(shape, only) != nullptr || std::strstr(provider, only) != nullptr;
  };
  openblas_set_num_threads(1);
  omp_set_num_threads(1);  // oneDNN runs on the OpenMP threads
  libxsmm_init();
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  struct Shape {
    const char* what;
    int m, n, k;
  };
  const Shape shapes[] = {
      {"recurrent lstm h256 n1", 1, 1024, 256},     {"recurrent lstm h1024 n1", 1, 4096, 1024},
      {"recurrent gru h1024 n1", 1, 3072, 1024},    {"recurrent lstm h256 n8", 8, 1024, 256},
      {"recurrent lstm h256 n32", 32, 1024, 256},   {"recurrent lstm h256 n64", 64, 1024, 256},
      {"recurrent lstm h1024 n64", 64, 4096, 1024}, {"recurrent rnn h256 n64", 64, 256, 256},
      {"projection lstm h256 16x1", 16, 1024, 256}, {"projection lstm h256 4x64", 256, 1024, 256},
      {"projection lstm h1024 4x64", 256, 4096, 1024}, {"backward state lstm h1024 n64", 64, 1024, 4096},
      {"projection lstm h1024 16x64", 1024, 4096, 1024}, {"projection lstm h1024 100x64", 6400, 4096, 1024},
      {"projection lstm h1024 16x1", 16, 4096, 1024}, {"input grad lstm h1024 16x1", 16, 1024, 4096},
  };
  const char* provider_names[] = {"openblas", "onednn_sgemm", "libxsmm", "rnnwave_packed"};
  int measured = 0;
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (const Shape& s : shapes) {
    if (std::none_of(std::begin(provider_names), std::end(provider_names),
                     [&](const char* name) { return kept(s.what, name); })) {
      continue;
    }
    std::vector<float> a(size_t(s.m) * s.k), c(size_t(s.m) * s.n);
    for (float& x : a) x = dist(gen);
    // Every provider takes the copies in turn: each call the one after the last.
    std::vector<std::vector<float>> ws(copies, std::vector<float>(size_t(s.n) * s.k));
    std::vector<rnnwave::kernels::PackedMatrix<float>> packs;
    for (std::vector<float>& w : ws) {
      for (float& x : w) x = dist(gen);
      packs.emplace_back(w.data(), s.k, s.n, s.k, true);
    }
    int turn = 0;
    const auto next = [&] { return turn = (turn + 1) % copies; };
    const double flop = 2.0 * s.m * s.n * s.k;
    const int repeats = std::clamp(static_cast<int>(2e10 / flop), 5, 2000);
    const struct {
      const char* name;
      std::function<void()> run;
    } providers[] = {
        {provider_names[0], [&] {
           cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s.m, s.n, s.k, 1.0f, a.data(), s.k,
                       ws[next()].data(), s.k, 0.0f, c.data(), s.n);
         }},
        {provider_names[1], [&] {
           dnnl_sgemm('N', 'T', s.m, s.n, s.k, 1.0f, a.data(), s.k, ws[next()].data(), s.k, 0.0f,
                      c.data(), s.n);
         }},
        {provider_names[2], [&] {
           // Column-major view: C^T [N, M] = W [N, K] (W^T stored) x A^T [K, M].
           const char ta = 'T', tb = 'N';
           const libxsmm_blasint m = s.n, n = s.m, k = s.k, lda = s.k, ldb = s.k, ldc = s.n;
           const float alpha = 1.0f, beta = 0.0f;
           libxsmm_sgemm(&ta, &tb, &m, &n, &k, &alpha, ws[next()].data(), &lda, a.data(), &ldb,
                         &beta, c.data(), &ldc);
         }},
        {provider_names[3], [&] {
           rnnwave::kernels::gemm_packed<float>(s.m, a.data(), s.k, packs[next()], false, c.data(),
                                                s.n);
         }},
    };
    for (const auto& p : providers) {
      if (!kept(s.what, p.name)) continue;
      ++measured;
      const std::vector<double> t = time_runs(p.run, repeats);
      std::printf(
          "{\"shape\": \"%s\", \"m\": %d, \"n\": %d, \"k\": %d, \"provider\": \"%s\", "
          "\"copies\": %d, \"openblas_coretype\": \"%s\", \"best_gflops\": %.1f, "
          "\"median_gflops\": %.1f}\n",
          s.what, s.m, s.n, s.k, p.name, copies, coretype ? coretype : "", flop / t.front() / 1e9,
          flop / t[t.size() / 2] / 1e9);
    }
  }
  libxsmm_finalize();
  if (measured == 0) {
    std::fprintf(stderr, "bench_gemm_providers: --only \"%.60s\" matches no shape or provider\n", only);
    return 2;
  }
}
