#include "io/python_literal.h"

#include <cstdio>

#include "common/strings.h"

namespace rnnwave {
namespace {

constexpr int kMaxDepth = 32;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
}

/// Recursive descent over the grammar
///   value := string | integer | True | False | None
///          | '(' [value (',' value)* [',']] ')' | '[' ... ']' | '{' [string ':' value ...] '}'
/// where a one-element tuple needs its trailing comma, as in Python.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  PyValue parse_all() {
    PyValue value = parse_value(0);
    skip_space();
    if (pos_ != text_.size()) error("unexpected ", describe_here(), " after the value");
    return value;
  }

 private:
  template <class... Args>
  [[noreturn]] void error(Args&&... args) {
    fail(std::forward<Args>(args)..., " at offset ", pos_);
  }

  std::string describe_here() const {
    if (pos_ >= text_.size()) return "end of text";
    return cat("character ", quote_for_message(text_.substr(pos_, 1)));
  }

  void skip_space() {
    while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
  }

  bool consume(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  PyValue parse_value(int depth) {
    if (depth > kMaxDepth) error("literal nested deeper than ", kMaxDepth, " levels");
    skip_space();
    if (pos_ >= text_.size()) error("expected a value but found the end of text");
    const char c = text_[pos_];
    if (c == '\'' || c == '"') {
      PyValue value;
      value.kind = PyValue::Kind::string;
      value.text = parse_string();
      return value;
    }
    if (is_digit(c) || c == '-' || c == '+') return parse_integer();
    if (c == '(') return parse_sequence(PyValue::Kind::tuple, ')', depth);
    if (c == '[') return parse_sequence(PyValue::Kind::list, ']', depth);
    if (c == '{') return parse_dict(depth);
    if (is_name_char(c)) return parse_name();
    error("expected a value but found ", describe_here());
  }

  std::string parse_string() {
    const char quote = text_[pos_++];
    std::string out;
    while (true) {
      if (pos_ >= text_.size()) error("unterminated string");
      const char c = text_[pos_++];
      if (c == quote) return out;
      if (c == '\n') error("unterminated string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) error("unterminated string");
      const char escaped = text_[pos_++];
      switch (escaped) {
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '0': out += '\0'; break;
        default: pos_ -= 2; error("unsupported escape sequence ", quote_for_message(cat('\\', escaped)));
      }
    }
  }

  PyValue parse_integer() {
    const size_t start = pos_;
    bool negative = false;
    if (text_[pos_] == '-' || text_[pos_] == '+') negative = text_[pos_++] == '-';
    skip_space();  // Python allows "- 3"
    if (pos_ >= text_.size() || !is_digit(text_[pos_])) error("expected digits after a sign");
    // Accumulate as a negative number so that INT64_MIN is representable.
    int64_t value = 0;
    while (pos_ < text_.size() && is_digit(text_[pos_])) {
      const int digit = text_[pos_++] - '0';
      if (__builtin_mul_overflow(value, 10, &value) || __builtin_sub_overflow(value, digit, &value)) {
        pos_ = start;
        error("integer out of the int64 range");
      }
    }
    if (!negative) {
      if (value == INT64_MIN) {
        pos_ = start;
        error("integer out of the int64 range");
      }
      value = -value;
    }
    // Python 2 wrote longs with an L suffix ("(3L, 4L)"); numpy still reads those headers.
    if (pos_ < text_.size() && (text_[pos_] == 'L' || text_[pos_] == 'l')) ++pos_;
    if (pos_ < text_.size() && (is_name_char(text_[pos_]) || text_[pos_] == '.')) {
      error("unexpected ", describe_here(), " in a number (only integers are supported)");
    }
    PyValue result;
    result.kind = PyValue::Kind::integer;
    result.integer = value;
    return result;
  }

  PyValue parse_name() {
    const size_t start = pos_;
    while (pos_ < text_.size() && is_name_char(text_[pos_])) ++pos_;
    const std::string_view name = text_.substr(start, pos_ - start);
    PyValue value;
    if (name == "True" || name == "False") {
      value.kind = PyValue::Kind::boolean;
      value.boolean = name == "True";
    } else if (name == "None") {
      value.kind = PyValue::Kind::none;
    } else {
      pos_ = start;
      error("unexpected name ", quote_for_message(name, 40));
    }
    return value;
  }

  PyValue parse_sequence(PyValue::Kind kind, char close, int depth) {
    ++pos_;  // the opening bracket
    PyValue value;
    value.kind = kind;
    bool trailing_comma = false;
    while (!consume(close)) {
      if (!value.items.empty() && !trailing_comma) error("expected ',' or '", close, "'");
      value.items.push_back(parse_value(depth + 1));
      trailing_comma = consume(',');
    }
    if (kind == PyValue::Kind::tuple && value.items.size() == 1 && !trailing_comma) {
      return std::move(value.items.front());  // "(3)" is just 3 in Python
    }
    return value;
  }

  PyValue parse_dict(int depth) {
    ++pos_;  // '{'
    PyValue value;
    value.kind = PyValue::Kind::dict;
    bool trailing_comma = false;
    while (!consume('}')) {
      if (!value.keys.empty() && !trailing_comma) error("expected ',' or '}'");
      skip_space();
      if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
        error("expected a string key but found ", describe_here());
      }
      std::string key = parse_string();
      if (!consume(':')) error("expected ':' after key ", quote_for_message(key, 40));
      value.keys.push_back(std::move(key));
      value.items.push_back(parse_value(depth + 1));
      trailing_comma = consume(',');
    }
    return value;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

PyValue parse_python_literal(std::string_view text) { return Parser(text).parse_all(); }

namespace {

/// Messages show at most this much of a value.
constexpr size_t kShownLength = 200;

/// to_python's text, whose lists and dicts stop once past kShownLength characters.
std::string python_text(const PyValue& value) {
  switch (value.kind) {
    case PyValue::Kind::string: return quote_for_message(value.text);
    case PyValue::Kind::integer: return std::to_string(value.integer);
    case PyValue::Kind::boolean: return value.boolean ? "True" : "False";
    case PyValue::Kind::none: return "None";
    case PyValue::Kind::tuple:
    case PyValue::Kind::list: {
      const bool tuple = value.kind == PyValue::Kind::tuple;
      std::string out = tuple ? "(" : "[";
      for (size_t i = 0; i < value.items.size() && out.size() <= kShownLength; ++i) {
        if (i > 0) out += ", ";
        out += python_text(value.items[i]);
      }
      if (tuple && value.items.size() == 1) out += ",";
      return out + (tuple ? ")" : "]");
    }
    case PyValue::Kind::dict: {
      std::string out = "{";
      for (size_t i = 0; i < value.keys.size() && out.size() <= kShownLength; ++i) {
        if (i > 0) out += ", ";
        out += quote_for_message(value.keys[i]) + ": " + python_text(value.items[i]);
      }
      return out + "}";
    }
  }
  return "?";
}

}  // namespace

std::string to_python(const PyValue& value) {
  std::string text = python_text(value);
  if (text.size() > kShownLength) {
    text.resize(kShownLength);
    text += "...";
  }
  return text;
}

}  // namespace rnnwave
