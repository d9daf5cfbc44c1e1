// A training run: epochs of optimizer steps over a task's batches, validation, the
// learning-rate schedule, checkpoints and exports. The task is a TrainingTask, built in
// (train/builtin_task.h) or the program's own (a TaskFactory).
#include "rnnwave/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <regex>
#include <set>

#include "common/finite.h"
#include "common/scoped_threads.h"
#include "common/strings.h"
#include "rnnwave/dist/shard_reducer.h"
#include "rnnwave/dist/shard_tree.h"
#include "rnnwave/npy.h"
#include "rnnwave/train/clip.h"
#include "train/checkpoint.h"
#include "train/eval_shards.h"
#include "train/builtin_task.h"
#include "train/gradient_buckets.h"
#include "train/train_config_json.h"

namespace rnnwave {
namespace {

LrScheduleOptions schedule_options(const TrainConfig& config) {
  LrScheduleOptions options = config.lr_schedule;
  options.initial = config.optimizer.learning_rate;
  return options;
}

/// The optimizer refuses a rate of 0, which a schedule reaches (cosine with minimum 0 after
/// `period` epochs): it then gets the smallest positive double, with which no float
/// parameter changes, while its buffers are updated as torch's would be at rate 0.
double optimizer_rate(double scheduled) {
  return scheduled > 0 ? scheduled : std::numeric_limits<double>::denorm_min();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Runs `body`, prefixing any Error it throws with `what`.
template <class Body>
auto with_context(const std::string& what, Body&& body) {
  try {
    return body();
  } catch (const Error& e) {
    fail_as(e.kind(), what, ": ", e.what());
  }
}

/// What a NonFiniteError says, without the note for inputs ("see README").
std::string non_finite_detail(const NonFiniteError& error) {
  const std::string message = error.what();
  return message.substr(0, message.find(" (non-finite values are rejected"));
}

/// "training diverged at epoch 1, batch 2 of 16 (the loss is inf); try a lower learning
/// rate (now 1e+30) or clipping the gradient norm (...)".
[[noreturn]] void diverged(const TrainConfig& config, double rate, const std::string& where,
                           const std::string& detail) {
  const std::string advice =
      config.clip_norm > 0
          ? cat("try a lower learning rate (now ", rate, ") or a lower gradient clipping threshold (clip_norm, now ",
                config.clip_norm, ")")
          : cat("try a lower learning rate (now ", rate,
                ") or clipping the gradient norm (clip_norm; --clip on the command line)");
  fail("training diverged at ", where, " (", detail, "); ", advice);
}

/// The gradient buffers of `params`, one after another, into `out`.
void gather_gradients(const std::vector<Parameter<float>>& params, std::span<float> out) {
  size_t at = 0;
  for (const Parameter<float>& p : params) {
    std::copy(p.grad.begin(), p.grad.end(), out.begin() + static_cast<std::ptrdiff_t>(at));
    at += p.grad.size();
  }
}

/// The inverse of gather_gradients.
void scatter_gradients(std::span<const float> values, const std::vector<Parameter<float>>& params) {
  size_t at = 0;
  for (const Parameter<float>& p : params) {
    std::copy(values.begin() + static_cast<std::ptrdiff_t>(at),
              values.begin() + static_cast<std::ptrdiff_t>(at + p.grad.size()), p.grad.begin());
    at += p.grad.size();
  }
}

int64_t gradient_count(const std::vector<Parameter<float>>& params) {
  int64_t count = 0;
  for (const Parameter<float>& p : params) count += static_cast<int64_t>(p.grad.size());
  return count;
}

/// The bucket of a shard's loss sums: its summed loss and its item count.
constexpr int64_t kSums = 2;

/// The factory of a built-in task: the name to_string(task), make_builtin_task.
TaskFactory builtin_factory(TrainTask task) {
  return {std::string(to_string(task)),
          [](const TrainConfig& config, const TaskState* saved) -> std::unique_ptr<TrainingTask> {
            return train::make_builtin_task(config, saved);
          }};
}

/// Throws unless `name` can name a program's own task: [a-z0-9_]{1,32}, no built-in's.
void check_task_name(const std::string& name) {
  static const std::regex kName("[a-z0-9_]{1,32}");
  if (!std::regex_match(name, kName)) {
    fail("task name ", quote_for_message(name, 80), ": expected 1 to 32 of a-z, 0-9 and '_'");
  }
  for (TrainTask task : kAllTrainTasks) {
    if (name == to_string(task)) fail("task name '", name, "' is the name of a built-in task; choose another");
  }
  // The factory's function is checked by the caller, after the name: its message names it.
}

/// factory.make(config, saved), its failures as one Error naming the task.
std::unique_ptr<TrainingTask> make_task(const TaskFactory& factory, const TrainConfig& config,
                                        const TaskState* saved) {
  const std::string what = cat("task ", quote_for_message(factory.name, 80));
  if (!factory.make) fail(what, ": the TaskFactory has no make function");
  std::unique_ptr<TrainingTask> task;
  try {
    task = factory.make(config, saved);
  } catch (const Error& e) {
    fail_as(e.kind(), what, ": ", e.what());
  } catch (const std::exception& e) {
    fail(what, ": the task factory failed: ", quote_for_message(e.what(), 400));
  }
  if (!task) fail(what, ": the task factory returned no task");
  return task;
}

/// The task's parameters, checked once: unique non-empty names, shapes of non-negative
/// dimensions whose product is the value's and the gradient's size.
std::vector<Parameter<float>> checked_parameters(TrainingTask& task, const std::string& task_name) {
  std::vector<Parameter<float>> params = task.parameters();
  const std::string what = cat("task ", quote_for_message(task_name, 80));
  if (params.empty()) fail(what, ": parameters() returned no parameter");
  std::set<std::string> names;
  for (size_t i = 0; i < params.size(); ++i) {
    const Parameter<float>& p = params[i];
    if (p.name.empty()) fail(what, ": parameter ", i, " has an empty name");
    const std::string param = cat(what, ": parameter ", quote_for_message(p.name, 80));
    if (!names.insert(p.name).second) fail(param, " is given twice");
    int64_t elements = 1;
    for (int64_t d : p.shape) {
      if (d < 0 || (d > 0 && elements > (int64_t{1} << 40) / d)) {
        fail(param, ": shape ", shape_to_string(p.shape), " is not a tensor's shape");
      }
      elements *= d;
    }
    if (static_cast<int64_t>(p.value.size()) != elements) {
      fail(param, ": its value has ", p.value.size(), " elements, its shape ", shape_to_string(p.shape), " ",
           elements);
    }
    if (p.grad.size() != p.value.size()) {
      fail(param, ": its gradient has ", p.grad.size(), " elements, its value ", p.value.size());
    }
  }
  return params;
}

}  // namespace

struct Trainer::Impl {
  Impl(const TrainConfig& c, TaskFactory f, bool is_builtin, std::unique_ptr<TrainingTask> t)
      : config(c),
        factory(std::move(f)),
        builtin(is_builtin),
        task(std::move(t)),
        params(checked_parameters(*task, factory.name)),
        optimizer(c.optimizer),
        schedule(schedule_options(c)) {}

  TrainConfig config;
  TaskFactory factory;  // its name is the run's task
  bool builtin;         // a built-in task (a train::BuiltinTask), else the program's own
  std::unique_ptr<TrainingTask> task;
  std::vector<Parameter<float>> params;  // the task's, asked once
  Optimizer optimizer;
  LrSchedule schedule;
  std::vector<EpochMetrics> history;

  // Shards (config.shards > 1). Over the ranks of a World (distribute): a bucket per
  // gradient group of the task and one for the loss sums. In one process: a buffer per
  // shard, summed by dist::tree_sum, the function the reducers compute.
  std::unique_ptr<train::GradientBuckets> gradient_buckets;
  std::unique_ptr<dist::ShardReducer<double>> sums_reducer;
  std::vector<std::vector<float>> shard_gradients;
  std::vector<std::vector<double>> shard_sums;
  // The evaluation's sums over the ranks (evaluate_in_parts), when distributed.
  std::unique_ptr<dist::ShardReducer<double>> eval_reducer;
  bool pipelined = false;  // the stack runs as a layer pipeline over the ranks (pipeline)

  BatchLoss train_batch(int64_t batch);
  BatchLoss train_sharded_batch(int64_t batch);
  /// Shard `shard` with the task announcing its gradient groups to gradient_buckets.
  ShardLoss train_announced_shard(int64_t batch, int64_t shard);
  /// The task as a built-in one, for what only those do (`what` names the call).
  train::BuiltinTask& builtin_task(const char* what) const;
  /// The config as checkpoints store it: a program's own task under its factory's name.
  std::string config_json() const;
};

train::BuiltinTask& Trainer::Impl::builtin_task(const char* what) const {
  if (!builtin) fail(what, ": task '", factory.name, "' is not a built-in task; only those export their data");
  return static_cast<train::BuiltinTask&>(*task);
}

std::string Trainer::Impl::config_json() const {
  return builtin ? train::config_to_json(config) : train::config_to_json(config, factory.name);
}

BatchLoss Trainer::Impl::train_batch(int64_t batch) {
  // One shard is the whole batch, as before shards existed: no tree, the batch's own
  // dropout key (and with one shard there is one rank).
  if (config.shards == 1) return task->train_batch(batch);
  return train_sharded_batch(batch);
}

ShardLoss Trainer::Impl::train_announced_shard(int64_t batch, int64_t shard) {
  train::GradientBuckets* buckets = gradient_buckets.get();
  task->set_gradients_final([buckets](int64_t group) { buckets->group_final(group); });
  ShardLoss loss;
  try {
    loss = task->train_shard(batch, shard, config.shards);
  } catch (...) {
    task->set_gradients_final({});
    throw;
  }
  task->set_gradients_final({});
  return loss;
}

BatchLoss Trainer::Impl::train_sharded_batch(int64_t batch) {
  const int64_t shards = config.shards;
  const int64_t count = gradient_count(params);
  const dist::ShardPlan plan = gradient_buckets ? gradient_buckets->plan() : dist::ShardPlan(shards, 1, 0);
  if (!gradient_buckets) {
    shard_gradients.resize(static_cast<size_t>(shards));
    shard_sums.resize(static_cast<size_t>(shards));
  }
  for (int64_t i = 0; i < plan.local_shards(); ++i) {
    const int64_t shard = plan.first_shard() + i;
    std::span<double> sums;
    ShardLoss loss;
    if (gradient_buckets) {
      // The rank's last shard starts each bucket as the task finishes its group (the
      // head, then the layers from the top): the combination overlaps the backward of
      // the layers below. The shards before it only fill their buckets.
      const bool last = i + 1 == plan.local_shards();
      gradient_buckets->begin_shard(i, last);
      loss = last ? train_announced_shard(batch, shard) : task->train_shard(batch, shard, shards);
      gradient_buckets->end_shard();
      sums = sums_reducer->local(0, i);
    } else {
      loss = task->train_shard(batch, shard, shards);
      shard_gradients[i].resize(static_cast<size_t>(count));
      shard_sums[i].resize(kSums);
      gather_gradients(params, shard_gradients[i]);
      sums = shard_sums[i];
    }
    sums[0] = loss.total;
    sums[1] = static_cast<double>(loss.items);
  }
  std::span<const double> totals;
  if (gradient_buckets) {
    sums_reducer->start(0);
    gradient_buckets->finish();
    sums_reducer->wait(0);
    totals = sums_reducer->result(0);
  } else {
    std::vector<std::span<float>> gradients(shard_gradients.begin(), shard_gradients.end());
    std::vector<std::span<double>> sums(shard_sums.begin(), shard_sums.end());
    dist::tree_sum<float>(gradients, gradients[0]);
    dist::tree_sum<double>(sums, sums[0]);
    scatter_gradients(gradients[0], params);
    totals = sums[0];
  }
  BatchLoss loss;
  loss.items = static_cast<int64_t>(totals[1]);
  loss.mean = totals[0] / totals[1];
  return loss;
}

Trainer::Trainer(const TrainConfig& config) {
  config.validate();
  const ScopedThreads threads(config.exec.threads);
  TaskFactory factory = builtin_factory(config.task);
  std::unique_ptr<TrainingTask> task = train::make_builtin_task(config, nullptr);
  impl_ = std::make_unique<Impl>(config, std::move(factory), true, std::move(task));
}

Trainer::Trainer(const TrainConfig& config, TaskFactory factory) {
  check_task_name(factory.name);
  TrainConfig own = config;
  own.task = TrainConfig{}.task;  // not this run's: the factory's name is (see TrainConfig::task)
  own.validate();
  const ScopedThreads threads(own.exec.threads);
  std::unique_ptr<TrainingTask> task = make_task(factory, own, nullptr);
  impl_ = std::make_unique<Impl>(own, std::move(factory), false, std::move(task));
}

Trainer::Trainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Trainer::~Trainer() = default;
Trainer::Trainer(Trainer&&) noexcept = default;
Trainer& Trainer::operator=(Trainer&&) noexcept = default;

const TrainConfig& Trainer::config() const { return impl_->config; }
const std::string& Trainer::task_name() const { return impl_->factory.name; }
TrainingTask& Trainer::task() { return *impl_->task; }
const TrainingTask& Trainer::task() const { return *impl_->task; }
int64_t Trainer::epochs_done() const { return static_cast<int64_t>(impl_->history.size()); }
const std::vector<EpochMetrics>& Trainer::history() const { return impl_->history; }

const CommunicationStats& Trainer::communication() const {
  static const CommunicationStats kNone;
  return impl_->gradient_buckets ? impl_->gradient_buckets->stats() : kNone;
}

EpochMetrics Trainer::train_epoch(const std::function<void(const TrainProgress&)>& on_progress) {
  Impl& run = *impl_;
  const ScopedThreads threads(run.config.exec.threads);
  const int64_t epoch = epochs_done();
  const double rate = run.schedule.rate();
  const auto start = std::chrono::steady_clock::now();
  int64_t batches = 0;
  try {
    run.task->load_data();
    batches = run.task->begin_epoch(epoch);
  } catch (const Error&) {
    throw;  // as it is: the built-in tasks' messages name the data
  } catch (const std::exception& e) {  // a program's own task may throw anything
    fail("epoch ", epoch + 1, ": ", quote_for_message(e.what(), 400));
  }
  if (batches < 1) fail("epoch ", epoch + 1, ": the training set has no batch");
  double loss_sum = 0;
  int64_t items = 0;
  if (run.gradient_buckets) run.gradient_buckets->reset_stats();
  for (int64_t b = 0; b < batches; ++b) {
    BatchLoss loss;
    // Inside a step every array comes from the model: a NaN or infinity there means the
    // run diverged, which the message says with what to change.
    const std::string where = cat("epoch ", epoch + 1, ", batch ", b + 1, " of ", batches);
    try {
      loss = run.train_batch(b);
      if (std::isfinite(loss.mean)) {
        if (run.config.clip_norm > 0) clip_grad_norm<float>(run.params, run.config.clip_norm);
        run.optimizer.step(run.params);
        run.task->parameters_changed();
      }
    } catch (const NonFiniteError& e) {
      diverged(run.config, rate, where, non_finite_detail(e));
    } catch (const Error& e) {
      fail_as(e.kind(), where, ": ", e.what());
    } catch (const std::exception& e) {  // a program's own task may throw anything
      fail(where, ": ", quote_for_message(e.what(), 400));
    }
    if (!std::isfinite(loss.mean)) diverged(run.config, rate, where, cat("the loss is ", loss.mean));
    loss_sum += loss.mean;
    items += loss.items;
    if (on_progress) {
      TrainProgress progress;
      progress.epoch = epoch + 1;
      progress.batch = b + 1;
      progress.batches = batches;
      progress.loss = loss_sum / static_cast<double>(b + 1);
      progress.seconds = seconds_since(start);
      progress.items_per_second = static_cast<double>(items) / std::max(progress.seconds, 1e-9);
      on_progress(progress);
    }
  }
  const double train_seconds = seconds_since(start);
  const std::string where = cat("epoch ", epoch + 1, ", validation");
  EvalResult valid;
  try {
    run.task->load_data();
    valid = train::evaluate_in_parts(*run.task, EvalSplit::validation, run.config.shards, run.eval_reducer.get());
  } catch (const NonFiniteError& e) {
    diverged(run.config, rate, where, non_finite_detail(e));
  } catch (const Error& e) {
    fail_as(e.kind(), where, ": ", e.what());
  } catch (const std::exception& e) {
    fail(where, ": ", quote_for_message(e.what(), 400));
  }
  if (!std::isfinite(valid.loss)) diverged(run.config, rate, where, cat("the validation loss is ", valid.loss));
  EpochMetrics metrics;
  metrics.epoch = epoch + 1;
  metrics.train_loss = loss_sum / static_cast<double>(batches);
  metrics.valid_loss = valid.loss;
  metrics.valid_accuracy = valid.accuracy;
  metrics.valid_perplexity = valid.perplexity;
  metrics.learning_rate = rate;
  metrics.train_seconds = train_seconds;
  metrics.items_per_second = static_cast<double>(items) / std::max(train_seconds, 1e-9);
  run.optimizer.set_learning_rate(optimizer_rate(run.schedule.end_epoch(valid.loss)));
  run.history.push_back(metrics);
  return metrics;
}

void Trainer::distribute(dist::World& world) {
  Impl& run = *impl_;
  if (run.pipelined) fail("distribute: the trainer runs a layer pipeline over the ranks already (one or the other)");
  std::vector<GradientGroup> groups;
  try {
    groups = run.task->gradient_groups();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {  // a program's own task may throw anything
    fail("task ", quote_for_message(run.factory.name, 80), ": gradient_groups: ", quote_for_message(e.what(), 400));
  }
  run.gradient_buckets = std::make_unique<train::GradientBuckets>(
      world, run.config.shards, run.params, train::checked_gradient_groups(groups, run.params, run.factory.name));
  run.gradient_buckets->set_trace(run.config.exec.trace);
  run.sums_reducer = std::make_unique<dist::ShardReducer<double>>(
      world, run.config.shards, std::vector<dist::ShardReducer<double>::Bucket>{{"the loss sums", kSums}});
  distribute_evaluation(world);
  run.shard_gradients.clear();
  run.shard_sums.clear();
}

void Trainer::pipeline(dist::World& world) {
  Impl& run = *impl_;
  if (!run.builtin) {
    fail("pipeline: task ", quote_for_message(run.factory.name, 80),
         " is not a built-in task; a program's own task can run its stack on a dist::PipelineStage itself");
  }
  if (run.gradient_buckets || run.eval_reducer) fail("pipeline: the trainer is data-parallel over the ranks already (one or the other)");
  const ScopedThreads threads(run.config.exec.threads);
  static_cast<train::BuiltinTask&>(*run.task).use_pipeline(world);
  run.pipelined = true;
}

void Trainer::distribute_evaluation(dist::World& world) {
  if (impl_->pipelined) fail("distribute_evaluation: the trainer runs a layer pipeline over the ranks already");
  impl_->eval_reducer = std::make_unique<dist::ShardReducer<double>>(
      world, impl_->config.shards,
      std::vector<dist::ShardReducer<double>::Bucket>{{"the evaluation sums", train::kEvalSums}});
}

std::string Trainer::data_order_digest() {
  const ScopedThreads threads(impl_->config.exec.threads);
  train::BuiltinTask& task = impl_->builtin_task("data_order_digest");
  train::DataExport out;
  out.add<int64_t>("task", {static_cast<int64_t>(impl_->config.task)});
  task.export_data(impl_->config.epochs, out);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(out.digest()));
  return hex;
}

void Trainer::set_epochs(int64_t epochs) {
  if (epochs < 1 || epochs < epochs_done()) {
    fail("epochs must be at least 1 and at least the ", epochs_done(), " epochs done, got ", epochs);
  }
  impl_->config.epochs = epochs;
}

void Trainer::load_data() {
  const ScopedThreads threads(impl_->config.exec.threads);
  impl_->task->load_data();
}

std::string Trainer::data_notes() const { return impl_->task->data_notes(); }

EvalResult Trainer::evaluate(EvalSplit split) {
  const ScopedThreads threads(impl_->config.exec.threads);
  impl_->task->load_data();
  return train::evaluate_in_parts(*impl_->task, split, impl_->config.shards, impl_->eval_reducer.get());
}

void Trainer::export_parameters(const std::string& path) const {
  std::map<std::string, Tensor> named;
  for (const Parameter<float>& p : impl_->params) {
    named.emplace(p.name, Tensor(p.shape, std::vector<float>(p.value.begin(), p.value.end())));
  }
  save_npz<float>(path, named);
}

void Trainer::export_data(const std::string& path) {
  const ScopedThreads threads(impl_->config.exec.threads);
  train::BuiltinTask& task = impl_->builtin_task("export_data");
  train::DataExport out;
  out.add<int64_t>("task", {static_cast<int64_t>(impl_->config.task)});
  task.export_data(impl_->config.epochs, out);
  out.write(path);
}

void Trainer::save_checkpoint(const std::string& path) const {
  const Impl& run = *impl_;
  train::Checkpoint c;
  c.config_json = run.config_json();
  c.epochs_done = epochs_done();
  c.history = run.history;
  for (const Parameter<float>& p : run.params) {
    c.parameters.emplace(p.name, Tensor(p.shape, std::vector<float>(p.value.begin(), p.value.end())));
  }
  c.optimizer = run.optimizer.state();
  c.lr_schedule = run.schedule.state();
  c.task_state = run.task->task_state();
  train::write_checkpoint(path, c);
}

namespace {

/// Copies the saved parameters into the model's, checking names, shapes (from the
/// members' headers, before any data is read) and values.
void load_parameters(const train::CheckpointReader& saved, const std::vector<Parameter<float>>& params) {
  const std::string& what = saved.what();
  std::set<std::string> names;
  for (const Parameter<float>& p : params) names.insert(p.name);
  const std::vector<std::string>& held = saved.parameter_names();
  for (const std::string& name : held) {
    if (names.count(name) == 0) {
      fail(what, ": unexpected parameter ", quote_for_message(name), " of shape ",
           shape_to_string(saved.parameter_shape(name)), " (not a parameter of this model)");
    }
  }
  for (const Parameter<float>& p : params) {
    if (std::find(held.begin(), held.end(), p.name) == held.end()) {
      fail(what, ": missing parameter 'param/", p.name, "' of shape ", shape_to_string(p.shape));
    }
    const std::vector<int64_t> shape = saved.parameter_shape(p.name);
    if (shape != p.shape) {
      fail(what, ": parameter '", p.name, "': expected shape ", shape_to_string(p.shape), ", got ",
           shape_to_string(shape));
    }
  }
  // Every value checked before any is copied: a bad checkpoint leaves the model as it was.
  std::vector<Tensor> values;
  for (const Parameter<float>& p : params) {
    values.push_back(saved.parameter(p.name, p.shape));
    check_finite<float>(values.back().span(), p.shape, cat(what, ": parameter '", p.name, "'"));
  }
  for (size_t i = 0; i < params.size(); ++i) {
    std::copy(values[i].vector().begin(), values[i].vector().end(), params[i].value.begin());
  }
}

/// The optimizer state of the checkpoint, each tensor read with the size of the parameter
/// it belongs to (so a lying member is refused before it is inflated).
OptimizerState<float> read_optimizer_state(const train::CheckpointReader& saved,
                                           const std::vector<Parameter<float>>& params,
                                           const std::vector<std::string>& buffers) {
  const std::string& what = saved.what();
  std::map<std::string, int64_t> sizes;
  for (const Parameter<float>& p : params) sizes.emplace(p.name, static_cast<int64_t>(p.value.size()));
  OptimizerState<float> state;
  state.scalars = saved.optimizer_scalars();
  for (const std::string& key : saved.optimizer_keys()) {
    const size_t slash = key.rfind('/');
    const std::string param = slash == std::string::npos ? key : key.substr(0, slash);
    const std::string entry = quote_for_message("optimizer/" + key);
    const auto it = sizes.find(param);
    if (it == sizes.end()) fail(what, ": optimizer state ", entry, " names no parameter of this model");
    const std::vector<int64_t> shape = saved.optimizer_shape(key);
    if (shape != std::vector<int64_t>{it->second}) {
      fail(what, ": optimizer state ", entry, ": expected ", it->second, " elements, got shape ",
           shape_to_string(shape));
    }
    state.tensors.emplace(key, saved.optimizer_tensor(key, shape));
  }
  if (state.tensors.empty()) return state;  // before the first step of a stateful optimizer
  for (const Parameter<float>& p : params) {
    for (const std::string& buffer : buffers) {
      if (state.tensors.count(p.name + "/" + buffer) == 0) {
        fail(what, ": missing optimizer state 'optimizer/", p.name, "/", buffer, "'");
      }
    }
  }
  return state;
}

}  // namespace

Trainer Trainer::from_checkpoint(const std::string& path, const ExecOptions& exec) {
  return restore(path, exec, nullptr);
}

Trainer Trainer::from_checkpoint(const std::string& path, const ExecOptions& exec, TaskFactory factory) {
  check_task_name(factory.name);
  return restore(path, exec, &factory);
}

Trainer Trainer::restore(const std::string& path, const ExecOptions& exec, const TaskFactory* own) {
  const train::CheckpointReader saved(path);
  const std::string& what = saved.what();
  TrainConfig config = with_context(what, [&] {
    TrainConfig parsed = train::config_from_json(saved.config_json(), own ? own->name : "");
    parsed.exec = exec;
    parsed.validate();
    return parsed;
  });
  const ScopedThreads threads(config.exec.threads);
  TaskFactory factory = own ? *own : builtin_factory(config.task);
  std::unique_ptr<TrainingTask> task = with_context(what, [&] {
    return own ? make_task(factory, config, &saved.task_state())
               : std::unique_ptr<TrainingTask>(train::make_builtin_task(config, &saved.task_state()));
  });
  const TaskState task_state = task->task_state();
  for (const auto& [key, tensor] : saved.task_state()) {
    if (task_state.count(key) == 0) {
      fail(what, ": unexpected task state ", quote_for_message("task/" + key), " for task ",
           quote_for_message(factory.name, 80));
    }
  }
  auto impl = with_context(what, [&] {
    return std::make_unique<Impl>(config, std::move(factory), own == nullptr, std::move(task));
  });
  const std::vector<Parameter<float>>& params = impl->params;
  load_parameters(saved, params);
  impl->task->parameters_changed();

  const OptimizerState<float> optimizer = read_optimizer_state(saved, params, impl->optimizer.buffer_names());
  with_context(what, [&] { impl->optimizer.load_state(optimizer); });
  with_context(what, [&] { impl->schedule.load_state(saved.lr_schedule()); });
  if (impl->schedule.epoch() != saved.epochs_done()) {
    fail(what, ": the learning-rate schedule has seen ", impl->schedule.epoch(), " epochs, the run ",
         saved.epochs_done());
  }
  if (impl->optimizer.learning_rate() != optimizer_rate(impl->schedule.rate())) {
    fail(what, ": the optimizer's learning rate ", impl->optimizer.learning_rate(),
         " is not the schedule's ", impl->schedule.rate());
  }
  impl->history = saved.history();
  return Trainer(std::move(impl));
}

}  // namespace rnnwave
