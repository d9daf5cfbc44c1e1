// The caller's arrays on 4 KiB or 2 MiB pages: training passes (forward, then backward
// with every gradient) whose four caller arrays (input, output, grad_output, grad_input)
// each start on a 2 MiB boundary and are, or are not, advised MADV_HUGEPAGE, so that the
// page size is the only difference between the runs, not the alignment. The library keeps
// its own workspace and weights on huge pages (rnnwave/huge_pages.h); what this measures
// is what the caller's pages cost a pass.
//
//   bench_caller_pages [--huge LETTERS] [--sweeps] [--passes R] [--threads P]
//                      [--cell CELL] [--input-size I] [--hidden-size H] [--bidirectional]
//                      [--seq-len T] [--batch N]
//
// --huge names the arrays to advise, any of i (input), o (output), g (grad_output) and
// x (grad_input); none by default. The default problem is the one-thread loss this was
// written for: rnn_tanh, I = H = 1024, bidirectional, T = 100, N = 64, one thread.
// --sweeps also times one check_finite sweep of grad_output (what Rnn::backward does
// first) at three moments of every pass: right after the previous pass's backward, right
// after this pass's forward, and again at once; those sweeps touch grad_output between
// the passes, so the pass times of a run with --sweeps are not those of one without.
//
// Prints one JSON line: the medians over R passes after one untimed pass, and with
// --sweeps every sweep's time. Under transparent_hugepage=never (or always) the advice
// changes nothing; the JSON records the kernel's setting.
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench_flags.h"
#include "rnnwave/rnnwave.h"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct FreeAligned {
  void operator()(float* p) const noexcept { std::free(p); }
};
using Array = std::unique_ptr<float[], FreeAligned>;

// `count` floats filled with `value`, on a 2 MiB boundary, advised huge pages or not.
Array caller_array(int64_t count, bool huge, float value) {
  const size_t page = size_t{2} << 20;
  const size_t bytes = (static_cast<size_t>(count) * sizeof(float) + page - 1) / page * page;
  Array array(static_cast<float*>(std::aligned_alloc(page, bytes)));
  if (!array) throw std::bad_alloc();
  if (huge && madvise(array.get(), bytes, MADV_HUGEPAGE) != 0) {
    throw rnnwave::Error("madvise(MADV_HUGEPAGE) failed: is transparent_hugepage compiled in?");
  }
  std::fill_n(array.get(), count, value);
  return array;
}

std::string kernel_thp_setting() {
  std::ifstream file("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  std::getline(file, line);
  const size_t open = line.find('['), close = line.find(']');
  return open < close && close != std::string::npos ? line.substr(open + 1, close - open - 1)
                                                     : "unknown";
}

std::string json_list(const std::vector<double>& values) {
  std::string text = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    char number[32];
    std::snprintf(number, sizeof number, "%s%.2f", i ? ", " : "", values[i]);
    text += number;
  }
  return text + "]";
}

struct Options {
  std::string huge, cell = "rnn_tanh";
  bool sweeps = false, bidirectional = true;
  int64_t passes = 5, threads = 1, input = 1024, hidden = 1024, steps = 100, batch = 64;
};

/// The options of the command line; nullopt after bench::Flags has said what is wrong.
std::optional<Options> parse(int argc, char** argv) {
  Options o;
  bool json = false;  // the output is JSON anyway (bench/ab_rounds.py adds --json)
  bench::Flags flags("bench_caller_pages");
  flags.toggle("--json", json).toggle("--sweeps", o.sweeps);
  flags.toggle("--bidirectional", o.bidirectional).toggle("--unidirectional", o.bidirectional, false);
  flags.text("--huge", o.huge).text("--cell", o.cell);
  flags.positive("--passes", o.passes).positive("--threads", o.threads);
  flags.positive("--input-size", o.input).positive("--hidden-size", o.hidden);
  flags.positive("--seq-len", o.steps).positive("--batch", o.batch);
  if (!flags.parse(argc, argv)) return std::nullopt;
  if (o.huge.find_first_not_of("iogx") != std::string::npos) {
    std::fprintf(stderr, "bench_caller_pages: --huge takes letters of i, o, g, x; got '%s'\n",
                 bench::shown(o.huge).c_str());
    return std::nullopt;
  }
  return o;
}

void run(const Options& o) {
  using namespace rnnwave;
  const auto huge = [&](char array) { return o.huge.find(array) != std::string::npos; };
  const ModelSpec spec{parse_cell_kind(o.cell), o.input, o.hidden, 1, o.bidirectional};
  const Rnn rnn(Weights::uniform(spec, 1), ExecOptions{Schedule::wavefront, static_cast<int>(o.threads)});
  const int64_t in_count = o.steps * o.batch * o.input;
  const int64_t out_count = o.steps * o.batch * spec.directions() * o.hidden;
  const Array input = caller_array(in_count, huge('i'), 0.1f), output = caller_array(out_count, huge('o'), 0);
  const Array grad_output = caller_array(out_count, huge('g'), 0.01f);
  const Array grad_input = caller_array(in_count, huge('x'), 0);
  Weights grads(spec);
  Workspace workspace;
  ForwardArgs<float> forward;
  forward.steps = o.steps;
  forward.batch = o.batch;
  forward.input = {input.get(), static_cast<size_t>(in_count)};
  forward.output = {output.get(), static_cast<size_t>(out_count)};
  BackwardArgs<float> backward;
  backward.grad_output = {grad_output.get(), static_cast<size_t>(out_count)};
  backward.grad_input = {grad_input.get(), static_cast<size_t>(in_count)};
  backward.grad_weights = &grads;
  const std::vector<int64_t> out_shape{o.steps, o.batch, spec.directions() * o.hidden};
  const auto sweep = [&] {
    const auto start = Clock::now();
    check_finite<float>(backward.grad_output, out_shape, "grad_output");
    return ms_since(start);
  };

  std::vector<double> forward_ms, backward_ms, pass_ms, after_backward, after_forward, repeated;
  for (int64_t pass = 0; pass <= o.passes; ++pass) {  // pass 0 is untimed
    if (o.sweeps && pass > 0) after_backward.push_back(sweep());
    const auto start = Clock::now();
    rnn.forward(forward, workspace);
    const double f = ms_since(start);
    if (o.sweeps && pass > 0) {
      after_forward.push_back(sweep());
      repeated.push_back(sweep());
    }
    const auto back_start = Clock::now();
    rnn.backward(backward, workspace);
    const double b = ms_since(back_start);
    if (pass == 0) continue;
    forward_ms.push_back(f);
    backward_ms.push_back(b);
    pass_ms.push_back(f + b);
  }
  std::printf("{\"bench\": \"caller_pages\", \"model\": \"%s\", \"steps\": %lld, \"batch\": %lld, "
              "\"threads\": %lld, \"huge\": \"%s\", \"thp\": \"%s\", \"passes\": %lld, "
              "\"forward_median_ms\": %.2f, \"backward_median_ms\": %.2f, \"median_ms\": %.2f, "
              "\"times_ms\": %s",
              describe(spec).c_str(), static_cast<long long>(o.steps), static_cast<long long>(o.batch),
              static_cast<long long>(o.threads), o.huge.c_str(), kernel_thp_setting().c_str(),
              static_cast<long long>(o.passes), bench::median(forward_ms), bench::median(backward_ms),
              bench::median(pass_ms), json_list(pass_ms).c_str());
  if (o.sweeps) {
    std::printf(", \"sweep_after_backward_ms\": %s, \"sweep_after_forward_ms\": %s, "
                "\"sweep_repeated_ms\": %s",
                json_list(after_backward).c_str(), json_list(after_forward).c_str(),
                json_list(repeated).c_str());
  }
  std::printf("}\n");
}

}  // namespace

int main(int argc, char** argv) {
  const std::optional<Options> options = parse(argc, argv);
  if (!options) return 2;
  try {
    run(*options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_caller_pages: %s\n", e.what());
    return 1;
  }
  return 0;
}
