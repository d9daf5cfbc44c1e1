#include "data/data_test_support.h"


#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "rnnwave/random.h"

namespace rnnwave::testing {
namespace {

void append_le(std::vector<std::byte>& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::byte>((value >> (8 * i)) & 0xFF));
}

void append_text(std::vector<std::byte>& out, const char* text) {
  for (const char* p = text; *p != '\0'; ++p) out.push_back(static_cast<std::byte>(*p));
}

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

DataLocation locate_data(const std::string& subdir, const std::string& probe) {
  std::string root;
  std::string origin;
  if (const char* env = std::getenv("RNNWAVE_DATA_DIR"); env != nullptr && *env != '\0') {
    root = env;
    origin = "RNNWAVE_DATA_DIR";
  } else if (const char* source = std::getenv("RNNWAVE_SOURCE_DIR"); source != nullptr && *source != '\0') {
    root = std::string(source) + "/../shared/data";
    origin = "RNNWAVE_SOURCE_DIR/../shared/data";
  } else {
    return {"", "data sets not found: neither RNNWAVE_DATA_DIR nor RNNWAVE_SOURCE_DIR is set"};
  }
  const std::filesystem::path dir = std::filesystem::path(root) / subdir;
  std::error_code error;
  if (!std::filesystem::exists(dir / probe, error)) {
    return {"", "data set not found: no " + (dir / probe).string() + " (data directory from " +
                    origin + "; set RNNWAVE_DATA_DIR to the directory holding " + subdir + "/)"};
  }
  return {dir.string(), ""};
}

const FsddSplits& shared_fsdd(const std::string& dir) {
  static const FsddSplits splits = load_fsdd(dir);
  return splits;
}

const TextCorpus& shared_wikitext2(const std::string& dir) {
  static const TextCorpus corpus = load_wikitext2(dir);
  return corpus;
}

std::vector<std::byte> wav_bytes(int channels, int sample_rate, std::span<const int16_t> samples) {
  const uint64_t data_bytes = samples.size() * 2;
  std::vector<std::byte> out;
  append_text(out, "RIFF");
  append_le(out, 36 + data_bytes, 4);
  append_text(out, "WAVEfmt ");
  append_le(out, 16, 4);
  append_le(out, 1, 2);  // PCM
  append_le(out, static_cast<uint64_t>(channels), 2);
  append_le(out, static_cast<uint64_t>(sample_rate), 4);
  append_le(out, static_cast<uint64_t>(sample_rate) * static_cast<uint64_t>(channels) * 2, 4);
  append_le(out, static_cast<uint64_t>(channels) * 2, 2);
  append_le(out, 16, 2);
  append_text(out, "data");
  append_le(out, data_bytes, 4);
  for (int16_t s : samples) append_le(out, static_cast<uint16_t>(s), 2);
  return out;
}

void write_wav(const std::string& path, int channels, int sample_rate, std::span<const int16_t> samples) {
  const std::vector<std::byte> bytes = wav_bytes(channels, sample_rate, samples);
  std::ofstream file(path, std::ios::binary);
  file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!file) throw std::runtime_error("cannot write " + path);
}

std::vector<int16_t> sine_samples(double hz, int sample_rate, int count, double amplitude, double noise) {
  SplitMix64 rng(12345);
  std::vector<int16_t> out(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    double x = amplitude * std::sin(2.0 * 3.14159265358979323846 * hz * i / sample_rate);
    x += noise * (2.0 * rng.uniform_float() - 1.0);
    out[static_cast<size_t>(i)] = static_cast<int16_t>(std::lround(std::clamp(x, -1.0, 32767.0 / 32768) * 32768));
  }
  return out;
}

CommandResult run_python_script(const std::string& script, const std::vector<std::string>& args) {
  const std::filesystem::path path = std::filesystem::path(__FILE__).parent_path() / script;
  std::string command = "/usr/bin/python3 " + quoted(path.string());
  for (const std::string& arg : args) {
    command += ' ';
    command += quoted(arg);
  }
  return run_command(command);
}

}  // namespace rnnwave::testing
