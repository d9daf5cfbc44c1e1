// rnnwave bench: times forward (inference) or forward + backward with every gradient
// (training) on synthetic data, and prints one JSON object (--json) or a summary line.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <nlohmann/json.hpp>

#include "rnnwave/random.h"
#include "tools/commands.h"
#include "tools/problem_files.h"

namespace rnnwave::tools {
namespace {

struct BenchFlags {
  ModelFlags model;
  ExecFlags exec;
  int64_t steps = 0, batch = 0, step_block = 0, batch_splits = 0, hidden_splits = 0;
  std::string mode = "inference";
  int repeats = 10, warmup = 2;
  bool json = false;
  bool plan_only = false;
  bool set_weights = false;  // repack the weights before every pass, as an optimizer step would
  std::string plan = "default";  // default | auto | search
  int search_repeats = 3;
  uint64_t seed = 1;
};

/// FLOPs of the GEMMs of a pass (2*M*N*K each), the quantity GFLOP/s refers to.
double gemm_flops(const ModelSpec& s, int64_t steps, int64_t batch, bool training) {
  const double rows = double(steps) * double(batch), GH = double(s.gates() * s.hidden_size);
  const double Hs = double(s.output_size());
  // h = W_hr m with a projection: P x H more per row.
  const double projection = s.proj_size > 0 ? Hs * double(s.hidden_size) : 0;
  double flops = 0;
  for (int64_t l = 0; l < s.layers; ++l) {
    const double in = double(s.layer_input_size(l));
    // forward: projection + recurrent; backward: dh_prev, dx, dW_ih, dW_hh
    const double per_direction = 2 * rows * (GH * (in + Hs) + projection) * (training ? 3 : 1);
    flops += per_direction * double(s.directions());
  }
  return flops;
}

/// `count` values uniform in [-1, 1): element i is -1 + 2 counter_uniform(counter_key(seed,
/// stream, 0), i), so the data is the same on every machine.
std::vector<float> uniform(int64_t count, uint64_t seed, uint64_t stream) {
  const uint64_t key = counter_key(seed, stream, 0);
  std::vector<float> values(static_cast<size_t>(count));
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = static_cast<float>(-1.0 + 2.0 * counter_uniform(key, i));
  }
  return values;
}

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

/// The process's resident memory now, by kind (/proc/self/status, bytes): "anonymous"
/// (the heap and other private memory: arrays, thread arenas, stacks) and "file" (pages of
/// mapped files, mostly the code run so far). Empty where the kernel does not say.
nlohmann::json resident_by_kind() {
  nlohmann::json kinds = nlohmann::json::object();
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    for (const auto& [field, kind] : {std::pair{"RssAnon:", "anonymous"}, std::pair{"RssFile:", "file"}}) {
      if (line.rfind(field, 0) != 0) continue;
      // A line that does not parse leaves the kind out, as on a kernel without it.
      std::istringstream number(line.substr(std::string(field).size()));
      long long kib = -1;
      if (number >> kib && kib >= 0) kinds[kind] = kib * 1024;
    }
  }
  return kinds;
}

/// A plan's decomposition as a bench result and --plan-only report it.
nlohmann::json decomposition_json(const Plan& plan) {
  return {{"step_block", plan.step_block},
          {"batch_splits", plan.batch_splits},
          {"hidden_splits", plan.hidden_splits},
          {"weight_block", plan.weight_block}};
}

/// The plan as `decomposition` appears in a bench result, for --plan-only.
void print_plan(const Plan& plan) {
  const nlohmann::json result = {
      {"tool", "rnnwave"},
      {"threads", plan.threads},
      {"schedule", std::string(to_string(plan.schedule))},
      {"decomposition", decomposition_json(plan)}};
  std::printf("%s\n", result.dump().c_str());
}

nlohmann::json plan_json(const Plan& plan) {
  return {{"threads", plan.threads},
          {"schedule", std::string(to_string(plan.schedule))},
          {"decomposition", decomposition_json(plan)}};
}

/// The synthetic problem of a bench run and the timing of its passes.
struct BenchPasses {
  std::vector<float> input, grad_output, output, grad_input;
  std::unique_ptr<Weights> grads;
  const Weights* new_weights = nullptr;  // set_weights before every pass, if not null
  Workspace workspace;
  ForwardArgs<float> args;
  BackwardArgs<float> back;
  bool training = false;

  BenchPasses(const ModelSpec& spec, int64_t T, int64_t N, bool training_mode, uint64_t seed)
      : training(training_mode) {
    const int64_t DH = spec.directions() * spec.output_size();
    input = uniform(T * N * spec.input_size, seed, 1);
    grad_output = uniform(T * N * DH, seed, 2);
    output.resize(static_cast<size_t>(T * N * DH));
    grad_input.resize(input.size());
    grads = std::make_unique<Weights>(spec);
    args.steps = T;
    args.batch = N;
    args.input = input;
    args.output = output;
    back.grad_output = grad_output;
    back.grad_input = grad_input;
    back.grad_weights = grads.get();
  }

  /// Milliseconds of one pass (inference) or forward + backward (training), after
  /// set_weights if new_weights is set.
  double time_ms(Rnn& rnn) {
    const auto start = std::chrono::steady_clock::now();
    if (new_weights != nullptr) rnn.set_weights(*new_weights);
    if (training) {
      rnn.forward(args, workspace);
      rnn.backward(back, workspace);
    } else {
      rnn.forward(args);
    }
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }
};

/// --plan search: times every candidate (one warm-up, `repeats` timed passes each),
/// returns the table as JSON, sorted by median, and leaves the best's options in `best`.
nlohmann::json search_plans(const BenchFlags& flags, const ModelSpec& spec, Rnn& rnn,
                            BenchPasses& passes, const ExecOptions& options,
                            const Calibration& calibration, ExecOptions& best) {
  const std::vector<Plan> candidates =
      plan_candidates(spec, flags.steps, flags.batch, options, passes.training);
  nlohmann::json table = nlohmann::json::array();
  double best_ms = 0;
  for (const Plan& plan : candidates) {
    rnn.set_options(pin_plan(options, plan));
    std::vector<double> times;
    for (int r = 0; r < 1 + flags.search_repeats; ++r) {
      const double ms = passes.time_ms(rnn);
      if (r > 0) times.push_back(ms);
    }
    const double med = median(times);
    nlohmann::json row = plan_json(plan);
    row["median_ms"] = med;
    // Beside the measured time, the planner's prediction (what --plan auto goes by): how
    // well its model ranks the plans of this shape, not only which one it picks.
    row["predicted_ms"] =
        predict_ms(spec, flags.steps, flags.batch, passes.training, plan, calibration);
    table.push_back(row);
    if (table.size() == 1 || med < best_ms) {
      best_ms = med;
      best = pin_plan(options, plan);
    }
  }
  std::stable_sort(table.begin(), table.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a["median_ms"].get<double>() < b["median_ms"].get<double>();
  });
  return table;
}

void print_search_table(const nlohmann::json& table) {
  std::printf("%-10s %7s %10s %12s %13s %12s %10s %13s\n", "schedule", "threads", "step_block",
              "batch_splits", "hidden_splits", "weight_block", "median_ms", "predicted_ms");
  for (const auto& row : table) {
    const auto& d = row["decomposition"];
    std::printf("%-10s %7d %10lld %12lld %13lld %12lld %10.3f %13.3f\n",
                row["schedule"].get<std::string>().c_str(), row["threads"].get<int>(),
                static_cast<long long>(d["step_block"].get<int64_t>()),
                static_cast<long long>(d["batch_splits"].get<int64_t>()),
                static_cast<long long>(d["hidden_splits"].get<int64_t>()),
                static_cast<long long>(d["weight_block"].get<int64_t>()), row["median_ms"].get<double>(),
                row["predicted_ms"].get<double>());
  }
}

void run(const BenchFlags& flags) {
  // The memory a run adds is peak RSS minus what the process held before setting it up.
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  const nlohmann::json resident_before = resident_by_kind();
  const ModelSpec spec = model_spec(flags.model);
  ExecOptions options = exec_options(flags.exec);
  options.step_block = flags.step_block;
  options.batch_splits = flags.batch_splits;
  options.hidden_splits = flags.hidden_splits;
  const bool training = flags.mode == "training";
  if (!training && flags.mode != "inference") {
    throw Error("--mode must be inference or training, got '" + flags.mode + "'");
  }
  if (flags.steps < 1 || flags.batch < 1) throw Error("--seq-len and --batch must be >= 1");
  if (flags.repeats < 1 || flags.warmup < 0) throw Error("--repeats must be >= 1, --warmup >= 0");
  check_writable(flags.exec.trace, "--trace");

  if (flags.plan != "default" && (flags.step_block != 0 || flags.batch_splits != 0 || flags.hidden_splits != 0)) {
    throw Error("--plan " + flags.plan + " chooses the decomposition: it cannot be combined with "
                "--step-block, --batch-splits or --hidden-splits");
  }
  if (flags.search_repeats < 1) throw Error("--search-repeats must be >= 1");

  // The planner's calibration, for auto and for search's table (measured on first use).
  const bool predicts = flags.plan == "auto" || (flags.plan == "search" && !flags.plan_only);
  const Calibration calibration = predicts ? tool_calibration() : Calibration{};
  // The caller's weights are kept only for --set-weights: held, they would count in the
  // memory every other run reports.
  std::optional<Weights> kept;
  if (flags.set_weights) kept.emplace(Weights::uniform(spec, flags.seed));
  Rnn rnn = kept ? Rnn(*kept, options) : Rnn(Weights::uniform(spec, flags.seed), options);
  nlohmann::json planning;  // what --plan auto or search adds to the result
  if (flags.plan == "auto") {
    const Plan plan = auto_plan(spec, flags.steps, flags.batch, training, options, calibration);
    options = pin_plan(options, plan);
    rnn.set_options(options);
    planning["predicted_ms"] = predict_ms(spec, flags.steps, flags.batch, training, plan, calibration);
  }
  if (flags.plan_only) {
    if (flags.plan == "search") {
      for (const Plan& plan : plan_candidates(spec, flags.steps, flags.batch, options, training)) {
        print_plan(plan);
      }
      return;
    }
    nlohmann::json result = plan_json(rnn.plan(flags.steps, flags.batch, training));
    result["tool"] = "rnnwave";
    result["plan"] = flags.plan;
    if (planning.contains("predicted_ms")) result["predicted_ms"] = planning["predicted_ms"];
    std::printf("%s\n", result.dump().c_str());
    return;
  }
  const int64_t T = flags.steps, N = flags.batch;
  BenchPasses passes(spec, T, N, training, flags.seed);
  if (flags.plan == "search") {
    ExecOptions best = options;
    planning["search"] = search_plans(flags, spec, rnn, passes, options, calibration, best);
    if (!flags.json) print_search_table(planning["search"]);
    options = best;
    rnn.set_options(options);
  }

  if (kept) passes.new_weights = &*kept;
  Trace trace;
  std::vector<double> times_ms;
  for (int r = 0; r < flags.warmup + flags.repeats; ++r) {
    const bool timed = r >= flags.warmup;
    // Only the last repeat is traced: a trace of every repeat would mostly repeat itself.
    if (!flags.exec.trace.empty() && r == flags.warmup + flags.repeats - 1) {
      ExecOptions traced_options = options;
      traced_options.trace = &trace;
      rnn.set_options(traced_options);
    }
    const double ms = passes.time_ms(rnn);
    if (timed) times_ms.push_back(ms);
  }
  OutputFiles outputs;
  add_trace(outputs, flags.exec, trace);
  outputs.commit();

  const Plan plan = rnn.plan(T, N, training);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double med = median(times_ms);
  const double flops = gemm_flops(spec, T, N, training);
  nlohmann::json result = {
      {"tool", "rnnwave"},
      {"cell", std::string(to_string(spec.cell))},
      {"layers", spec.layers},
      {"bidirectional", spec.bidirectional},
      {"reverse", spec.reverse},
      {"proj_size", spec.proj_size},
      {"peepholes", spec.peepholes},
      {"cell_clip", spec.cell_clip},
      {"hidden_size", spec.hidden_size},
      {"input_size", spec.input_size},
      {"seq_len", T},
      {"batch", N},
      {"mode", flags.mode},
      {"precision", std::string(to_string(options.precision))},
      {"single_weight_copy", options.single_weight_copy},
      {"set_weights", flags.set_weights},
      {"threads", plan.threads},
      {"schedule", std::string(to_string(plan.schedule))},
      {"decomposition", decomposition_json(plan)},
      {"repeats", flags.repeats},
      {"warmup", flags.warmup},
      {"median_ms", med},
      {"min_ms", *std::min_element(times_ms.begin(), times_ms.end())},
      {"max_ms", *std::max_element(times_ms.begin(), times_ms.end())},
      {"times_ms", times_ms},
      {"gemm_gflop", flops / 1e9},
      {"gflops", flops / (med * 1e6)},
      {"plan", flags.plan},
      {"workspace_bytes", passes.workspace.bytes()},
      {"peak_rss_bytes", static_cast<int64_t>(usage.ru_maxrss) * 1024},
      {"rss_before_setup_bytes", static_cast<int64_t>(before.ru_maxrss) * 1024},
      // Not peaks, but what is resident before setup and after the last pass, while the
      // model, its workspace and the data are all still held.
      {"resident_before_setup_bytes", resident_before},
      {"resident_after_bytes", resident_by_kind()},
      {"machine", {{"cpu", cpu_model()}, {"cores", static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN))}}},
  };
  for (const auto& [key, value] : planning.items()) result[key] = value;
  if (flags.json) {
    std::printf("%s\n", result.dump().c_str());
  } else {
    std::printf("%s %s %s T=%lld N=%lld %s %s threads=%d: median %.3f ms (min %.3f, max %.3f), %.1f GFLOP/s\n",
                describe(spec).c_str(), flags.mode.c_str(),
                std::string(to_string(options.precision)).c_str(), static_cast<long long>(T),
                static_cast<long long>(N), std::string(to_string(plan.schedule)).c_str(),
                std::string("step_block=" + std::to_string(plan.step_block) + " batch_splits=" +
                            std::to_string(plan.batch_splits) + " hidden_splits=" +
                            std::to_string(plan.hidden_splits))
                    .c_str(),
                plan.threads, med, result["min_ms"].get<double>(),
                result["max_ms"].get<double>(), result["gflops"].get<double>());
  }
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto flags = std::make_shared<BenchFlags>();
  CLI::App* command = app.add_subcommand(
      "bench", "Time inference or training (forward + backward, every gradient) on synthetic data");
  add_model_flags(*command, flags->model);
  command->add_option("--seq-len", flags->steps, "Steps per sequence (T)")->required()->check(at_least(1));
  command->add_option("--batch", flags->batch, "Sequences per batch (N)")->required()->check(at_least(1));
  command->add_option("--mode", flags->mode, "inference (default) or training");
  add_exec_flags(*command, flags->exec);
  add_precision_flag(*command, flags->exec);
  add_weight_copy_flag(*command, flags->exec);
  command->add_option("--repeats", flags->repeats, "Timed repetitions (default 10)")->check(at_least(1));
  command->add_option("--warmup", flags->warmup, "Untimed repetitions first (default 2)")->check(at_least(0));
  command->add_option("--step-block", flags->step_block,
                      "Steps per projection task (default: chosen by the engine)");
  command->add_option("--batch-splits", flags->batch_splits,
                      "Independent sub-batches (default: chosen by the engine)");
  command->add_option("--hidden-splits", flags->hidden_splits,
                      "Parts of each step, by hidden units (default: chosen by the engine)");
  command->add_option("--seed", flags->seed, "Seed of the synthetic weights and data, in [0, 2^64)")
      ->check(unsigned64());
  command->add_flag("--json", flags->json, "Print one JSON object instead of a summary line");
  command->add_flag("--set-weights", flags->set_weights,
                    "Repack the weights (set_weights, the same values) before every pass, "
                    "as a training loop does after each optimizer step");
  command->add_option("--plan", flags->plan,
                      "How the pass is cut into tasks: default (the engine's fixed rules), auto (the "
                      "planner's cost model, calibrated once per machine; see rnnwave calibrate) or "
                      "search (time every candidate plan, print the table with the model's prediction "
                      "beside each time, then run the best). auto and search calibrate on first use "
                      "(a few seconds, and the memory a run reports then includes the calibration's)")
      ->check(CLI::IsMember({"default", "auto", "search"}));
  command->add_option("--search-repeats", flags->search_repeats,
                      "Timed passes per candidate of --plan search, after one warm-up (default 3)")
      ->check(at_least(1));
  command->add_flag("--plan-only", flags->plan_only,
                    "Print the plan the engine chooses for --mode (threads, decomposition) as JSON "
                    "and run nothing (with --plan search: every candidate, one per line)");
  command->callback([flags] { run(*flags); });
}

}  // namespace rnnwave::tools
