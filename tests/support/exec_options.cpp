#include "support/exec_options.h"

namespace rnnwave::testing {

std::vector<ExecOptions> tested_exec_options() {
  std::vector<ExecOptions> all{ExecOptions{Schedule::sequential, 1}};
  for (int threads : {1, 2, 3}) all.push_back(ExecOptions{Schedule::wavefront, threads});
  for (int threads : {1, 2}) all.push_back(ExecOptions{Schedule::layerwise, threads});
  // Small test problems get one sub-batch and one block by default: force the other
  // degrees of freedom so that every test covers them too.
  ExecOptions split{Schedule::wavefront, 2};
  split.step_block = 2;
  split.batch_splits = 2;
  all.push_back(split);
  ExecOptions parts{Schedule::wavefront, 2};
  parts.step_block = 3;
  parts.hidden_splits = 3;  // needs H > 32 to give three parts (16 units at least each)
  all.push_back(parts);
  return all;
}

std::string exec_name(const ExecOptions& options) {
  std::string name = std::string(to_string(options.schedule)) + "_" +
                     std::to_string(options.threads) +
                     (options.threads == 1 ? "thread" : "threads");
  if (options.step_block > 0) name += "_block" + std::to_string(options.step_block);
  if (options.batch_splits > 0) name += "_split" + std::to_string(options.batch_splits);
  if (options.hidden_splits > 0) name += "_parts" + std::to_string(options.hidden_splits);
  return name;
}

}  // namespace rnnwave::testing
