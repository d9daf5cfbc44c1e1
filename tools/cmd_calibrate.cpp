// rnnwave calibrate: measures this machine for the planner (bench --plan auto) and caches
// the result; also the one place the tool loads the cached calibration.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "rnnwave/planner.h"
#include "tools/commands.h"

namespace rnnwave::tools {

Calibration tool_calibration() {
  const std::string dir = default_calibration_dir();
  std::string note;
  const Calibration c = cached_calibration(dir, &note, [] {
    std::fprintf(stderr, "rnnwave: calibrating the planner's cost model for this machine (a few seconds)\n");
    return calibrate();
  });
  if (!note.empty()) std::fprintf(stderr, "rnnwave: note: %s\n", note.c_str());
  return c;
}

namespace {

nlohmann::json calibration_json(const Calibration& c) {
  nlohmann::json kernel = nlohmann::json::array(), runtime = nlohmann::json::array();
  for (const auto& p : c.kernel) kernel.push_back({{"rows", p.rows}, {"k", p.k}, {"n", p.n}, {"gflops", p.gflops}});
  for (const auto& r : c.runtime) runtime.push_back({{"threads", r.threads}, {"task_ns", r.task_ns}, {"pass_ns", r.pass_ns}});
  return {{"pointwise_ns", c.pointwise_ns}, {"task_ns_inline", c.task_ns_inline},
          {"runtime", runtime}, {"kernel", kernel}};
}

}  // namespace

void add_calibrate_command(CLI::App& app) {
  auto force = std::make_shared<bool>(false);
  auto key_only = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand(
      "calibrate",
      "Measure this machine for the planner (kernel rates, per-task cost; a few seconds), cache it "
      "in $XDG_CACHE_HOME/rnnwave or ~/.cache/rnnwave, and print it as JSON");
  command->add_flag("--force", *force, "Measure again even if a valid cached calibration exists");
  command->add_flag("--key", *key_only,
                    "Print only the key a cached calibration must carry (build id, CPU) and measure nothing");
  command->callback([force, key_only] {
    if (*key_only) {
      std::printf("%s\n", calibration_key().c_str());
      return;
    }
    const std::string dir = default_calibration_dir();
    if (*force && !dir.empty()) {
      std::error_code ignored;
      std::filesystem::remove(std::filesystem::path(dir) / "calibration.txt", ignored);
    }
    const Calibration c = tool_calibration();
    nlohmann::json out = calibration_json(c);
    out["key"] = calibration_key();
    out["cache_dir"] = dir;
    std::printf("%s\n", out.dump().c_str());
  });
}

}  // namespace rnnwave::tools
