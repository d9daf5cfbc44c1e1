// rnnwave train: trains a model on a task into a run directory, one checkpoint per epoch,
// and resumes an interrupted run bit-exactly (--resume).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "rnnwave/dist/config_check.h"
#include "rnnwave/dist/launcher.h"
#include "rnnwave/dist/run.h"
#include "rnnwave/dist/world.h"
#include "rnnwave/run/train_progress.h"
#include "rnnwave/trace.h"
#include "tools/pipeline_ranks.h"
#include "tools/commands.h"
#include "tools/problem_files.h"
#include "tools/run_dir.h"

namespace rnnwave::tools {
namespace {

/// A TrainConfig field set on the command line: applied only when the flag was given, so
/// that every other field keeps defaults_for(task).
struct ConfigFlag {
  CLI::Option* option = nullptr;
  std::function<void(TrainConfig&)> apply;
};

struct TrainFlags {
  std::string task, out, resume, data, export_data;
  int64_t epochs = 0, stop_after = 0, shards = 1;
  bool pipeline = false;
  double rank_timeout = 60;
  ExecFlags exec;
  CLI::App* command = nullptr;
  CLI::Option* epochs_option = nullptr;
  CLI::Option* data_option = nullptr;
  CLI::Option* lr_period_option = nullptr;
  CLI::Option* shards_option = nullptr;
  CLI::Option* rank_timeout_option = nullptr;
  std::vector<ConfigFlag> config_flags;
};

/// A flag that only means something for some settings: given with others, it would be
/// silently ignored, so it is refused ("--embedding-size does not apply to --task
/// synthetic: it is for --task wikitext2").
struct FlagScope {
  const char* flag;
  bool (*applies)(const TrainConfig&);
  const char* applies_to;                  // "--task wikitext2"
  std::string (*setting)(const TrainConfig&);  // "--task synthetic"
};

std::string task_setting(const TrainConfig& c) { return "--task " + std::string(to_string(c.task)); }
std::string optimizer_setting(const TrainConfig& c) {
  return "--optimizer " + std::string(to_string(c.optimizer.kind));
}
std::string schedule_setting(const TrainConfig& c) {
  return "--lr-schedule " + std::string(to_string(c.lr_schedule.kind));
}
bool is_synthetic(const TrainConfig& c) { return c.task == TrainTask::synthetic; }
bool is_digits(const TrainConfig& c) { return c.task == TrainTask::digits; }
bool is_wikitext2(const TrainConfig& c) { return c.task == TrainTask::wikitext2; }
bool reads_data(const TrainConfig& c) { return c.task != TrainTask::synthetic; }
bool classifies(const TrainConfig& c) { return c.task != TrainTask::wikitext2; }
bool is_sgd(const TrainConfig& c) { return c.optimizer.kind == OptimizerKind::sgd; }
bool is_adam(const TrainConfig& c) { return c.optimizer.kind == OptimizerKind::adam; }
bool decays(const TrainConfig& c) {
  return c.lr_schedule.kind == LrScheduleKind::step || c.lr_schedule.kind == LrScheduleKind::plateau;
}
bool is_step(const TrainConfig& c) { return c.lr_schedule.kind == LrScheduleKind::step; }
bool is_plateau(const TrainConfig& c) { return c.lr_schedule.kind == LrScheduleKind::plateau; }
bool has_minimum(const TrainConfig& c) {
  return c.lr_schedule.kind == LrScheduleKind::plateau || c.lr_schedule.kind == LrScheduleKind::cosine;
}
bool is_cosine(const TrainConfig& c) { return c.lr_schedule.kind == LrScheduleKind::cosine; }

const FlagScope kFlagScopes[] = {
    {"--embedding-size", is_wikitext2, "--task wikitext2", task_setting},
    {"--bptt", is_wikitext2, "--task wikitext2", task_setting},
    {"--pooling", classifies, "--task digits or synthetic", task_setting},
    {"--synthetic-steps", is_synthetic, "--task synthetic", task_setting},
    {"--synthetic-train", is_synthetic, "--task synthetic", task_setting},
    {"--synthetic-eval", is_synthetic, "--task synthetic", task_setting},
    {"--skip-bad-recordings", is_digits, "--task digits", task_setting},
    {"--data", reads_data, "--task digits or wikitext2 (synthetic makes its own data)", task_setting},
    {"--momentum", is_sgd, "--optimizer sgd", optimizer_setting},
    {"--nesterov", is_sgd, "--optimizer sgd", optimizer_setting},
    {"--beta1", is_adam, "--optimizer adam", optimizer_setting},
    {"--beta2", is_adam, "--optimizer adam", optimizer_setting},
    {"--eps", is_adam, "--optimizer adam", optimizer_setting},
    {"--lr-factor", decays, "--lr-schedule step or plateau", schedule_setting},
    {"--lr-every", is_step, "--lr-schedule step", schedule_setting},
    {"--lr-patience", is_plateau, "--lr-schedule plateau", schedule_setting},
    {"--lr-threshold", is_plateau, "--lr-schedule plateau", schedule_setting},
    {"--lr-min", has_minimum, "--lr-schedule plateau or cosine", schedule_setting},
    {"--lr-period", is_cosine, "--lr-schedule cosine", schedule_setting},
};

void refuse_flags_that_do_not_apply(const CLI::App& command, const TrainConfig& config) {
  for (const FlagScope& scope : kFlagScopes) {
    const CLI::Option* option = command.get_option_no_throw(scope.flag);
    if (option == nullptr || option->count() == 0 || scope.applies(config)) continue;
    throw Error(std::string(scope.flag) + " does not apply to " + scope.setting(config) + ": it is for " +
                scope.applies_to);
  }
}

template <class T, class Set>
CLI::Option* add_config_flag(CLI::App& command, TrainFlags& flags, const std::string& name,
                             const std::string& help, Set set, int64_t minimum = INT64_MIN) {
  auto value = std::make_shared<T>();
  CLI::Option* option = command.add_option(name, *value, help);
  if constexpr (std::is_same_v<T, int64_t>) option->check(at_least(minimum));
  if constexpr (std::is_same_v<T, uint64_t>) option->check(unsigned64());
  flags.config_flags.push_back({option, [value, set](TrainConfig& c) { set(c, *value); }});
  return option;
}

void add_bool_flag(CLI::App& command, TrainFlags& flags, const std::string& names,
                   const std::string& help, std::function<void(TrainConfig&, bool)> set) {
  auto value = std::make_shared<bool>(false);
  CLI::Option* option = command.add_flag(names, *value, help);
  flags.config_flags.push_back({option, [value, set](TrainConfig& c) { set(c, *value); }});
}

/// "synthetic: lstm 2 x 128, adam lr 0.001, ..." for each task: what flags left out mean.
std::string task_defaults() {
  std::ostringstream out;
  out << "Defaults of the flags left out, per task (--task):\n";
  for (const TrainTask task : kAllTrainTasks) {
    const TrainConfig c = defaults_for(task);
    out << "  " << to_string(task) << ": " << to_string(c.cell) << " " << c.layers << " x "
        << c.hidden_size << (c.bidirectional ? " bidirectional" : "");
    if (task == TrainTask::wikitext2) {
      out << ", embedding " << (c.embedding_size > 0 ? c.embedding_size : c.hidden_size)
          << ", bptt " << c.bptt;
    } else {
      out << ", pooling " << to_string(c.pooling);
    }
    out << ", dropout " << c.dropout << ", " << to_string(c.optimizer.kind) << " lr "
        << c.optimizer.learning_rate;
    if (c.optimizer.momentum > 0) out << " momentum " << c.optimizer.momentum;
    if (c.clip_norm > 0) out << ", clip " << c.clip_norm;
    out << ", lr schedule " << to_string(c.lr_schedule.kind);
    if (c.lr_schedule.kind == LrScheduleKind::step || c.lr_schedule.kind == LrScheduleKind::plateau) {
      out << " (factor " << c.lr_schedule.factor << ")";
    }
    out << ", batch " << c.batch_size << ", " << c.epochs << " epochs, seed " << c.seed << "\n";
  }
  out << "Run directory: checkpoint.npz (written before epoch 1 and after each epoch; what "
         "--resume, eval and predict read), config.json (for people, never read), metrics.jsonl, "
         "curves.png, initial.npz, model.npz (docs/training.md).";
  return out.str();
}

/// Where this process stands in a run: alone (no MPI launcher), or one rank of a job
/// started by mpirun, of which rank 0 alone writes the run directory and prints progress.
struct Ranks {
  dist::World* world = nullptr;  ///< null: the ordinary single process
  bool pipeline = false;         ///< the ranks are a layer pipeline, not data-parallel

  bool distributed() const { return world != nullptr; }
  bool writes() const { return world == nullptr || world->rank() == 0; }

  /// Runs `body`; under a launcher an Error it throws becomes a CollectiveError: for
  /// checks every rank makes alike on what the handshake showed to be the same on every
  /// rank (the flags, the checkpoint), so that rank 0 alone prints it and all ranks exit 1.
  template <class Body>
  auto collectively(Body&& body) const {
    if (!distributed()) return body();
    try {
      return body();
    } catch (const dist::CollectiveError&) {
      throw;
    } catch (const Error& e) {
      throw dist::CollectiveError(e.what());
    }
  }

  /// Refuses a shard count the ranks cannot share (collectively).
  void check_shards(int64_t shards) const {
    if (!distributed() || pipeline || shards % world->size() == 0) return;
    throw dist::CollectiveError(
        "--shards " + std::to_string(shards) + " is not a multiple of the " + std::to_string(world->size()) +
        " ranks (each rank computes shards/ranks shards of every batch): give --shards a multiple of " +
        std::to_string(world->size()) + " or start a number of ranks that divides " + std::to_string(shards));
  }
};

/// Under a launcher: every rank checks that the others see the same data in the same
/// order, then joins the shard reducers, or its stage of the layer pipeline.
void join_ranks(Trainer& trainer, const Ranks& ranks) {
  if (!ranks.distributed()) return;
  const std::vector<dist::ConfigItem> items = {{"data order", trainer.data_order_digest()}};
  dist::check_same_config(*ranks.world, items);
  if (ranks.pipeline) {
    trainer.pipeline(*ranks.world);
  } else {
    trainer.distribute(*ranks.world);
  }
  start_common_clock(*ranks.world, trainer.config().exec.trace);
}

/// "communication hidden: 62% (gradients in flight 0.41 s, waited 0.16 s; rank 0)": the
/// share of the epoch's gradient combination that overlapped the backward pass.
std::string communication_line(const CommunicationStats& stats) {
  char line[160];
  std::snprintf(line, sizeof line, "communication hidden: %.0f%% (gradients in flight %.3f s, waited %.3f s; rank 0)",
                100 * stats.hidden_share(), stats.combining_seconds, stats.waiting_seconds);
  return line;
}

/// Trains until `target` epochs are done (or `stop_after` more in this invocation), writing
/// the run's files after every epoch (rank 0 only under a launcher).
void train_epochs(Trainer& trainer, const std::string& dir, int64_t target, int64_t stop_after, const Ranks& ranks) {
  TrainProgressView view(trainer, target);
  const int64_t stop =
      stop_after > 0 ? std::min(target, trainer.epochs_done() + stop_after) : target;
  while (trainer.epochs_done() < stop) {
    if (!ranks.writes()) {
      trainer.train_epoch();
      continue;
    }
    const EpochMetrics metrics = trainer.train_epoch(view.callback());
    RunDirectory(dir).save_epoch(trainer);  // the checkpoint first, then what derives from it
    view.epoch(metrics);
    if (ranks.distributed() && !ranks.pipeline) view.note(communication_line(trainer.communication()));
  }
  if (!ranks.writes()) return;
  if (trainer.epochs_done() < target) {
    view.note("stopped after epoch " + std::to_string(trainer.epochs_done()) + " of " +
              std::to_string(target) + "; continue with: rnnwave train --resume " + dir);
  } else {
    view.note("done: " + std::to_string(target) + " epochs in " + dir);
  }
}

/// Says what loading the data left out (--skip-bad-recordings).
void print_data_notes(const Trainer& trainer) {
  const std::string notes = trainer.data_notes();
  if (!notes.empty()) std::fprintf(stderr, "rnnwave: --skip-bad-recordings: left out: %s\n", notes.c_str());
}

/// The run's config from the flags (Error naming the flag otherwise).
TrainConfig new_run_config(const TrainFlags& flags, const ExecOptions& exec) {
  if (flags.task.empty()) {
    throw Error("--task is required for a new run (synthetic, digits or wikitext2); to "
                "continue a run give --resume RUN_DIR");
  }
  if (flags.out.empty()) {
    throw Error("--out RUN_DIR is required: the directory for the run's checkpoint, metrics "
                "and curves");
  }
  TrainTask task{};
  try {
    task = parse_train_task(flags.task);
  } catch (const Error& e) {
    throw Error(std::string("--task: ") + e.what());
  }
  TrainConfig config = defaults_for(task);
  for (const ConfigFlag& flag : flags.config_flags) {
    if (flag.option->count() == 0) continue;
    try {
      flag.apply(config);
    } catch (const Error& e) {
      throw Error(flag.option->get_name() + ": " + e.what());
    }
  }
  if (flags.epochs_option->count() > 0) config.epochs = flags.epochs;
  if (flags.shards_option->count() > 0) config.shards = flags.shards;
  // Absolute, so that eval, predict and --resume find the data from any directory.
  if (flags.data_option->count() > 0) config.data_dir = std::filesystem::absolute(flags.data).lexically_normal();
  refuse_flags_that_do_not_apply(*flags.command, config);
  if (config.lr_schedule.kind == LrScheduleKind::cosine && flags.lr_period_option->count() == 0) {
    config.lr_schedule.period = std::max<int64_t>(1, config.epochs);
  }
  config.exec = exec;
  config.validate();
  return config;
}

void start_run(const TrainFlags& flags, const ExecOptions& exec, const Ranks& ranks) {
  const TrainConfig config = ranks.collectively([&] { return new_run_config(flags, exec); });
  ranks.check_shards(config.shards);
  if (ranks.writes()) {
    refuse_existing_run(flags.out);
    if (!flags.export_data.empty()) {
      check_writable(flags.export_data, "--export-data");
      std::vector<FileFlag> outputs = {{"--export-data", flags.export_data}};
      for (const char* name : run_files()) outputs.push_back({std::string("the run's ") + name, run_file(flags.out, name)});
      check_distinct_files({}, outputs);
    }
  }

  Trainer trainer(config);  // loads the data: errors come before the run directory exists
  join_ranks(trainer, ranks);
  if (!ranks.writes()) {
    train_epochs(trainer, flags.out, config.epochs, flags.stop_after, ranks);
    return;
  }
  print_data_notes(trainer);
  const RunDirectory run_dir(flags.out);  // created here: errors so far leave no directory
  const RunLock lock(flags.out, "--out");
  refuse_existing_run(flags.out);  // again, holding the lock: another run may have begun
  remove_stale_temporaries(flags.out);
  // The checkpoint first, before epoch 1: a run stopped at any point after it resumes
  // (from its initial state if no epoch finished).
  trainer.save_checkpoint(run_file(flags.out, kCheckpointFile));
  write_config(flags.out, trainer.config(), config.epochs);
  trainer.export_parameters(run_file(flags.out, kInitialFile));
  if (!flags.export_data.empty()) trainer.export_data(flags.export_data);
  train_epochs(trainer, flags.out, config.epochs, flags.stop_after, ranks);
}

/// The refusals of flags that --resume does not take.
void check_resume_flags(const TrainFlags& flags) {
  for (const ConfigFlag& flag : flags.config_flags) {
    if (flag.option->count() > 0) {
      throw Error(flag.option->get_name() +
                  " cannot be changed when resuming: the run's settings come from its "
                  "checkpoint (only --epochs, --stop-after, --threads and --schedule may be "
                  "given with --resume, and --shards equal to the run's)");
    }
  }
  if (flags.data_option->count() > 0) {
    throw Error("--data cannot be given with --resume: the run reads the data directory it "
                "was started with (or $RNNWAVE_DATA_DIR if it was started without --data)");
  }
  if (!flags.export_data.empty()) {
    throw Error("--export-data is for a new run; export the data with the run's settings and "
                "no --resume");
  }
}

/// The epochs a resumed run aims at (Error for a shard count or a target it cannot take).
int64_t resume_target(const TrainFlags& flags, const Trainer& trainer) {
  const std::string& dir = flags.resume;
  if (flags.shards_option->count() > 0 && flags.shards != trainer.config().shards) {
    throw Error("--shards " + std::to_string(flags.shards) + ": " + dir + " was trained with --shards " +
                std::to_string(trainer.config().shards) +
                "; the shard count is part of the run's results and cannot change on --resume");
  }
  const int64_t done = trainer.epochs_done();
  const int64_t target = flags.epochs_option->count() > 0 ? flags.epochs : std::max(trainer.config().epochs, done);
  if (target < done) {
    throw Error("--epochs " + std::to_string(target) + " is below the " + std::to_string(done) +
                " epochs " + dir + " has already done");
  }
  return target;
}

void resume_run(const TrainFlags& flags, const ExecOptions& exec, const Ranks& ranks) {
  ranks.collectively([&] { check_resume_flags(flags); });
  const std::string& dir = flags.resume;
  if (!std::filesystem::is_directory(dir)) throw Error("--resume " + dir + ": no such run directory");
  // Rank 0 alone writes the run directory; every rank reads its checkpoint (the
  // directory must be on a file system every rank sees).
  std::optional<RunLock> lock;
  if (ranks.writes()) {
    lock.emplace(dir, "--resume");
    remove_stale_temporaries(dir);
    check_run_files_writable(dir, "--resume");
  }
  // Everything is loaded and checked before anything is written: the checkpoint (the
  // run's settings and its aim, never config.json, which is written for people), then
  // the data when there is training to do.
  Trainer trainer = load_run(dir, "--resume", exec);
  const int64_t target = ranks.collectively([&] { return resume_target(flags, trainer); });
  ranks.check_shards(trainer.config().shards);
  const int64_t done = trainer.epochs_done();
  if (done < target) {
    trainer.load_data();
    if (ranks.writes()) print_data_notes(trainer);
    join_ranks(trainer, ranks);
  }
  trainer.set_epochs(target);
  if (!ranks.writes()) {
    if (done < target) train_epochs(trainer, dir, target, flags.stop_after, ranks);
    return;
  }
  // The files derived from the checkpoint are made to agree with it again (a crash may
  // have come between the checkpoint and them).
  write_config(dir, trainer.config(), target);
  RunDirectory(dir).write_outputs(trainer);
  if (done == target) {
    std::fprintf(stderr, "%s already has %lld epochs; give --epochs to train further\n",
                 dir.c_str(), static_cast<long long>(done));
    return;
  }
  std::fprintf(stderr, "resuming %s after epoch %lld of %lld\n", dir.c_str(),
               static_cast<long long>(done), static_cast<long long>(target));
  train_epochs(trainer, dir, target, flags.stop_after, ranks);
}

void run_as(const TrainFlags& flags, const ExecOptions& exec, const Ranks& ranks) {
  if (flags.resume.empty()) {
    start_run(flags, exec, ranks);
  } else {
    resume_run(flags, exec, ranks);
  }
}

/// run_as, then the --trace file of this rank (`T.rank<r>.json` under a launcher): the
/// engine's tasks of every pass and the combination of each gradient bucket.
void run_traced(const TrainFlags& flags, ExecOptions exec, const Ranks& ranks) {
  if (flags.exec.trace.empty()) {
    run_as(flags, exec, ranks);
    return;
  }
  const std::string path = rank_trace_path(flags.exec.trace, ranks.world);
  check_writable(path, "--trace");
  Trace trace;
  exec.trace = &trace;
  run_as(flags, exec, ranks);
  trace.write_chrome_json(path);
}

void run(const TrainFlags& flags) {
  const ExecOptions exec = exec_options(flags.exec);
  if (!(flags.rank_timeout >= 1e-3 && flags.rank_timeout <= 1e6)) {  // CLI::Range lets NaN through
    throw Error("--rank-timeout must be a number of seconds in [0.001, 1e6], got " + std::to_string(flags.rank_timeout));
  }
  check_pipeline_flag(flags.pipeline);
  if (!dist::detect_launcher().launched) {
    if (flags.rank_timeout_option->count() > 0) {
      throw Error("--rank-timeout is for a run started by mpirun (or srun); this is a single process");
    }
    run_traced(flags, exec, Ranks{});
    return;
  }
  // Started by mpirun (or srun): data-parallel over the ranks, or a layer pipeline. A build
  // without MPI, or an MPI other than the launcher's, is refused by the World before
  // anything runs.
  dist::WorldOptions options;
  options.program = "rnnwave";
  options.timeout = dist::Seconds(flags.rank_timeout);
  const int status = dist::run_distributed(options, [&](dist::World& world) {
    std::vector<dist::ConfigItem> items = {{"build", build_id()}};
    for (dist::ConfigItem& flag : result_flags(*flags.command)) items.push_back(std::move(flag));
    dist::check_same_config(world, items);
    run_traced(flags, exec, Ranks{&world, flags.pipeline});
    return 0;
  });
  // run_distributed has printed the error (rank 0's, or the failing rank's) already.
  if (status != 0) std::exit(status);
}

void add_model_config_flags(CLI::App& c, TrainFlags& f) {
  add_config_flag<std::string>(c, f, "--cell", "Cell kind: rnn_tanh, rnn_relu, lstm or gru",
                               [](TrainConfig& t, const std::string& v) { t.cell = parse_cell_kind(v); });
  add_config_flag<int64_t>(c, f, "--hidden-size", "Hidden units per direction (H)",
                           [](TrainConfig& t, int64_t v) { t.hidden_size = v; }, 1);
  add_config_flag<int64_t>(c, f, "--layers", "Stacked recurrent layers (L)",
                           [](TrainConfig& t, int64_t v) { t.layers = v; }, 1);
  add_bool_flag(c, f, "--bidirectional,!--no-bidirectional",
                "Two directions per layer, or one (--no-bidirectional); not for wikitext2",
                [](TrainConfig& t, bool v) { t.bidirectional = v; });
  add_config_flag<int64_t>(c, f, "--embedding-size", "wikitext2: word embedding size (0 = H)",
                           [](TrainConfig& t, int64_t v) { t.embedding_size = v; }, 0);
  add_config_flag<std::string>(
      c, f, "--pooling", "digits, synthetic: last (state at each sequence's end) or mean",
      [](TrainConfig& t, const std::string& v) { t.pooling = parse_pooling(v); });
  add_config_flag<double>(c, f, "--dropout", "Dropout on non-recurrent connections, in [0, 1)",
                          [](TrainConfig& t, double v) { t.dropout = v; });
}

void add_optimizer_config_flags(CLI::App& c, TrainFlags& f) {
  add_config_flag<std::string>(
      c, f, "--optimizer", "sgd or adam (torch.optim semantics)",
      [](TrainConfig& t, const std::string& v) { t.optimizer.kind = parse_optimizer_kind(v); });
  add_config_flag<double>(c, f, "--lr", "Initial learning rate",
                          [](TrainConfig& t, double v) { t.optimizer.learning_rate = v; });
  add_config_flag<double>(c, f, "--momentum", "sgd: momentum in [0, 1)",
                          [](TrainConfig& t, double v) { t.optimizer.momentum = v; });
  add_bool_flag(c, f, "--nesterov", "sgd: Nesterov momentum (needs --momentum > 0)",
                [](TrainConfig& t, bool v) { t.optimizer.nesterov = v; });
  add_config_flag<double>(c, f, "--weight-decay", "L2 penalty added to the gradient, >= 0",
                          [](TrainConfig& t, double v) { t.optimizer.weight_decay = v; });
  add_config_flag<double>(c, f, "--beta1", "adam: beta1 in [0, 1) (0.9)",
                          [](TrainConfig& t, double v) { t.optimizer.beta1 = v; });
  add_config_flag<double>(c, f, "--beta2", "adam: beta2 in [0, 1) (0.999)",
                          [](TrainConfig& t, double v) { t.optimizer.beta2 = v; });
  add_config_flag<double>(c, f, "--eps", "adam: epsilon > 0 (1e-8)",
                          [](TrainConfig& t, double v) { t.optimizer.eps = v; });
  add_config_flag<double>(c, f, "--clip", "Clip the global gradient norm to this; 0 = no clipping",
                          [](TrainConfig& t, double v) { t.clip_norm = v; });
  add_config_flag<std::string>(
      c, f, "--lr-schedule",
      "Learning rate per epoch: constant, step (x factor every --lr-every epochs), plateau "
      "(x factor when the validation loss stops improving) or cosine (to --lr-min over "
      "--lr-period epochs)",
      [](TrainConfig& t, const std::string& v) { t.lr_schedule.kind = parse_lr_schedule_kind(v); });
  add_config_flag<double>(c, f, "--lr-factor", "step, plateau: multiplier in (0, 1)",
                          [](TrainConfig& t, double v) { t.lr_schedule.factor = v; });
  add_config_flag<int64_t>(c, f, "--lr-every", "step: epochs between decays (1)",
                           [](TrainConfig& t, int64_t v) { t.lr_schedule.every = v; }, 1);
  add_config_flag<int64_t>(c, f, "--lr-patience", "plateau: epochs without improvement tolerated (0)",
                           [](TrainConfig& t, int64_t v) { t.lr_schedule.patience = v; }, 0);
  add_config_flag<double>(c, f, "--lr-threshold", "plateau: relative improvement required (0)",
                          [](TrainConfig& t, double v) { t.lr_schedule.threshold = v; });
  add_config_flag<double>(c, f, "--lr-min", "plateau: floor; cosine: final rate (0)",
                          [](TrainConfig& t, double v) { t.lr_schedule.minimum = v; });
  f.lr_period_option = add_config_flag<int64_t>(
      c, f, "--lr-period", "cosine: epochs of the half cosine (default: --epochs)",
      [](TrainConfig& t, int64_t v) { t.lr_schedule.period = v; }, 1);
}

void add_data_config_flags(CLI::App& c, TrainFlags& f) {
  add_config_flag<int64_t>(c, f, "--batch-size", "Sequences per batch (N)",
                           [](TrainConfig& t, int64_t v) { t.batch_size = v; }, 1);
  add_config_flag<int64_t>(c, f, "--bptt", "wikitext2: steps per truncated-BPTT segment",
                           [](TrainConfig& t, int64_t v) { t.bptt = v; }, 1);
  add_config_flag<uint64_t>(c, f, "--seed", "Seed of the initial weights, shuffles and dropout",
                            [](TrainConfig& t, uint64_t v) { t.seed = v; });
  add_config_flag<int64_t>(
      c, f, "--max-train", "Use only this many training sequences (tokens for wikitext2); 0 = all",
      [](TrainConfig& t, int64_t v) { t.max_train = v; }, 0);
  add_config_flag<int64_t>(
      c, f, "--max-eval", "Use only this many validation/test sequences (tokens); 0 = all",
      [](TrainConfig& t, int64_t v) { t.max_eval = v; }, 0);
  add_config_flag<int64_t>(c, f, "--synthetic-steps", "synthetic: steps per sequence (T)",
                           [](TrainConfig& t, int64_t v) { t.synthetic_steps = v; }, 2);
  add_config_flag<int64_t>(c, f, "--synthetic-train", "synthetic: training sequences",
                           [](TrainConfig& t, int64_t v) { t.synthetic_train = v; }, 1);
  f.shards_option = c.add_option("--shards", f.shards,
                                 "Cut each batch into this many fixed shards whose gradients are "
                                 "summed in a fixed tree (1 = the whole batch, as before): the same "
                                 "bits in one process and under mpirun on any rank count dividing it "
                                 "(at most --batch-size)")
                      ->check(at_least(1));
  add_bool_flag(c, f, "--skip-bad-recordings",
                "digits: leave out the recordings that cannot be used (too short, corrupt, "
                "misnamed, of another format), naming them, instead of refusing the data set",
                [](TrainConfig& t, bool v) { t.skip_bad_recordings = v; });
  add_config_flag<int64_t>(c, f, "--synthetic-eval", "synthetic: validation and test sequences, each",
                           [](TrainConfig& t, int64_t v) { t.synthetic_eval = v; }, 1);
}

}  // namespace

/// The flags that decide the run's results, one item per flag given ("--lr": "0.1"), in
/// the command's order: what the ranks of a distributed run compare at start, so that a
/// difference is named flag by flag. --threads and --schedule may differ between ranks:
/// results do not depend on them.
std::vector<dist::ConfigItem> result_flags(const CLI::App& command) {
  std::vector<dist::ConfigItem> items;
  for (const CLI::Option* option : command.get_options()) {
    if (option->count() == 0 || option->get_name() == "--threads" || option->get_name() == "--schedule") continue;
    std::string values;
    for (const std::string& value : option->results()) values += (values.empty() ? "" : " ") + value;
    items.push_back({option->get_name(), values});
  }
  if (items.size() < static_cast<size_t>(dist::kMaxConfigItems)) return items;
  std::string all;  // more flags than items: one item (the command has fewer options)
  for (const dist::ConfigItem& item : items) all += (all.empty() ? "" : " ") + item.name + " " + item.value;
  return {{"flags", all}};
}

/// A hash of the executable's bytes (two ranks running different builds differ), or the
/// compiler and compile time of this file where the executable cannot be read.
std::string build_id() {
  std::ifstream exe("/proc/self/exe", std::ios::binary);
  if (!exe) return std::string("compiled ") + __DATE__ + " " + __TIME__ + " by " + __VERSION__;
  uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a
  std::vector<char> block(1 << 16);
  while (exe.read(block.data(), static_cast<std::streamsize>(block.size())) || exe.gcount() > 0) {
    for (std::streamsize i = 0; i < exe.gcount(); ++i) {
      hash = (hash ^ static_cast<unsigned char>(block[static_cast<size_t>(i)])) * 0x100000001b3ULL;
    }
  }
  std::ostringstream out;
  out << "executable fnv1a " << std::hex << hash;
  return out.str();
}

void add_train_command(CLI::App& app) {
  auto flags = std::make_shared<TrainFlags>();
  CLI::App* c = flags->command = app.add_subcommand(
      "train", "Train a model on a task into a run directory (one checkpoint per epoch), or "
               "continue one (--resume)");
  c->add_option("--task", flags->task, "synthetic (the adding problem), digits (FSDD spoken "
                                       "digits) or wikitext2 (word language model)");
  c->add_option("--out", flags->out, "Run directory to create (refused if it holds a run)");
  c->add_option("--resume", flags->resume,
                "Continue the run in this directory from its checkpoint, to --epochs in all")
      ->excludes("--task")
      ->excludes("--out");
  flags->data_option = c->add_option(
      "--data", flags->data,
      "Data folder holding fsdd/ and wikitext-2/ (default: $RNNWAVE_DATA_DIR, else for the "
      "tool in the build tree the shared data folder beside the source tree, else data/)");
  add_model_config_flags(*c, *flags);
  add_optimizer_config_flags(*c, *flags);
  add_data_config_flags(*c, *flags);
  flags->epochs_option = c->add_option("--epochs", flags->epochs,
                                       "Epochs in all (with --resume: the new total)")
                             ->check(at_least(1));
  c->add_option("--stop-after", flags->stop_after,
                "End this invocation after this many epochs (continue later with --resume); "
                "0 = train to --epochs")
      ->check(at_least(0));
  c->add_option("--threads", flags->exec.threads, "Worker threads; 0 (default) = all cores");
  c->add_option("--schedule", flags->exec.schedule,
                "Schedule of the recurrent stack: wavefront (default), layerwise or sequential; "
                "results do not depend on it or on --threads");
  c->add_option("--trace", flags->exec.trace,
                "Write a Chrome trace-event timeline (Perfetto) of every task of the run to this "
                "file; under mpirun one file per rank, T.rank<r>.json, on a common clock, with "
                "the combination of each gradient bucket (keep the run short)");
  c->add_flag("--pipeline", flags->pipeline,
              "Under mpirun: a layer pipeline instead of data-parallel training: each rank runs a "
              "contiguous range of the recurrent layers, each step block of a boundary layer's output "
              "(and of its gradient) sent on as soon as it is final; the rest of the model runs on every "
              "rank; results bit-identical to one process (docs/distributed.md)");
  flags->rank_timeout_option =
      c->add_option("--rank-timeout", flags->rank_timeout,
                    "Under mpirun: seconds a rank waits for another without any message before "
                    "ending the job with an error naming it (60)")
          ->check(CLI::Range(1e-3, 1e6));
  c->add_option("--export-data", flags->export_data,
                "Also write the data the run trains on (splits and per-epoch batch order) to "
                "this .npz, for bench/train/pytorch_train.py");
  c->footer(task_defaults);
  c->callback([flags] { run(*flags); });
}

}  // namespace rnnwave::tools
