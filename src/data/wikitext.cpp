// WikiText-2 at word level, tokenized as pytorch/examples' word_language_model does.
#include <filesystem>

#include "common/strings.h"
#include "data/python_words.h"
#include "rnnwave/data_wikitext.h"
#include "rnnwave/npy.h"

namespace rnnwave {
namespace {

constexpr std::string_view kEndOfSentence = "<eos>";

}  // namespace

std::vector<int64_t> tokenize_text(std::string_view text, std::string_view what, Vocabulary& vocab,
                                   bool grow) {
  std::vector<int64_t> ids;
  const auto append = [&](std::string_view word, int64_t line) {
    const int64_t id = grow ? vocab.add(word) : vocab.find(word);
    if (id < 0) {
      fail(what, " line ", line, ": word ", quote_for_message(word), " is not in the training vocabulary (",
           vocab.size(), " words)");
    }
    ids.push_back(id);
  };
  for_each_python_word(text, what, append, [&](int64_t line) { append(kEndOfSentence, line); });
  return ids;
}

std::vector<int64_t> tokenize_file(const std::string& path, Vocabulary& vocab, bool grow) {
  const std::vector<std::byte> bytes = read_file(path);
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return tokenize_text(text, path, vocab, grow);
}

TextCorpus load_wikitext2(const std::string& dir) {
  const std::filesystem::path root(dir);
  std::error_code error;
  if (!std::filesystem::is_directory(root, error)) {
    fail("WikiText-2: ", quote_for_message(dir, 200), " is not a directory (expected one holding wiki.train.tokens, ",
         "wiki.valid.tokens and wiki.test.tokens)");
  }
  TextCorpus corpus;
  const std::string train = (root / "wiki.train.tokens").string();
  corpus.train = tokenize_file(train, corpus.vocab, true);
  // Said here: otherwise the first word of the validation file would be "not in the
  // vocabulary", which blames the wrong file.
  if (corpus.train.empty()) fail("WikiText-2: ", train, " is empty (the training split has no text)");
  corpus.valid = tokenize_file((root / "wiki.valid.tokens").string(), corpus.vocab, false);
  corpus.test = tokenize_file((root / "wiki.test.tokens").string(), corpus.vocab, false);
  return corpus;
}

}  // namespace rnnwave
