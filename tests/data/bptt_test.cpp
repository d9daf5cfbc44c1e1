// batchify and get_batch against what pytorch/examples' word_language_model computes.
#include <gtest/gtest.h>

#include <numeric>

#include "data/data_test_support.h"
#include "io/expect_error.h"
#include "rnnwave/data_bptt.h"

namespace rnnwave {
namespace {

TEST(DataBptt, BatchifyLaysOutContiguousChunksAsColumns) {
  std::vector<int64_t> ids(26);
  std::iota(ids.begin(), ids.end(), 0);
  // torch.arange(26)[:24].view(4, -1).t(): column n = ids[6n, 6n+6)
  const BasicTensor<int64_t> data = batchify(ids, 4);
  EXPECT_EQ(data.shape(), (std::vector<int64_t>{6, 4}));
  EXPECT_EQ(data.vector(), (std::vector<int64_t>{0, 6, 12, 18, 1, 7, 13, 19, 2, 8, 14, 20,
                                                 3, 9, 15, 21, 4, 10, 16, 22, 5, 11, 17, 23}));
  EXPECT_EQ(batchify(ids, 1).shape(), (std::vector<int64_t>{26, 1}));
  EXPECT_ERROR_CONTAINING(batchify(ids, 0), "batch must be at least 1, got 0");
  EXPECT_ERROR_CONTAINING(batchify(ids, 27), "26 tokens cannot fill one row of 27 columns");
}

TEST(DataBptt, GetBatchGivesTheNextTokenAsTarget) {
  std::vector<int64_t> ids(24);
  std::iota(ids.begin(), ids.end(), 100);
  const BasicTensor<int64_t> data = batchify(ids, 3);  // [8, 3]
  const BpttBatch first = get_batch(data, 0, 5);
  EXPECT_EQ(first.input.shape(), (std::vector<int64_t>{5, 3}));
  EXPECT_EQ(first.target.shape(), (std::vector<int64_t>{5, 3}));
  for (int64_t t = 0; t < 5; ++t) {
    for (int64_t n = 0; n < 3; ++n) {
      EXPECT_EQ(first.input.data()[t * 3 + n], 100 + n * 8 + t);
      EXPECT_EQ(first.target.data()[t * 3 + n], 100 + n * 8 + t + 1);
    }
  }
  // The loop `for i in range(0, rows - 1, bptt)`: the last segment is shorter.
  const BpttBatch last = get_batch(data, 5, 5);
  EXPECT_EQ(last.input.shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(last.input.data()[0], 105);
  EXPECT_EQ(last.target.data()[3 * 1 + 2], 100 + 2 * 8 + 7);
  EXPECT_EQ(get_batch(data, 6, 35).input.shape(), (std::vector<int64_t>{1, 3}));
  EXPECT_ERROR_CONTAINING(get_batch(data, 7, 5), "start row 7 is outside [0, rows - 1 = 7) of data [8, 3]");
  EXPECT_ERROR_CONTAINING(get_batch(data, -1, 5), "start row -1");
  EXPECT_ERROR_CONTAINING(get_batch(data, 0, 0), "bptt must be at least 1, got 0");
  EXPECT_ERROR_CONTAINING(get_batch(BasicTensor<int64_t>({8}), 0, 5), "expected data [rows, N], got [8]");
}

TEST(DataBptt, WikiText2BatchesMatchThePytorchExampleSizes) {
  const auto wiki = testing::locate_data("wikitext-2", "wiki.train.tokens");
  if (!wiki.found()) GTEST_SKIP() << wiki.skip_message;
  const TextCorpus& corpus = testing::shared_wikitext2(wiki.path);
  // main.py: train_data = batchify(corpus.train, 20), val_data = batchify(corpus.valid, 10)
  const BasicTensor<int64_t> train = batchify(corpus.train, 20);
  EXPECT_EQ(train.shape(), (std::vector<int64_t>{104431, 20}));
  EXPECT_EQ(batchify(corpus.valid, 10).shape(), (std::vector<int64_t>{21764, 10}));
  EXPECT_EQ(train.data()[1 * 20 + 1], corpus.train[104431 + 1]);
  const BpttBatch batch = get_batch(train, 104430 - 10, 35);
  EXPECT_EQ(batch.input.dim(0), 10);
}

}  // namespace
}  // namespace rnnwave
