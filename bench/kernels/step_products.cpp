// The products of T steps of a bidirectional layer's backward pass, alone in a loop, one
// thread: per step two products A[M, K] B[K, N] with rnnwave's packed kernel, in four
// forms, to see whether the form of the products costs a pass anything:
//   forward packing      B packed as W^T (the forward pass's packing), two calls, beta 0;
//   backward packing     B packed as W (pack_transpose_of, the backward pass's), two calls;
//   accumulate           the second call adds into the first one's C (beta 1);
//   second product       both in one call (SecondProduct), C stored once.
// A and C advance by one step's rows every step, as in a pass over [T, M, K] arrays.
//
//   bench_step_products [--rows M] [--k K] [--n N] [--steps T] [--runs R] [--rounds S]
//
// K = N (square weights, as a recurrent product's): the backward forms multiply by them
// transposed.
// Defaults: M = 64, K = N = 1024, T = 100 (the shape of rnn_tanh bi H1024 N64), 7 runs,
// 2 rounds. Prints one JSON line per round and form: the median and minimum over the runs
// of the T steps' time, and GFLOP/s of the median.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "bench_flags.h"
#include "kernels/packed_gemm.h"

namespace {

using rnnwave::kernels::PackedMatrix;
using rnnwave::kernels::SecondProduct;
using rnnwave::kernels::gemm_packed;

struct Shape {
  int64_t rows = 64, k = 1024, n = 1024, steps = 100, runs = 7, rounds = 2;
};

}  // namespace

int main(int argc, char** argv) {
  Shape s;
  bench::Flags flags("bench_step_products");
  flags.positive("--rows", s.rows).positive("--k", s.k).positive("--n", s.n);
  flags.positive("--steps", s.steps).positive("--runs", s.runs).positive("--rounds", s.rounds);
  if (!flags.parse(argc, argv)) return 2;
  if (s.k != s.n) {  // the backward forms multiply by the transposed weights
    std::fprintf(stderr, "bench_step_products: --k and --n must be equal, got %lld and %lld\n",
                 static_cast<long long>(s.k), static_cast<long long>(s.n));
    return 2;
  }
  const int64_t M = s.rows, K = s.k, N = s.n, T = s.steps;
  std::vector<float> w1(K * N), w2(K * N), a1(T * M * K), a2(T * M * K), c1(T * M * N), c2(T * M * N);
  std::mt19937 random(1);
  std::uniform_real_distribution<float> uniform(-1, 1);
  for (auto* v : {&w1, &w2, &a1, &a2}) {
    for (float& x : *v) x = uniform(random);
  }
  PackedMatrix<float> f1(w1.data(), K, N, K, true), f2(w2.data(), K, N, K, true), b1, b2;
  b1.pack_transpose_of(f1);
  b2.pack_transpose_of(f2);
  const auto a = [&](const std::vector<float>& v, int64_t t) { return v.data() + t * M * K; };
  const auto c = [&](std::vector<float>& v, int64_t t) { return v.data() + t * M * N; };
  const std::pair<const char*, std::function<void(int64_t)>> forms[] = {
      {"forward packing", [&](int64_t t) {
         gemm_packed<float>(M, a(a1, t), K, f1, false, c(c1, t), N);
         gemm_packed<float>(M, a(a1, t), K, f2, false, c(c2, t), N);
       }},
      {"backward packing", [&](int64_t t) {
         gemm_packed<float>(M, a(a1, t), K, b1, false, c(c1, t), N);
         gemm_packed<float>(M, a(a1, t), K, b2, false, c(c2, t), N);
       }},
      {"accumulate", [&](int64_t t) {
         gemm_packed<float>(M, a(a1, t), K, b1, false, c(c1, t), N);
         gemm_packed<float>(M, a(a2, t), K, b2, true, c(c1, t), N);
       }},
      {"second product", [&](int64_t t) {
         gemm_packed<float>(M, a(a1, t), K, b1, SecondProduct<float>{a(a2, t), K, &b2}, false,
                            c(c1, t), N);
       }},
  };
  const double flops = 2.0 * 2 * T * M * K * N;
  for (int64_t round = 1; round <= s.rounds; ++round) {
    for (const auto& [name, step] : forms) {
      std::vector<double> ms;
      for (int64_t r = 0; r < s.runs; ++r) {
        const auto start = std::chrono::steady_clock::now();
        for (int64_t t = 0; t < T; ++t) step(t);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
      }
      const double median = bench::median(ms);
      std::printf("{\"bench\": \"step_products\", \"round\": %lld, \"form\": \"%s\", \"rows\": %lld, "
                  "\"k\": %lld, \"n\": %lld, \"steps\": %lld, \"median_ms\": %.2f, \"min_ms\": %.2f, "
                  "\"gflops\": %.1f}\n",
                  static_cast<long long>(round), name, static_cast<long long>(M),
                  static_cast<long long>(K), static_cast<long long>(N), static_cast<long long>(T),
                  median, *std::min_element(ms.begin(), ms.end()), flops / median / 1e6);
    }
  }
  return 0;
}
