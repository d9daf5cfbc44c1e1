// WikiText-2 language modelling as a training task, as pytorch/examples'
// word_language_model trains it: the training stream batchified into batch_size columns,
// truncated BPTT over segments of bptt steps with the hidden state carried from one segment
// to the next (detached) and reset at the start of every epoch; validation and test
// streams batchified into 10 columns, scored with the state carried likewise.
#include <algorithm>
#include <cmath>
#include <limits>

#include "common/strings.h"
#include "rnnwave/data_bptt.h"
#include "rnnwave/data_wikitext.h"
#include "train/language_model.h"
#include "train/run_seeds.h"
#include "train/builtin_task.h"

namespace rnnwave::train {
namespace {

/// pytorch/examples word_language_model: eval_batch_size = 10.
constexpr int64_t kEvalBatch = 10;

/// The first `limit` tokens of `stream` (0 = all), laid out in `columns` columns of at
/// least two rows (Error naming the split otherwise).
BasicTensor<int64_t> columns_of(const std::vector<int64_t>& stream, int64_t limit, int64_t columns,
                                const char* split) {
  const int64_t tokens = limit > 0 ? std::min<int64_t>(limit, static_cast<int64_t>(stream.size()))
                                   : static_cast<int64_t>(stream.size());
  if (tokens < 2 * columns) {
    fail("wikitext2: the ", split, " split has ", tokens, " tokens (of ", stream.size(),
         " after max_train/max_eval); ", columns, " columns of at least 2 tokens need ", 2 * columns);
  }
  return batchify(std::span<const int64_t>(stream.data(), static_cast<size_t>(tokens)), columns);
}

/// Segments of a [rows, N] stream: range(0, rows - 1, bptt).
int64_t segments(const BasicTensor<int64_t>& data, int64_t bptt) {
  return (data.dim(0) - 1 + bptt - 1) / bptt;
}

/// The token stream whose batchify into data.dim(1) columns is `data`: column after
/// column (the tokens batchify drops are not part of it).
std::vector<int64_t> stream_of(const BasicTensor<int64_t>& data) {
  const int64_t rows = data.dim(0), columns = data.dim(1);
  std::vector<int64_t> stream(static_cast<size_t>(rows * columns));
  for (int64_t c = 0; c < columns; ++c) {
    for (int64_t r = 0; r < rows; ++r) stream[static_cast<size_t>(c * rows + r)] = data.data()[r * columns + c];
  }
  return stream;
}

class WikitextTask final : public BuiltinTask {
 public:
  WikitextTask(const TrainConfig& config, int64_t vocab_size)
      : config_(config), vocab_size_(vocab_size), model_(config, vocab_size) {}

  std::vector<Parameter<float>> parameters() override { return model_.parameters(); }
  std::vector<GradientGroup> gradient_groups() override { return model_.gradient_groups(); }
  void set_gradients_final(GradientsFinal hook) override { model_.set_gradients_final(std::move(hook)); }
  void parameters_changed() override { model_.parameters_changed(); }
  void use_pipeline(dist::World& world) override { model_.use_pipeline(world); }

  void load_data() override {
    if (loaded_) return;
    load(load_wikitext2(data_set_dir(config_, "wikitext-2")));
  }

  /// Takes the streams of an already loaded corpus.
  void load(const TextCorpus& corpus) {
    if (corpus.vocab.size() != vocab_size_) {
      fail("wikitext2 in ", quote_for_message(data_set_dir(config_, "wikitext-2"), 200), " has a vocabulary of ",
           corpus.vocab.size(), " words, the model ", vocab_size_);
    }
    train_ = columns_of(corpus.train, config_.max_train, config_.batch_size, "training");
    valid_ = columns_of(corpus.valid, config_.max_eval, kEvalBatch, "validation");
    test_ = columns_of(corpus.test, config_.max_eval, kEvalBatch, "test");
    loaded_ = true;
  }

  int64_t begin_epoch(int64_t epoch) override {
    load_data();
    epoch_ = epoch;
    state_.reset();
    for (LanguageModel::State& state : shard_states_) state.reset();
    return segments(train_, config_.bptt);
  }

  BatchLoss train_batch(int64_t batch) override {
    const BpttBatch segment = get_batch(train_, batch * config_.bptt, config_.bptt);
    const int64_t T = segment.input.dim(0), N = segment.input.dim(1);
    const LossValue loss = model_.train_batch(T, N, segment.input.span(), segment.target.span(), state_,
                                              batch_key(config_.seed, epoch_, batch));
    return {loss.mean, T * N};
  }

  ShardLoss train_shard(int64_t batch, int64_t shard, int64_t shards) override {
    const BpttBatch segment = get_batch(train_, batch * config_.bptt, config_.bptt);
    const int64_t T = segment.input.dim(0), N = segment.input.dim(1);
    const RowRange columns = shard_rows(N, shard, shards);  // shards <= batch_size = N: never empty
    shard_states_.resize(static_cast<size_t>(shards));
    const std::vector<int64_t> input = columns_slice(segment.input, columns);
    const std::vector<int64_t> target = columns_slice(segment.target, columns);
    const double share = static_cast<double>(columns.size()) / static_cast<double>(N);
    const LossValue loss = model_.train_batch(T, columns.size(), input, target, shard_states_[shard],
                                              shard_key(config_.seed, epoch_, batch, shard), share);
    return {loss.total, T * columns.size()};
  }

  EvalResult evaluate(EvalSplit split) override { return eval_result(*evaluate_part(split, 0, 1)); }

  /// A part is a range of the split's columns (each carries its own hidden state from one
  /// segment to the next, as a training shard does); the first part starts at column 0.
  std::optional<EvalSums> evaluate_part(EvalSplit split, int64_t part, int64_t parts) override {
    check_eval_part(part, parts);
    load_data();
    const BasicTensor<int64_t>& data = split == EvalSplit::validation ? valid_ : test_;
    LanguageModel::State state;
    EvalSums sums;
    sums.correct = std::numeric_limits<double>::quiet_NaN();
    sums.perplexity = true;
    for (int64_t b = 0; b < segments(data, config_.bptt); ++b) {
      const BpttBatch segment = get_batch(data, b * config_.bptt, config_.bptt);
      const int64_t T = segment.input.dim(0), N = segment.input.dim(1);
      const RowRange columns = shard_rows(N, part, parts);
      if (columns.size() == 0) break;
      const std::vector<int64_t> input = columns_slice(segment.input, columns);
      const std::vector<int64_t> target = columns_slice(segment.target, columns);
      sums.loss += model_.eval_batch(T, columns.size(), input, target, state);
      sums.items += T * columns.size();
    }
    return sums;
  }

  void export_data(int64_t /*epochs: every epoch reads the stream in order*/, DataExport& out) override {
    load_data();
    out.add<int64_t>("train_ids", stream_of(train_));
    out.add<int64_t>("valid_ids", stream_of(valid_));
    out.add<int64_t>("test_ids", stream_of(test_));
    out.add<int64_t>("vocab_size", {vocab_size_});
  }

  TaskState task_state() const override {
    std::map<std::string, BasicTensor<double>> state;
    state.emplace("vocab_size", BasicTensor<double>({}, {static_cast<double>(vocab_size_)}));
    return state;
  }

 private:
  TrainConfig config_;
  int64_t vocab_size_;
  LanguageModel model_;
  bool loaded_ = false;
  BasicTensor<int64_t> train_, valid_, test_;
  int64_t epoch_ = 0;
  LanguageModel::State state_;
  std::vector<LanguageModel::State> shard_states_;  ///< one per shard when shards > 1

  /// Columns [begin, end) of a [T, N] tensor, as [T, end - begin].
  static std::vector<int64_t> columns_slice(const BasicTensor<int64_t>& data, RowRange columns) {
    const int64_t T = data.dim(0), N = data.dim(1);
    std::vector<int64_t> slice(static_cast<size_t>(T * columns.size()));
    for (int64_t t = 0; t < T; ++t) {
      std::copy(data.data() + t * N + columns.begin, data.data() + t * N + columns.end,
                slice.data() + t * columns.size());
    }
    return slice;
  }
};

}  // namespace

std::unique_ptr<BuiltinTask> make_wikitext2_task(const TrainConfig& config,
                                               const TaskState* saved) {
  if (saved == nullptr) {
    const TextCorpus corpus = load_wikitext2(data_set_dir(config, "wikitext-2"));
    auto task = std::make_unique<WikitextTask>(config, corpus.vocab.size());
    task->load(corpus);
    return task;
  }
  const double vocab = saved_entry(*saved, "vocab_size", 1).vector()[0];
  if (!(vocab >= 1 && vocab <= 1e9 && vocab == std::floor(vocab))) {
    fail("task state 'task/vocab_size' must be a positive integer, got ", vocab);
  }
  return std::make_unique<WikitextTask>(config, static_cast<int64_t>(vocab));
}

}  // namespace rnnwave::train
