// A user's program on the engine alone (rnnwave::rnnwave_engine, or pkg-config): weights
// from PyTorch's initialisation, a forward pass, and a check that it computed something.
// tests/install/install_test.py builds it against an installed rnnwave; it must link
// without the io, data, dist or train libraries (no zip, audio or JSON library).
#include <cmath>
#include <cstdio>
#include <vector>

#include "rnnwave/error.h"
#include "rnnwave/model.h"
#include "rnnwave/rnn.h"
#include "rnnwave/weights.h"

int main() {
  using namespace rnnwave;
  try {
    const ModelSpec spec{CellKind::gru, /*input_size=*/4, /*hidden_size=*/6, /*layers=*/2,
                         /*bidirectional=*/false};
    const Weights weights = Weights::uniform(spec, 7);
    Rnn rnn(weights, ExecOptions{Schedule::wavefront, /*threads=*/2});
    const int64_t T = 3, N = 2;
    std::vector<float> input(T * N * spec.input_size);  // [T, N, I]
    for (size_t i = 0; i < input.size(); ++i) input[i] = std::sin(0.1f * static_cast<float>(i));
    std::vector<float> output(T * N * spec.hidden_size);  // [T, N, H]
    ForwardArgs<float> args;
    args.steps = T;
    args.batch = N;
    args.input = input;
    args.output = output;
    rnn.forward(args);
    double norm = 0;
    for (float y : output) norm += static_cast<double>(y) * y;
    if (!(norm > 0) || !std::isfinite(norm)) {
      std::fprintf(stderr, "engine_only: output norm %g, expected a positive finite value\n", norm);
      return 1;
    }
    std::printf("engine_only: output [%lld, %lld, %lld], squared norm %.6f\n",
                static_cast<long long>(T), static_cast<long long>(N),
                static_cast<long long>(spec.hidden_size), norm);
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "engine_only: %s\n", e.what());
    return 1;
  }
}
