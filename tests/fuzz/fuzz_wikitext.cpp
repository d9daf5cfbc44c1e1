// libFuzzer harness: the WikiText tokenizer (Python's line and word splitting of UTF-8
// text, the vocabulary, unknown words in the validation text). rnnwave::Error is the only
// acceptable outcome besides success; any other exception, crash, sanitizer report, leak
// or hang is a finding. The input is the training text, then (after the first 0xff byte,
// which valid UTF-8 never holds) the validation text.
#include <algorithm>
#include <cstdint>
#include <string_view>

#include "rnnwave/data_wikitext.h"
#include "rnnwave/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = std::min(input.find('\xff'), input.size());
  const std::string_view train = input.substr(0, split);
  const std::string_view valid = split < input.size() ? input.substr(split + 1) : std::string_view();
  rnnwave::Vocabulary vocab;
  try {
    const std::vector<int64_t> ids = rnnwave::tokenize_text(train, "fuzz train", vocab, true);
    for (int64_t id : ids) {
      if (id < 0 || id >= vocab.size()) __builtin_trap();
    }
    // Each word once, and found again under its own id.
    for (int64_t id = 0; id < vocab.size(); ++id) {
      if (vocab.find(vocab.word(id)) != id) __builtin_trap();
    }
    const int64_t words = vocab.size();
    rnnwave::tokenize_text(valid, "fuzz valid", vocab, false);
    if (vocab.size() != words) __builtin_trap();  // validation text never grows it
  } catch (const rnnwave::Error&) {
  }
  return 0;
}
