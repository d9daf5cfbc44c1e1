// rnnwave/data_wikitext.h — word-level language-modelling corpora (WikiText-2).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rnnwave {

/// Words and their ids, ids assigned in order of first appearance (0, 1, 2, ...).
class Vocabulary {
 public:
  /// The id of `word`, adding it with the next id if new.
  int64_t add(std::string_view word);
  /// The id of `word`, or -1 if it is not in the vocabulary.
  int64_t find(std::string_view word) const;
  /// The word of `id`; throws Error if id is outside [0, size()).
  const std::string& word(int64_t id) const;
  int64_t size() const { return static_cast<int64_t>(words_.size()); }
  const std::vector<std::string>& words() const { return words_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<std::string> words_;
  std::unordered_map<std::string, int64_t, Hash, std::equal_to<>> ids_;
};

/// A corpus as streams of token ids, one per split.
struct TextCorpus {
  Vocabulary vocab;
  std::vector<int64_t> train;  ///< [tokens], ids in [0, vocab.size())
  std::vector<int64_t> valid;
  std::vector<int64_t> test;
};

/// Loads WikiText-2 (word level) from `dir`, the directory holding wiki.train.tokens,
/// wiki.valid.tokens and wiki.test.tokens, exactly as pytorch/examples'
/// word_language_model `Corpus` does, so the ids are the same:
///   - each file is UTF-8, read line by line (a line ends at "\n", "\r\n" or "\r", as
///     Python's text files do); every line, empty ones included, gives its words (split on
///     runs of Unicode whitespace, as Python's str.split()) followed by "<eos>";
///   - the vocabulary is built from the training split in order of first appearance;
///   - every word of the validation and test splits must be in it.
/// WikiText-2 gives 33,278 words and 2,088,628 / 217,646 / 245,569 tokens.
/// Throws Error naming the file (and line) for a missing or unreadable file, invalid
/// UTF-8, an empty training file, or a validation/test word not in the training
/// vocabulary (naming the word).
TextCorpus load_wikitext2(const std::string& dir);

/// Tokenizes text as load_wikitext2 tokenizes a file; `what` names it in errors. With
/// `grow`, new words are added to `vocab`; without, a word not in it is an Error naming
/// the word (escaped and shortened, see the README's input checking) and the line.
std::vector<int64_t> tokenize_text(std::string_view text, std::string_view what, Vocabulary& vocab,
                                   bool grow);

/// Tokenizes one file as load_wikitext2 does. With `grow`, new words are added to `vocab`;
/// without, a word not in it is an Error naming the word, the file and the line.
std::vector<int64_t> tokenize_file(const std::string& path, Vocabulary& vocab, bool grow);

}  // namespace rnnwave
