#include "data/python_words.h"

#include "common/strings.h"

namespace rnnwave {
namespace {

bool is_python_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}

/// Decodes the code point at text[i], storing its length in `size`; returns -1 (as
/// uint32_t max) for an invalid sequence (overlong, surrogate, above U+10FFFF, cut).
uint32_t decode(std::string_view text, size_t i, size_t& size) {
  constexpr uint32_t kInvalid = 0xFFFFFFFF;
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) {
    size = 1;
    return b0;
  }
  uint8_t low = 0x80, high = 0xBF;  // the allowed range of the second byte
  uint32_t code = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    size = 2;
    code = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    size = 3;
    code = b0 & 0x0F;
    if (b0 == 0xE0) low = 0xA0;   // overlong
    if (b0 == 0xED) high = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    size = 4;
    code = b0 & 0x07;
    if (b0 == 0xF0) low = 0x90;   // overlong
    if (b0 == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return kInvalid;
  }
  if (i + size > text.size()) return kInvalid;
  for (size_t k = 1; k < size; ++k) {
    const uint8_t b = byte(i + k);
    if (b < (k == 1 ? low : 0x80) || b > (k == 1 ? high : 0xBF)) return kInvalid;
    code = code << 6 | (b & 0x3F);
  }
  return code;
}

}  // namespace

void for_each_python_word(std::string_view text, std::string_view what,
                          const std::function<void(std::string_view, int64_t)>& on_word,
                          const std::function<void(int64_t)>& on_line_end) {
  int64_t line = 1;
  bool line_open = false;        // the current line has at least one character
  size_t word_start = text.size();  // text.size(): no word in progress
  const auto end_word = [&](size_t end) {
    if (word_start < end) on_word(text.substr(word_start, end - word_start), line);
    word_start = text.size();
  };
  size_t i = 0;
  while (i < text.size()) {
    size_t size = 1;
    const uint32_t c = decode(text, i, size);
    if (c == 0xFFFFFFFF) fail(what, " line ", line, ": invalid UTF-8 at byte offset ", i);
    if (c == '\n' || c == '\r') {
      end_word(i);
      on_line_end(line);
      ++line;
      line_open = false;
      i += (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ? 2 : 1;
      continue;
    }
    line_open = true;
    if (is_python_space(c)) {
      end_word(i);
    } else if (word_start == text.size()) {
      word_start = i;
    }
    i += size;
  }
  if (line_open) {
    end_word(text.size());
    on_line_end(line);
  }
}

}  // namespace rnnwave
