// The candidate plans of a pass, enumerated in one place: every degree of freedom of
// Plan that changes speed only (docs/design.md §5), within ranges that make sense for the
// problem and the thread count.
#include <algorithm>
#include <set>
#include <tuple>

#include "common/strings.h"
#include "graph/problem.h"
#include "rnnwave/planner.h"

namespace rnnwave {
namespace {

/// 1, 2, 4, ... up to `most` (at least 1).
std::vector<int64_t> powers_of_two(int64_t least, int64_t most) {
  std::vector<int64_t> values;
  for (int64_t v = 1; v <= std::max<int64_t>(most, 1); v *= 2) {
    if (v >= least) values.push_back(v);
  }
  if (values.empty()) values.push_back(std::max<int64_t>(1, most));
  return values;
}

/// Step blocks giving projection products of about 8 to 512 rows (fewer rows re-read the
/// weights for too little work; more only delay the next layer), at most T and 64.
std::vector<int64_t> step_blocks(int64_t T, int64_t N) {
  const int64_t least = std::max<int64_t>(1, 8 / N);
  const int64_t most = std::min<int64_t>({T, 64, std::max<int64_t>(1, (512 + N - 1) / N)});
  return powers_of_two(std::min(least, most), most);
}

auto plan_tuple(const Plan& p) {
  return std::make_tuple(int(p.schedule), p.threads, p.step_block, p.batch_splits,
                         p.hidden_splits, p.weight_block);
}

void check_problem(const ModelSpec& spec, int64_t steps, int64_t batch, const char* what) {
  spec.validate();
  if (steps < 1 || batch < 1) fail(what, ": steps and batch must be >= 1, got ", steps, " and ", batch);
}

}  // namespace

Plan plan_of(const ModelSpec& spec, int64_t steps, int64_t batch, const ExecOptions& options,
             bool training) {
  check_problem(spec, steps, batch, "plan");
  return describe_problem(spec, steps, batch, training, false, true, options).plan;
}

std::vector<Plan> plan_candidates(const ModelSpec& spec, int64_t steps, int64_t batch,
                                  const ExecOptions& options, bool training) {
  check_problem(spec, steps, batch, "plan_candidates");
  const int threads = resolve_threads(options);
  std::vector<Plan> plans;
  std::set<decltype(plan_tuple(Plan{}))> seen;
  auto add = [&](const ExecOptions& o) {
    const Plan plan = plan_of(spec, steps, batch, o, training);
    if (seen.insert(plan_tuple(plan)).second) plans.push_back(plan);
  };
  ExecOptions base = options;
  base.step_block = base.batch_splits = base.hidden_splits = 0;
  base.trace = nullptr;
  add(base);  // the default plan first: ties keep it
  const std::vector<int64_t> blocks = step_blocks(steps, batch);
  ExecOptions o = base;
  o.schedule = Schedule::sequential;
  o.threads = 1;
  for (int64_t block : blocks) {
    o.step_block = block;
    o.batch_splits = o.hidden_splits = 1;
    add(o);
  }
  if (threads <= 1) return plans;
  const bool unit_splits =
      describe_problem(spec, steps, batch, false, false, true, base).cell->splits_by_units();
  const int64_t panels = (spec.hidden_size + 15) / 16;
  o = base;
  o.schedule = Schedule::wavefront;
  o.threads = threads;
  for (int64_t block : blocks) {
    for (int64_t splits : powers_of_two(1, std::min<int64_t>(batch, 2 * threads))) {
      for (int64_t parts : powers_of_two(1, unit_splits ? std::min<int64_t>(panels, 2 * threads) : 1)) {
        o.step_block = block;
        o.batch_splits = splits;
        o.hidden_splits = parts;
        add(o);
      }
    }
  }
  o = base;
  o.schedule = Schedule::layerwise;
  o.threads = threads;
  add(o);
  return plans;
}

ExecOptions pin_plan(ExecOptions options, const Plan& plan) {
  options.schedule = plan.schedule;
  options.threads = plan.threads;
  options.step_block = plan.step_block;
  options.batch_splits = plan.batch_splits;
  options.hidden_splits = plan.hidden_splits;
  return options;
}

}  // namespace rnnwave
