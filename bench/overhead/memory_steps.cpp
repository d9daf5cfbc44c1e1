// Where a training call's memory goes: the process's anonymous and file-backed resident
// memory (RssAnon, RssFile of /proc/self/status) after each step of one training call,
// for a small model where fixed costs show (docs/benchmarks.md, "The fixed few MiB").
//
//   build/bench_memory_steps [threads]
//   RNNWAVE_REFERENCE_KERNELS=1 build/bench_memory_steps    # without oneDNN's sgemm
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "rnnwave/rnn.h"
#include "rnnwave/weights.h"

namespace {

/// "RssAnon 1234 kB  RssFile 5678 kB" of this process now.
std::string resident() {
  std::ifstream status("/proc/self/status");
  std::string out;
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("RssAnon:", 0) == 0 || line.rfind("RssFile:", 0) == 0) {
      const size_t digits = line.find_first_of("0123456789");
      out += line.substr(0, line.find(':')) + " " + line.substr(digits) + "  ";
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace rnnwave;
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int64_t T = 100, N = 1, H = 256;
  std::printf("%-18s %s\n", "start", resident().c_str());
  ModelSpec spec{CellKind::rnn_tanh, H, H, 1};
  const Weights weights = Weights::uniform(spec, 1);
  ExecOptions options;
  options.threads = threads;
  const Rnn rnn(weights, options);
  std::printf("%-18s %s\n", "model", resident().c_str());
  std::vector<float> x(T * N * H, 0.5f), y(T * N * H), dy(T * N * H, 0.1f);
  ForwardArgs<float> forward;
  forward.steps = T;
  forward.batch = N;
  forward.input = x;
  forward.output = y;
  Workspace workspace;
  rnn.forward(forward, workspace);
  std::printf("%-18s %s\n", "training forward", resident().c_str());
  Weights grads(spec);
  BackwardArgs<float> backward;
  backward.grad_output = dy;
  backward.grad_weights = &grads;
  rnn.backward(backward, workspace);
  std::printf("%-18s %s\n", "backward", resident().c_str());
  rnn.forward(forward, workspace);
  rnn.backward(backward, workspace);
  std::printf("%-18s %s\n", "second call", resident().c_str());
}
