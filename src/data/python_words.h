// Lines and words of UTF-8 text exactly as Python 3 sees them with
//   for line in open(path, encoding='utf8'): words = line.split()
// which is how pytorch/examples' word_language_model tokenizes its corpora.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

namespace rnnwave {

/// Calls on_word(word, line) for every word and on_line_end(line) at the end of every
/// line (lines numbered from 1). Lines end at "\n", "\r\n" or "\r" (Python's universal
/// newlines); a last line without an ending still counts, an empty text has no line.
/// Words are maximal runs of characters that are not Python whitespace (str.isspace():
/// U+0009-000D, U+001C-001F, U+0020, U+0085, U+00A0, U+1680, U+2000-200A, U+2028,
/// U+2029, U+202F, U+205F, U+3000). Throws Error "WHAT line L: invalid UTF-8 at byte
/// offset B" for text Python's strict decoder would refuse.
void for_each_python_word(std::string_view text, std::string_view what,
                          const std::function<void(std::string_view word, int64_t line)>& on_word,
                          const std::function<void(int64_t line)>& on_line_end);

}  // namespace rnnwave
