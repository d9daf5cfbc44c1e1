// A training run: epochs of optimizer steps over a task's batches, validation, the
// learning-rate schedule, checkpoints and exports.
#include "rnnwave/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>

#include "common/finite.h"
#include "common/scoped_threads.h"
#include "common/strings.h"
#include "rnnwave/dist/shard_reducer.h"
#include "rnnwave/dist/shard_tree.h"
#include "rnnwave/npy.h"
#include "rnnwave/train/clip.h"
#include "train/checkpoint.h"
#include "train/task_model.h"
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
void gather_gradients(const std::vector<train::ModelParam>& params, std::span<float> out) {
  size_t at = 0;
  for (const train::ModelParam& p : params) {
    std::copy(p.grad.begin(), p.grad.end(), out.begin() + static_cast<std::ptrdiff_t>(at));
    at += p.grad.size();
  }
}

/// The inverse of gather_gradients.
void scatter_gradients(std::span<const float> values, const std::vector<train::ModelParam>& params) {
  size_t at = 0;
  for (const train::ModelParam& p : params) {
    std::copy(values.begin() + static_cast<std::ptrdiff_t>(at),
              values.begin() + static_cast<std::ptrdiff_t>(at + p.grad.size()), p.grad.begin());
    at += p.grad.size();
  }
}

int64_t gradient_count(const std::vector<train::ModelParam>& params) {
  int64_t count = 0;
  for (const train::ModelParam& p : params) count += static_cast<int64_t>(p.grad.size());
  return count;
}

/// The bucket of a shard's loss sums: its summed loss and its item count.
constexpr int64_t kSums = 2;

}  // namespace

struct Trainer::Impl {
  Impl(const TrainConfig& c, std::unique_ptr<train::TaskModel> t)
      : config(c), task(std::move(t)), optimizer(c.optimizer), schedule(schedule_options(c)) {}

  TrainConfig config;
  std::unique_ptr<train::TaskModel> task;
  Optimizer optimizer;
  LrSchedule schedule;
  std::vector<EpochMetrics> history;

  // Shards (config.shards > 1). Over the ranks of a World (distribute): one bucket for all
  // gradients and one for the loss sums. In one process: a buffer per shard, summed by
  // dist::tree_sum, the function the reducers compute.
  std::unique_ptr<dist::ShardReducer<float>> gradient_reducer;
  std::unique_ptr<dist::ShardReducer<double>> sums_reducer;
  std::vector<std::vector<float>> shard_gradients;
  std::vector<std::vector<double>> shard_sums;

  train::BatchLoss train_batch(int64_t batch);
  train::BatchLoss train_sharded_batch(int64_t batch);
};

train::BatchLoss Trainer::Impl::train_batch(int64_t batch) {
  // One shard is the whole batch, as before shards existed: no tree, the batch's own
  // dropout key (and with one shard there is one rank).
  if (config.shards == 1) return task->train_batch(batch);
  return train_sharded_batch(batch);
}

train::BatchLoss Trainer::Impl::train_sharded_batch(int64_t batch) {
  const std::vector<train::ModelParam> params = task->parameters();
  const int64_t shards = config.shards;
  const int64_t count = gradient_count(params);
  const dist::ShardPlan plan = gradient_reducer ? gradient_reducer->plan() : dist::ShardPlan(shards, 1, 0);
  if (!gradient_reducer) {
    shard_gradients.resize(static_cast<size_t>(shards));
    shard_sums.resize(static_cast<size_t>(shards));
  }
  for (int64_t i = 0; i < plan.local_shards(); ++i) {
    const train::ShardLoss loss = task->train_shard(batch, plan.first_shard() + i, shards);
    std::span<float> gradient;
    std::span<double> sums;
    if (gradient_reducer) {
      gradient = gradient_reducer->local(0, i);
      sums = sums_reducer->local(0, i);
    } else {
      shard_gradients[i].resize(static_cast<size_t>(count));
      shard_sums[i].resize(kSums);
      gradient = shard_gradients[i];
      sums = shard_sums[i];
    }
    gather_gradients(params, gradient);
    sums[0] = loss.total;
    sums[1] = static_cast<double>(loss.items);
  }
  std::span<const double> totals;
  if (gradient_reducer) {
    gradient_reducer->start(0);
    sums_reducer->start(0);
    gradient_reducer->wait(0);
    sums_reducer->wait(0);
    scatter_gradients(gradient_reducer->result(0), params);
    totals = sums_reducer->result(0);
  } else {
    std::vector<std::span<float>> gradients(shard_gradients.begin(), shard_gradients.end());
    std::vector<std::span<double>> sums(shard_sums.begin(), shard_sums.end());
    dist::tree_sum<float>(gradients, gradients[0]);
    dist::tree_sum<double>(sums, sums[0]);
    scatter_gradients(gradients[0], params);
    totals = sums[0];
  }
  train::BatchLoss loss;
  loss.items = static_cast<int64_t>(totals[1]);
  loss.mean = totals[0] / totals[1];
  return loss;
}

Trainer::Trainer(const TrainConfig& config) {
  config.validate();
  const ScopedThreads threads(config.exec.threads);
  impl_ = std::make_unique<Impl>(config, train::make_task_model(config, nullptr));
}

Trainer::Trainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Trainer::~Trainer() = default;
Trainer::Trainer(Trainer&&) noexcept = default;
Trainer& Trainer::operator=(Trainer&&) noexcept = default;

const TrainConfig& Trainer::config() const { return impl_->config; }
int64_t Trainer::epochs_done() const { return static_cast<int64_t>(impl_->history.size()); }
const std::vector<EpochMetrics>& Trainer::history() const { return impl_->history; }

EpochMetrics Trainer::train_epoch(const std::function<void(const TrainProgress&)>& on_progress) {
  Impl& run = *impl_;
  const ScopedThreads threads(run.config.exec.threads);
  const int64_t epoch = epochs_done();
  const double rate = run.schedule.rate();
  const auto start = std::chrono::steady_clock::now();
  const int64_t batches = run.task->begin_epoch(epoch);
  if (batches < 1) fail("epoch ", epoch + 1, ": the training set has no batch");
  double loss_sum = 0;
  int64_t items = 0;
  for (int64_t b = 0; b < batches; ++b) {
    train::BatchLoss loss;
    // Inside a step every array comes from the model: a NaN or infinity there means the
    // run diverged, which the message says with what to change.
    const std::string where = cat("epoch ", epoch + 1, ", batch ", b + 1, " of ", batches);
    try {
      loss = run.train_batch(b);
      if (std::isfinite(loss.mean)) {
        const std::vector<ParamRef<float>> params = train::param_refs(run.task->parameters());
        if (run.config.clip_norm > 0) clip_grad_norm<float>(params, run.config.clip_norm);
        run.optimizer.step(params);
        run.task->parameters_changed();
      }
    } catch (const NonFiniteError& e) {
      diverged(run.config, rate, where, non_finite_detail(e));
    } catch (const Error& e) {
      fail_as(e.kind(), where, ": ", e.what());
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
    valid = run.task->evaluate(EvalSplit::validation);
  } catch (const NonFiniteError& e) {
    diverged(run.config, rate, where, non_finite_detail(e));
  } catch (const Error& e) {
    fail_as(e.kind(), where, ": ", e.what());
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
  const int64_t count = gradient_count(run.task->parameters());
  run.gradient_reducer = std::make_unique<dist::ShardReducer<float>>(
      world, run.config.shards, std::vector<dist::ShardReducer<float>::Bucket>{{"the gradients", count}});
  run.sums_reducer = std::make_unique<dist::ShardReducer<double>>(
      world, run.config.shards, std::vector<dist::ShardReducer<double>::Bucket>{{"the loss sums", kSums}});
  run.shard_gradients.clear();
  run.shard_sums.clear();
}

std::string Trainer::data_order_digest() {
  const ScopedThreads threads(impl_->config.exec.threads);
  train::DataExport out;
  out.add<int64_t>("task", {static_cast<int64_t>(impl_->config.task)});
  impl_->task->export_data(impl_->config.epochs, out);
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
  return impl_->task->evaluate(split);
}

Trainer::Prediction Trainer::predict_wav(const std::string& wav_path) const {
  const ScopedThreads threads(impl_->config.exec.threads);
  return impl_->task->predict_wav(wav_path);
}

void Trainer::export_parameters(const std::string& path) const {
  std::map<std::string, Tensor> named;
  for (const train::ModelParam& p : impl_->task->parameters()) {
    named.emplace(p.name, Tensor(p.shape, std::vector<float>(p.value.begin(), p.value.end())));
  }
  save_npz<float>(path, named);
}

void Trainer::export_data(const std::string& path) {
  const ScopedThreads threads(impl_->config.exec.threads);
  train::DataExport out;
  out.add<int64_t>("task", {static_cast<int64_t>(impl_->config.task)});
  impl_->task->export_data(impl_->config.epochs, out);
  out.write(path);
}

void Trainer::save_checkpoint(const std::string& path) const {
  const Impl& run = *impl_;
  train::Checkpoint c;
  c.config_json = train::config_to_json(run.config);
  c.epochs_done = epochs_done();
  c.history = run.history;
  for (const train::ModelParam& p : run.task->parameters()) {
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
void load_parameters(const train::CheckpointReader& saved, const std::vector<train::ModelParam>& params) {
  const std::string& what = saved.what();
  std::set<std::string> names;
  for (const train::ModelParam& p : params) names.insert(p.name);
  const std::vector<std::string>& held = saved.parameter_names();
  for (const std::string& name : held) {
    if (names.count(name) == 0) {
      fail(what, ": unexpected parameter ", quote_for_message(name), " of shape ",
           shape_to_string(saved.parameter_shape(name)), " (not a parameter of this model)");
    }
  }
  for (const train::ModelParam& p : params) {
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
  for (const train::ModelParam& p : params) {
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
                                           const std::vector<train::ModelParam>& params,
                                           const std::vector<std::string>& buffers) {
  const std::string& what = saved.what();
  std::map<std::string, int64_t> sizes;
  for (const train::ModelParam& p : params) sizes.emplace(p.name, static_cast<int64_t>(p.value.size()));
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
  for (const train::ModelParam& p : params) {
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
  const train::CheckpointReader saved(path);
  const std::string& what = saved.what();
  TrainConfig config = with_context(what, [&] {
    TrainConfig parsed = train::config_from_json(saved.config_json());
    parsed.exec = exec;
    parsed.validate();
    return parsed;
  });
  const ScopedThreads threads(config.exec.threads);
  std::unique_ptr<train::TaskModel> task =
      with_context(what, [&] { return train::make_task_model(config, &saved.task_state()); });
  for (const auto& [key, tensor] : saved.task_state()) {
    if (task->task_state().count(key) == 0) {
      fail(what, ": unexpected task state ", quote_for_message("task/" + key), " for task ", to_string(config.task));
    }
  }
  const std::vector<train::ModelParam> params = task->parameters();
  load_parameters(saved, params);
  task->parameters_changed();

  auto impl = std::make_unique<Impl>(config, std::move(task));
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
