// What the bench programs share: their command-line flags and the median of their runs.
// Header-only and without the library, so that a program that measures a peer's kernel
// alone (bench_sgemm_blocks) can use it too. The peers (peers/) share no code with
// anything, by design, and keep their own.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace bench {

/// The median of `values`: the middle one, or the mean of the two middle ones; 0 if
/// there are none.
inline double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/// A command-line value for a message: at most 40 characters, anything unprintable as '?'.
inline std::string shown(const std::string& text) {
  std::string out = text.substr(0, 40);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return text.size() > 40 ? out + "..." : out;
}

/// The flags of a bench program: `--name value`, or `--name` alone for a switch. Each
/// flag is declared with where its value goes; parse() fills them and, on an unknown
/// flag, a missing value or a bad one, prints one line naming the program and the flag
/// to stderr and returns false (the program then exits with status 2).
class Flags {
 public:
  explicit Flags(std::string program) : program_(std::move(program)) {}

  /// A positive integer.
  template <class Int>
  Flags& positive(const std::string& name, Int& out) {
    return add(name, true, [this, name, &out](const std::string& value) {
      long long parsed = 0;
      if (!parse_positive(name, value, std::numeric_limits<Int>::max(), parsed)) return false;
      out = static_cast<Int>(parsed);
      return true;
    });
  }

  /// A comma-separated list of positive integers, at least one.
  template <class Int>
  Flags& positives(const std::string& name, std::vector<Int>& out) {
    return add(name, true, [this, name, &out](const std::string& value) {
      if (value.empty()) return complain(name + " needs a list of positive integers, got none");
      std::vector<Int> list;
      for (size_t begin = 0, end = 0; end != std::string::npos; begin = end + 1) {
        end = value.find(',', begin);  // every item, an empty one after a last comma too
        long long parsed = 0;
        const std::string item = value.substr(begin, end == std::string::npos ? end : end - begin);
        if (!parse_positive(name, item, std::numeric_limits<Int>::max(), parsed)) return false;
        list.push_back(static_cast<Int>(parsed));
      }
      out = std::move(list);
      return true;
    });
  }

  /// Any text.
  Flags& text(const std::string& name, std::string& out) {
    return add(name, true, [&out](const std::string& value) {
      out = value;
      return true;
    });
  }

  /// A switch: its presence sets `out` to `value`.
  Flags& toggle(const std::string& name, bool& out, bool value = true) {
    return add(name, false, [&out, value](const std::string&) {
      out = value;
      return true;
    });
  }

  bool parse(int argc, char** argv) const {
    for (int i = 1; i < argc; ++i) {
      const std::string name = argv[i];
      const auto flag = std::find_if(flags_.begin(), flags_.end(),
                                     [&](const Flag& f) { return f.name == name; });
      if (flag == flags_.end()) return complain("unknown flag " + shown(name));
      if (!flag->takes_value) {
        if (!flag->take("")) return false;
        continue;
      }
      if (i + 1 >= argc) return complain(name + " needs a value");
      if (!flag->take(argv[++i])) return false;
    }
    return true;
  }

 private:
  struct Flag {
    std::string name;
    bool takes_value;
    std::function<bool(const std::string&)> take;
  };

  Flags& add(const std::string& name, bool takes_value, std::function<bool(const std::string&)> take) {
    flags_.push_back({name, takes_value, std::move(take)});
    return *this;
  }

  /// Digits only (no sign, no spaces), from 1 to `most`.
  bool parse_positive(const std::string& name, const std::string& value, long long most,
                      long long& out) const {
    char* end = nullptr;
    errno = 0;
    out = std::strtoll(value.c_str(), &end, 10);
    const bool digits = !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || *end != '\0' || out < 1 || out > most || errno == ERANGE) {
      return complain(name + " takes positive integers up to " + std::to_string(most) + " only, got '" +
                      shown(value) + "'");
    }
    return true;
  }

  bool complain(const std::string& message) const {
    std::fprintf(stderr, "%s: %s\n", program_.c_str(), message.c_str());
    return false;
  }

  std::string program_;
  std::vector<Flag> flags_;
};

}  // namespace bench
