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
#include <string>
#include <vector>

#include "bench_flags.h"
#include "rnnwave/rnnwave.h"

int main(int argc, char** argv) {
  using namespace rnnwave;
  std::string mode = "inference", cell = "lstm", schedule = "wavefront";
  int64_t calls = 2000, rounds = 20, hidden = 8, steps = 1, batch = 1;
  int threads = 1;
  bench::Flags flags("bench_call_overhead");
  flags.text("--mode", mode).text("--cell", cell).text("--schedule", schedule);
  flags.positive("--calls", calls).positive("--rounds", rounds).positive("--hidden-size", hidden);
  flags.positive("--steps", steps).positive("--batch", batch).positive("--threads", threads);
  if (!flags.parse(argc, argv)) return 2;
  if (mode != "inference" && mode != "training") {
    std::fprintf(stderr, "bench_call_overhead: --mode is inference or training, got '%s'\n",
                 bench::shown(mode).c_str());
    return 2;
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
