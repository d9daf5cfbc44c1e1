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
#include <string>
#include <vector>

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

int64_t positive(const std::string& flag, const char* value) {
  char* end = nullptr;
  const long long parsed = std::strtoll(value, &end, 10);
  if (end == value || *end != '\0' || parsed < 1) {
    throw rnnwave::Error(flag + " needs a positive integer, got '" + std::string(value).substr(0, 40) +
                         "'");
  }
  return parsed;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
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

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--json") continue;  // the output is JSON anyway (bench/ab_rounds.py adds it)
    if (flag == "--sweeps") { o.sweeps = true; continue; }
    if (flag == "--bidirectional") { o.bidirectional = true; continue; }
    if (flag == "--unidirectional") { o.bidirectional = false; continue; }
    if (i + 1 >= argc) throw rnnwave::Error("unknown flag or missing value: " + flag.substr(0, 40));
    const char* value = argv[++i];
    if (flag == "--huge") o.huge = value;
    else if (flag == "--cell") o.cell = value;
    else if (flag == "--passes") o.passes = positive(flag, value);
    else if (flag == "--threads") o.threads = positive(flag, value);
    else if (flag == "--input-size") o.input = positive(flag, value);
    else if (flag == "--hidden-size") o.hidden = positive(flag, value);
    else if (flag == "--seq-len") o.steps = positive(flag, value);
    else if (flag == "--batch") o.batch = positive(flag, value);
    else throw rnnwave::Error("unknown flag " + flag.substr(0, 40));
  }
  if (o.huge.find_first_not_of("iogx") != std::string::npos) {
    throw rnnwave::Error("--huge takes letters of i, o, g, x; got '" + o.huge.substr(0, 40) + "'");
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
              static_cast<long long>(o.passes), median(forward_ms), median(backward_ms),
              median(pass_ms), json_list(pass_ms).c_str());
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
  try {
    run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_caller_pages: %s\n", e.what());
    return 1;
  }
  return 0;
}
