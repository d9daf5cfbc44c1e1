#include "common/strings.h"
#include "rnnwave/data_wikitext.h"

namespace rnnwave {

int64_t Vocabulary::add(std::string_view word) {
  const auto found = ids_.find(word);
  if (found != ids_.end()) return found->second;
  const int64_t id = size();
  words_.emplace_back(word);
  ids_.emplace(words_.back(), id);
  return id;
}

int64_t Vocabulary::find(std::string_view word) const {
  const auto found = ids_.find(word);
  return found == ids_.end() ? -1 : found->second;
}

const std::string& Vocabulary::word(int64_t id) const {
  if (id < 0 || id >= size()) fail("vocabulary: id ", id, " is outside [0, ", size(), ")");
  return words_[static_cast<size_t>(id)];
}

}  // namespace rnnwave
