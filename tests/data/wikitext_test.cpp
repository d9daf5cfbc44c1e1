// WikiText-2: the counts and ids of pytorch/examples' Corpus on the real files, Python's
// line and word splitting on crafted ones, and refusals.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data/data_test_support.h"
#include "io/expect_error.h"
#include "io/io_test_support.h"
#include "rnnwave/data_wikitext.h"
#include "support/errors.h"

namespace rnnwave {
namespace {

using testing::TempDir;
using testing::error_of;

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(DataWikiText, CountsAndIdsOfThePytorchExample) {
  const auto wiki = testing::locate_data("wikitext-2", "wiki.train.tokens");
  if (!wiki.found()) GTEST_SKIP() << wiki.skip_message;
  const TextCorpus& corpus = testing::shared_wikitext2(wiki.path);
  EXPECT_EQ(corpus.vocab.size(), 33278);
  EXPECT_EQ(corpus.train.size(), 2088628u);
  EXPECT_EQ(corpus.valid.size(), 217646u);
  EXPECT_EQ(corpus.test.size(), 245569u);
  // " \n = Valkyria Chronicles III = \n \n Senjō no Valkyria 3 : <unk> Chronicles ..."
  const std::vector<int64_t> start(corpus.train.begin(), corpus.train.begin() + 14);
  EXPECT_EQ(start, (std::vector<int64_t>{0, 1, 2, 3, 4, 1, 0, 0, 5, 6, 2, 7, 8, 9}));
  EXPECT_EQ(corpus.vocab.word(0), "<eos>");
  EXPECT_EQ(corpus.vocab.word(5), "Senjō");
  EXPECT_EQ(corpus.vocab.word(9), "<unk>");
  EXPECT_EQ(corpus.vocab.find("Valkyria"), 2);
  // " \n = Homarus gammarus = \n \n Homarus gammarus , known as the European lobster ..."
  EXPECT_EQ(corpus.valid[0], 0);
  EXPECT_EQ(corpus.vocab.word(corpus.valid[2]), "Homarus");
  EXPECT_EQ(corpus.vocab.word(corpus.valid[3]), "gammarus");
  for (const auto* split : {&corpus.train, &corpus.valid, &corpus.test}) {
    for (int64_t id : *split) ASSERT_TRUE(id >= 0 && id < corpus.vocab.size()) << id;
  }
}

TEST(DataWikiText, SplitsLinesAndWordsAsPython) {
  TempDir dir;
  // CRLF, a lone CR, tabs, no-break space, ideographic space, U+2028 (a space to
  // str.split, not a line break to file iteration), empty lines, no final newline.
  write_text(dir.file("wiki.train.tokens"),
             " a b\r\n\n\tc\xc2\xa0""d\re\xe3\x80\x80""f \xe2\x80\xa8g\n\n  \nh\xef\xbb\xbfi j");
  write_text(dir.file("wiki.valid.tokens"), "a\n");
  write_text(dir.file("wiki.test.tokens"), "");
  const TextCorpus corpus = load_wikitext2(dir.path());
  std::vector<std::string> words;
  for (int64_t id : corpus.train) words.push_back(corpus.vocab.word(id));
  EXPECT_EQ(words, (std::vector<std::string>{"a", "b", "<eos>", "<eos>", "c", "d", "<eos>", "e", "f", "g",
                                             "<eos>", "<eos>", "<eos>", "h\xef\xbb\xbfi", "j", "<eos>"}));
  EXPECT_EQ(corpus.valid, (std::vector<int64_t>{0, 2}));
  EXPECT_TRUE(corpus.test.empty());
  const auto python = testing::run_python_script("python_split.py", {dir.file("wiki.train.tokens")});
  ASSERT_EQ(python.exit_code, 0) << python.output;
  std::string expected;
  for (const std::string& word : words) expected += word + "\n";
  EXPECT_EQ(python.output, expected);
}

TEST(DataWikiText, RefusesUnknownWordsBadUtf8AndMissingFiles) {
  TempDir dir;
  write_text(dir.file("wiki.train.tokens"), "the cat\n");
  write_text(dir.file("wiki.valid.tokens"), "the cat\nthe dog\n");
  write_text(dir.file("wiki.test.tokens"), "cat\n");
  EXPECT_ERROR_CONTAINING(load_wikitext2(dir.path()), "wiki.valid.tokens line 2: word 'dog' is not in the training vocabulary (3 words)");
  write_text(dir.file("wiki.valid.tokens"), "the\n");
  write_text(dir.file("wiki.test.tokens"), "cat\nthe \xed\xa0\x80 cat\n");  // a UTF-16 surrogate
  EXPECT_ERROR_CONTAINING(load_wikitext2(dir.path()), "wiki.test.tokens line 2: invalid UTF-8 at byte offset 8");
  write_text(dir.file("wiki.test.tokens"), "cat \xc3");
  EXPECT_ERROR_CONTAINING(load_wikitext2(dir.path()), "wiki.test.tokens line 1: invalid UTF-8 at byte offset 4");
  std::filesystem::remove(dir.file("wiki.test.tokens"));
  EXPECT_ERROR_CONTAINING(load_wikitext2(dir.path()), "cannot open '", "wiki.test.tokens'");
  EXPECT_ERROR_CONTAINING(load_wikitext2(dir.file("nowhere")), "nowhere' is not a directory");
  Vocabulary vocab;
  EXPECT_EQ(vocab.add("x"), 0);
  EXPECT_EQ(vocab.add("y"), 1);
  EXPECT_EQ(vocab.add("x"), 0);
  EXPECT_EQ(vocab.find("z"), -1);
  EXPECT_ERROR_CONTAINING(vocab.word(2), "vocabulary: id 2 is outside [0, 2)");
}

// A word is quoted escaped and shortened: a file can neither send terminal control
// sequences through an error message nor make it megabytes long.
TEST(DataWikiText, QuotesAWordEscapedAndShortened) {
  TempDir dir;
  write_text(dir.file("wiki.train.tokens"), "the cat\n");
  write_text(dir.file("wiki.valid.tokens"), "the \033]0;PWNED\007\n");
  write_text(dir.file("wiki.test.tokens"), "cat\n");
  std::string message = error_of([&] { load_wikitext2(dir.path()); });
  EXPECT_NE(message.find("word '\\x1b]0;PWNED\\x07' is not in the training vocabulary"), std::string::npos)
      << message;
  EXPECT_EQ(message.find('\033'), std::string::npos);
  EXPECT_EQ(message.find('\007'), std::string::npos);
  write_text(dir.file("wiki.valid.tokens"), "the " + std::string(3 << 20, 'x') + "\n");
  message = error_of([&] { load_wikitext2(dir.path()); });
  EXPECT_LT(message.size(), 400u) << message.substr(0, 400);
  EXPECT_NE(message.find("xxx...' (3145728 bytes) is not in the training vocabulary"), std::string::npos)
      << message.substr(0, 400);
}

// An empty training file is the training file's problem, not an unknown "<eos>" in the
// validation file.
TEST(DataWikiText, RefusesAnEmptyTrainingFile) {
  TempDir dir;
  write_text(dir.file("wiki.train.tokens"), "");
  write_text(dir.file("wiki.valid.tokens"), "the\n");
  write_text(dir.file("wiki.test.tokens"), "the\n");
  const std::string message = error_of([&] { load_wikitext2(dir.path()); });
  EXPECT_NE(message.find("wiki.train.tokens is empty"), std::string::npos) << message;
  EXPECT_EQ(message.find("wiki.valid.tokens"), std::string::npos) << message;
}

}  // namespace
}  // namespace rnnwave
