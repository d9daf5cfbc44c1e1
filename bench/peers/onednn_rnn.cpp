// bench_onednn_rnn: the oneDNN peer of `rnnwave bench`. Same flags, same synthetic problem,
// same JSON fields (with "tool": "onednn"), timed the same way: warm-up runs first, then
// each repeat timed alone; inference = forward_inference; training = forward_training +
// backward producing every gradient (input, initial states, weights, biases), no optimizer.
// Built from oneDNN's RNN primitives as described in onednn_stack.h.
#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <vector>

#include "onednn_stack.h"
#include "peer_problem.h"

namespace {

using rnnwave::bench::OnednnStack;
using rnnwave::bench::PeerProblem;

struct Flags {
  std::string cell, mode = "inference", dump, forward_prop = "forward_inference";
  std::string precision = "fp32";
  PeerProblem problem;
  int threads = 0, repeats = 10, warmup = 2;
  uint64_t seed = 1;
  bool json = false;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string cpu_model() {
  std::ifstream info("/proc/cpuinfo");
  for (std::string line; std::getline(info, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : fallback;
}

void run(Flags& flags) {
  PeerProblem& p = flags.problem;
  p.cell = rnnwave::bench::parse_peer_cell(flags.cell);
  p.validate();
  const bool training = flags.mode == "training";
  if (!training && flags.mode != "inference") {
    throw std::invalid_argument("--mode must be inference or training, got '" + flags.mode + "'");
  }
  if (flags.forward_prop != "forward_inference" && flags.forward_prop != "forward_training") {
    throw std::invalid_argument(
        "--forward-prop must be forward_inference or forward_training, got '" +
        flags.forward_prop + "'");
  }
  if (flags.precision != "fp32" && flags.precision != "bf16") {
    throw std::invalid_argument("--precision must be fp32 or bf16, got '" + flags.precision + "'");
  }
  if (training) flags.forward_prop = "forward_training";  // backward needs its workspace
  if (flags.repeats < 1 || flags.warmup < 0) {
    throw std::invalid_argument("--repeats must be >= 1 and --warmup >= 0");
  }
  if (flags.threads < 0 || flags.threads > 1024) {
    throw std::invalid_argument("--threads must be in [0, 1024] (0 = all cores), got " +
                                std::to_string(flags.threads));
  }
  if (!flags.dump.empty() && !std::filesystem::is_directory(flags.dump)) {
    throw std::invalid_argument("--dump: '" + flags.dump + "' is not a directory");
  }
  // oneDNN runs on the OpenMP runtime and sizes its kernels by the thread count when the
  // primitives are created: set it first.
  const int threads = flags.threads > 0 ? flags.threads : omp_get_num_procs();
  omp_set_num_threads(threads);

  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  const auto forward_prop = flags.forward_prop == "forward_training"
                                ? dnnl::prop_kind::forward_training
                                : dnnl::prop_kind::forward_inference;
  OnednnStack stack(p, rnnwave::bench::make_peer_data(p, flags.seed), training, forward_prop,
                    flags.precision == "bf16");

  std::vector<double> times_ms;
  for (int r = 0; r < flags.warmup + flags.repeats; ++r) {
    if (training) stack.zero_grads();  // oneDNN accumulates weight gradients
    const auto start = std::chrono::steady_clock::now();
    stack.forward();
    if (training) stack.backward();
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (r >= flags.warmup) times_ms.push_back(ms);
  }
  if (!flags.dump.empty()) stack.dump(flags.dump);  // the last repeat's results

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto memory = stack.memory_use();
  const double med = median(times_ms);
  const double flops = p.gemm_flops(training);
  const dnnl_version_t* version = dnnl_version();
  nlohmann::json result = {
      {"tool", "onednn"},
      {"cell", rnnwave::bench::to_string(p.cell)},
      {"layers", p.layers},
      {"bidirectional", p.bidirectional},
      {"hidden_size", p.hidden_size},
      {"input_size", p.input_size},
      {"seq_len", p.steps},
      {"batch", p.batch},
      {"mode", flags.mode},
      {"precision", flags.precision},
      {"threads", threads},
      {"schedule", "native"},
      {"repeats", flags.repeats},
      {"warmup", flags.warmup},
      {"median_ms", med},
      {"min_ms", *std::min_element(times_ms.begin(), times_ms.end())},
      {"max_ms", *std::max_element(times_ms.begin(), times_ms.end())},
      {"times_ms", times_ms},
      {"gemm_gflop", flops / 1e9},
      {"gflops", flops / (med * 1e6)},
      {"workspace_bytes", memory.workspace + memory.scratchpad},
      {"weights_bytes", memory.weights},
      {"grad_bytes", memory.grads},
      {"activation_bytes", memory.activations},
      {"peak_rss_bytes", static_cast<int64_t>(usage.ru_maxrss) * 1024},
      {"rss_before_setup_bytes", static_cast<int64_t>(before.ru_maxrss) * 1024},
      {"onednn",
       {{"version", std::to_string(version->major) + "." + std::to_string(version->minor) + "." +
                        std::to_string(version->patch)},
        {"forward_prop", flags.forward_prop},
        {"implementation", stack.implementation()},
        {"primitives", stack.primitive_count()},
        {"workspace_bytes", memory.workspace},
        {"scratchpad_bytes", memory.scratchpad},
        {"weights_reordered_outside_timing", true},
        {"grads_zeroed_outside_timing", training}}},
      {"env", {{"OMP_WAIT_POLICY", env_or("OMP_WAIT_POLICY", "unset")},
               {"OMP_PROC_BIND", env_or("OMP_PROC_BIND", "unset")}}},
      {"machine",
       {{"cpu", cpu_model()}, {"cores", static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN))}}},
  };
  if (flags.json) {
    std::printf("%s\n", result.dump().c_str());
  } else {
    std::printf("onednn %s L=%lld D=%lld I=%lld H=%lld T=%lld N=%lld %s threads=%d: median %.3f ms "
                "(min %.3f, max %.3f), %.1f GFLOP/s\n",
                rnnwave::bench::to_string(p.cell).c_str(), static_cast<long long>(p.layers),
                static_cast<long long>(p.directions()), static_cast<long long>(p.input_size),
                static_cast<long long>(p.hidden_size), static_cast<long long>(p.steps),
                static_cast<long long>(p.batch), flags.mode.c_str(), threads, med,
                result["min_ms"].get<double>(), result["max_ms"].get<double>(),
                result["gflops"].get<double>());
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_onednn_rnn: time oneDNN's RNN primitives on the problem of rnnwave bench"};
  Flags flags;
  app.add_option("--cell", flags.cell, "Cell kind: rnn_tanh, rnn_relu, lstm or gru")->required();
  app.add_option("--input-size", flags.problem.input_size, "Input features per step (I)")
      ->required();
  app.add_option("--hidden-size", flags.problem.hidden_size, "Hidden units per direction (H)")
      ->required();
  app.add_option("--layers", flags.problem.layers, "Stacked layers (L), default 1");
  app.add_flag("--bidirectional", flags.problem.bidirectional, "Two directions per layer (D = 2)");
  app.add_option("--seq-len", flags.problem.steps, "Steps per sequence (T)")->required();
  app.add_option("--batch", flags.problem.batch, "Sequences per batch (N)")->required();
  app.add_option("--mode", flags.mode, "inference (default) or training");
  app.add_option("--precision", flags.precision,
                 "fp32 (default) or bf16: oneDNN's bf16 RNN (weights, layer data and h in bf16; "
                 "inference only; the input is converted outside the timed runs)");
  app.add_option("--threads", flags.threads, "OpenMP threads; 0 (default) = all cores");
  app.add_option("--repeats", flags.repeats, "Timed repetitions (default 10)");
  app.add_option("--warmup", flags.warmup, "Untimed repetitions first (default 2)");
  app.add_option("--seed", flags.seed, "Seed of the synthetic weights and data");
  app.add_flag("--json", flags.json, "Print one JSON object instead of a summary line");
  app.add_option("--forward-prop", flags.forward_prop,
                 "Inference's propagation kind: forward_inference (default) or forward_training "
                 "(oneDNN 2.6 runs other, sometimes faster, kernels for it)");
  app.add_option("--dump", flags.dump,
                 "Existing directory: write inputs, weights, outputs and gradients as .npy "
                 "(PyTorch names) after the timed runs");
  try {
    app.parse(argc, argv);
    run(flags);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "bench_onednn_rnn: error: %s (see --help)\n", e.what());
    return 2;
  } catch (const dnnl::error& e) {
    std::fprintf(stderr, "bench_onednn_rnn: error: oneDNN: %s (status %d)\n", e.what(),
                 static_cast<int>(e.status));
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_onednn_rnn: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
