// The fixed cost of one call: a tiny model (default LSTM, I = H = 8, one layer) on one
// step of one sequence, where the arithmetic is negligible and what is measured is the
// engine's own work per call (validation, planning, graph, workspace, boundaries).
//
//   bench_call_overhead [--mode inference|training] [--calls C] [--rounds R]
//                       [--cell CELL] [--hidden-size H] [--steps T] [--batch N]
//                       [--threads P] [--schedule NAME]
//
// Prints one JSON line: the minimum over R rounds of the mean time per call of C calls
// (min-of-many: on a shared machine the minimum is the least disturbed run). Under
// `valgrind --tool=callgrind` the instruction count per call is the difference of two
// runs with different --calls, divided by the difference of calls.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "rnnwave/rnnwave.h"

int main(int argc, char** argv) {
  using namespace rnnwave;
  std::string mode = "inference", cell = "lstm", schedule = "wavefront";
  int64_t calls = 2000, rounds = 20, hidden = 8, steps = 1, batch = 1;
  int threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--mode") mode = value;
    else if (flag == "--calls") calls = std::atoll(value);
    else if (flag == "--rounds") rounds = std::atoll(value);
    else if (flag == "--cell") cell = value;
    else if (flag == "--hidden-size") hidden = std::atoll(value);
    else if (flag == "--steps") steps = std::atoll(value);
    else if (flag == "--batch") batch = std::atoll(value);
    else if (flag == "--threads") threads = std::atoi(value);
    else if (flag == "--schedule") schedule = value;
    else {
      std::fprintf(stderr, "bench_call_overhead: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  const bool training = mode == "training";
  try {
    const ModelSpec spec{parse_cell_kind(cell), hidden, hidden, 1, false};
    const Rnn rnn(Weights::uniform(spec, 1), ExecOptions{parse_schedule(schedule), threads});
    const int64_t out = steps * batch * spec.directions() * hidden;
    std::vector<float> input(static_cast<size_t>(steps * batch * hidden), 0.5f);
    std::vector<float> output(static_cast<size_t>(out)), grad_output(static_cast<size_t>(out), 0.1f);
    std::vector<float> grad_input(input.size());
    Weights grads(spec);
    Workspace workspace;
    ForwardArgs<float> args;
    args.steps = steps;
    args.batch = batch;
    args.input = input;
    args.output = output;
    BackwardArgs<float> back;
    back.grad_output = grad_output;
    back.grad_input = grad_input;
    back.grad_weights = &grads;
    double best_us = 1e300;
    for (int64_t r = 0; r < rounds; ++r) {
      const auto start = std::chrono::steady_clock::now();
      for (int64_t c = 0; c < calls; ++c) {
        if (training) {
          rnn.forward(args, workspace);
          rnn.backward(back, workspace);
        } else {
          rnn.forward(args);
        }
      }
      const double us =
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
      best_us = std::min(best_us, us / static_cast<double>(std::max<int64_t>(calls, 1)));
    }
    std::printf("{\"bench\": \"call_overhead\", \"mode\": \"%s\", \"model\": \"%s\", \"steps\": %lld, "
                "\"batch\": %lld, \"threads\": %d, \"schedule\": \"%s\", \"calls\": %lld, "
                "\"rounds\": %lld, \"min_us_per_call\": %.3f}\n",
                mode.c_str(), describe(spec).c_str(), static_cast<long long>(steps),
                static_cast<long long>(batch), threads, schedule.c_str(),
                static_cast<long long>(calls), static_cast<long long>(rounds), best_us);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_call_overhead: %s\n", e.what());
    return 1;
  }
  return 0;
}
