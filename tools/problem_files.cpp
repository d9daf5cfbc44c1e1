#include "tools/problem_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <climits>
#include <filesystem>
#include <utility>

#include "rnnwave/finite.h"

namespace rnnwave::tools {
namespace {

template <class... Args>
[[noreturn]] void fail(Args&&... args) {
  std::ostringstream out;
  (out << ... << args);
  throw Error(out.str());
}

void check_shape(const std::vector<int64_t>& actual, const std::vector<int64_t>& expected,
                 const std::string& flag, const std::string& path, const std::string& labels) {
  if (actual != expected) {
    fail(flag, " ", path, ": expected shape ", labels, " = ", shape_to_string(expected),
         ", got ", shape_to_string(actual));
  }
}

/// CLI11 (2.1) turns an integer beyond int64 into the nearest int64 without a word, so
/// "--hidden-size 99999999999999999999" would be reported as 9223372036854775807: refuse
/// it as written. Other malformed numbers are left to CLI11's conversion error.
const CLI::Validator kInt64InRange(
    [](std::string& text) -> std::string {
      int64_t value = 0;
      const char* end = text.data() + text.size();
      if (std::from_chars(text.data(), end, value).ec == std::errc::result_out_of_range) {
        return "value " + text + " is out of range";
      }
      return "";
    },
    "");

/// The library refuses any dimension above this (model.cpp): no real RNN has one.
constexpr int64_t kMaxDimension = int64_t{1} << 31;

/// "" if `text` is an integer in [minimum, maximum], else why not.
std::string integer_between(const std::string& text, int64_t minimum, int64_t maximum) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc::result_out_of_range) return "value " + text + " is out of range";
  if (ec != std::errc() || stop != end) return "";  // not a number: CLI11's conversion says so
  if (value < minimum) return "must be at least " + std::to_string(minimum) + ", got " + text;
  if (value > maximum) return "must be at most " + std::to_string(maximum) + ", got " + text;
  return "";
}

const CLI::Validator kModelDimension(
    [](std::string& text) { return integer_between(text, 1, kMaxDimension); }, "");

const CLI::Validator kUnsigned64(
    [](std::string& text) -> std::string {
      uint64_t value = 0;
      const char* end = text.data() + text.size();
      const auto [stop, ec] = std::from_chars(text.data(), end, value);
      if (ec != std::errc() || stop != end) return "expected an integer in [0, 2^64), got " + text;
      return "";
    },
    "");

/// What identifies a file: its device and inode if it exists (so that hard links and
/// other names of it compare equal), and its path with symbolic links and ".." resolved.
struct FileIdentity {
  bool exists = false;
  bool device = false;  // a character device such as /dev/null
  dev_t dev = 0;
  ino_t ino = 0;
  std::string resolved;

  bool same_as(const FileIdentity& other) const {
    if (exists && other.exists && dev == other.dev && ino == other.ino) return true;
    return resolved == other.resolved;
  }
};

FileIdentity identify(const std::string& path) {
  FileIdentity id;
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0) {
    id.exists = true;
    id.device = S_ISCHR(info.st_mode);
    id.dev = info.st_dev;
    id.ino = info.st_ino;
  }
  std::error_code ec;
  const std::filesystem::path resolved = std::filesystem::weakly_canonical(path, ec);
  id.resolved = ec ? std::filesystem::absolute(path, ec).lexically_normal().string() : resolved.string();
  return id;
}

/// Loads an .npy given with `flag`: every error names the flag, and the values must be
/// finite (found here, before any computation, not after a forward pass).
template <class T>
BasicTensor<T> load_flag(const std::string& path, const std::string& flag) {
  BasicTensor<T> tensor;
  try {
    tensor = load_npy<T>(path);
  } catch (const Error& e) {
    fail(flag, ": ", e.what());
  }
  if constexpr (std::is_floating_point_v<T>) {
    check_finite<T>(tensor.span(), tensor.shape(), flag + " " + path);
  }
  return tensor;
}

}  // namespace

const CLI::Validator& int64_in_range() { return kInt64InRange; }

CLI::Validator at_least(int64_t minimum) {
  return CLI::Validator(
      [minimum](std::string& text) { return integer_between(text, minimum, INT64_MAX); }, "");
}

const CLI::Validator& model_dimension() { return kModelDimension; }

const CLI::Validator& unsigned64() { return kUnsigned64; }

void add_model_flags(CLI::App& command, ModelFlags& flags) {
  command.add_option("--cell", flags.cell, "Cell kind: rnn_tanh, rnn_relu, lstm, gru or gru_rb")
      ->required();
  command.add_option("--input-size", flags.input_size, "Input features per step (I)")
      ->required()
      ->check(kModelDimension);
  command.add_option("--hidden-size", flags.hidden_size, "Hidden units per direction (H)")
      ->required()
      ->check(kModelDimension);
  command.add_option("--layers", flags.layers, "Stacked layers (L), default 1")
      ->check(kModelDimension);
  command.add_flag("--bidirectional", flags.bidirectional,
                   "Two directions per layer (D = 2), outputs concatenated");
  command.add_flag("--reverse", flags.reverse,
                   "One direction walking the steps backward (ONNX direction=reverse); "
                   "weights named *_reverse");
  command.add_option("--proj-size", flags.proj_size,
                     "lstm: project h to P < H units (torch.nn.LSTM's proj_size; weight_hr_l{k})")
      ->check(kInt64InRange);
  command.add_flag("--peepholes", flags.peepholes,
                   "lstm: peephole connections (ONNX's P input; weight_ph_l{k} [3, H])");
  command.add_option("--cell-clip", flags.cell_clip,
                     "ONNX's cell clip (attribute clip): bound every gate pre-activation to "
                     "[-X, X] before its activation; 0 (default) = off, else finite and > 0");
}

void add_exec_flags(CLI::App& command, ExecFlags& flags) {
  command.add_option("--threads", flags.threads, "Worker threads; 0 (default) = all cores");
  command.add_option("--schedule", flags.schedule,
                     "Execution schedule: wavefront (default, the task graph), layerwise (the "
                     "frameworks' way, multi-threaded GEMMs) or sequential (one thread)");
  command.add_option("--trace", flags.trace,
                     "Write a Chrome trace-event timeline (Perfetto) of every task to this file");
}

void add_precision_flag(CLI::App& command, ExecFlags& flags) {
  command.add_option("--precision", flags.precision,
                     "Arithmetic of the products: fp32 (default) or bf16 (weights and product "
                     "inputs rounded to bf16, fp32 accumulation, states and outputs; needs a CPU "
                     "with AVX512-BF16)");
}

void add_weight_copy_flag(CLI::App& command, ExecFlags& flags) {
  command.add_flag("--single-weight-copy", flags.single_weight_copy,
                   "Keep one packed copy of each weight, not two: the backward pass turns them "
                   "into its form and the next forward turns them back (less memory; a "
                   "transposition of every weight per turn)");
}

void add_input_flags(CLI::App& command, InputFlags& flags) {
  command.add_option("--weights", flags.weights,
                     "Weights .npz keyed by PyTorch state_dict names (weight_ih_l0, ...)")
      ->required();
  command.add_option("--input", flags.input, "Input X.npy, float32 [T, N, I]")->required();
  command.add_option("--lengths", flags.lengths,
                     "Sequence lengths LEN.npy, int64 [N], each in [1, T], any order");
  command.add_option("--h0", flags.h0,
                     "Initial hidden state H0.npy, float32 [L*D, N, H] ([L*D, N, P] with --proj-size)");
  command.add_option("--c0", flags.c0, "Initial cell state C0.npy, float32 [L*D, N, H] (lstm)");
}

ModelSpec model_spec(const ModelFlags& flags) {
  ModelSpec spec{parse_cell_kind(flags.cell), flags.input_size, flags.hidden_size, flags.layers,
                 flags.bidirectional};
  spec.proj_size = flags.proj_size;
  spec.peepholes = flags.peepholes;
  spec.reverse = flags.reverse;
  spec.cell_clip = flags.cell_clip;
  spec.validate();
  return spec;
}

std::vector<int64_t> h_state_shape(const ModelSpec& spec, int64_t batch) {
  return {spec.layers * spec.directions(), batch, spec.output_size()};
}

std::vector<int64_t> c_state_shape(const ModelSpec& spec, int64_t batch) {
  return {spec.layers * spec.directions(), batch, spec.hidden_size};
}

std::string h_state_labels(const ModelSpec& spec) {
  return spec.proj_size > 0 ? "[L*D, N, P]" : "[L*D, N, H]";
}

std::string output_labels(const ModelSpec& spec) {
  return spec.proj_size > 0 ? "[T, N, D*P]" : "[T, N, D*H]";
}

ExecOptions exec_options(const ExecFlags& flags) {
  // Far more threads than any machine has cores only slows a run down, and tens of
  // thousands exhaust the process's threads and stacks: refuse them here.
  constexpr int kMaxThreads = 1024;
  if (flags.threads < 0 || flags.threads > kMaxThreads) {
    fail("--threads must be in [0, ", kMaxThreads, "] (0 = all cores), got ", flags.threads);
  }
  ExecOptions options{parse_schedule(flags.schedule), flags.threads};
  try {
    options.precision = parse_precision(flags.precision);
  } catch (const Error& e) {
    throw Error(std::string("--precision: ") + e.what());
  }
  options.single_weight_copy = flags.single_weight_copy;
  return options;
}

void add_trace(OutputFiles& outputs, const ExecFlags& flags, const Trace& trace) {
  if (flags.trace.empty()) return;
  outputs.add_written(flags.trace, [&trace](const std::string& path) { trace.write_chrome_json(path); },
                      "--trace");
}

void check_distinct_files(const std::vector<FileFlag>& inputs, const std::vector<FileFlag>& outputs) {
  std::vector<std::pair<const FileFlag*, FileIdentity>> seen;
  for (const FileFlag& input : inputs) {
    if (!input.path.empty()) seen.emplace_back(&input, identify(input.path));
  }
  const size_t input_count = seen.size();
  for (const FileFlag& output : outputs) {
    if (output.path.empty()) continue;
    const FileIdentity id = identify(output.path);
    for (size_t i = 0; i < seen.size(); ++i) {
      const auto& [other, other_id] = seen[i];
      if (id.device || !id.same_as(other_id)) continue;
      if (i < input_count) {
        fail(output.flag, " ", output.path, " is the same file as ", other->flag, " ", other->path,
             ": an output may not overwrite an input");
      }
      fail(output.flag, " ", output.path, " is the same file as ", other->flag, " ", other->path,
           ": each output needs a file of its own");
    }
    seen.emplace_back(&output, id);
  }
}

Tensor load_optional(const std::string& path, const std::string& flag,
                     const std::vector<int64_t>& shape, const std::string& labels) {
  if (path.empty()) return {};
  Tensor tensor = load_flag<float>(path, flag);
  check_shape(tensor.shape(), shape, flag, path, labels);
  return tensor;
}

Weights load_model_weights(const ModelSpec& spec, const InputFlags& flags) {
  try {
    return load_weights(flags.weights, spec);
  } catch (const Error& e) {
    fail("--weights: ", e.what());
  }
}

ProblemFiles load_problem(const ModelSpec& spec, const InputFlags& flags) {
  if (!flags.c0.empty() && !has_cell_state(spec.cell)) {
    fail("--c0 is for lstm only; a ", to_string(spec.cell), " has no cell state");
  }
  ProblemFiles files;
  files.input = load_flag<float>(flags.input, "--input");
  const auto& shape = files.input.shape();
  if (shape.size() != 3 || shape[2] != spec.input_size) {
    fail("--input ", flags.input, ": expected shape [T, N, I] with I = ", spec.input_size,
         " (--input-size), got ", shape_to_string(shape));
  }
  files.steps = shape[0];
  files.batch = shape[1];
  if (files.steps < 1 || files.batch < 1) {
    fail("--input ", flags.input, ": T and N must be at least 1, got shape ",
         shape_to_string(shape));
  }
  if (!flags.lengths.empty()) {
    files.lengths = load_flag<int64_t>(flags.lengths, "--lengths");
    check_shape(files.lengths.shape(), {files.batch}, "--lengths", flags.lengths, "[N]");
    for (int64_t n = 0; n < files.batch; ++n) {
      const int64_t length = files.lengths.data()[n];
      if (length < 1 || length > files.steps) {
        fail("--lengths ", flags.lengths, ": lengths[", n, "] = ", length,
             " is outside [1, T] with T = ", files.steps, " (the steps of --input)");
      }
    }
  }
  files.h0 = load_optional(flags.h0, "--h0", h_state_shape(spec, files.batch), h_state_labels(spec));
  files.c0 = load_optional(flags.c0, "--c0", c_state_shape(spec, files.batch), "[L*D, N, H]");
  return files;
}

void check_writable(const std::string& path, const std::string& flag) {
  if (path.empty()) return;
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    if (std::filesystem::exists(dir, ec)) {
      fail(flag, " ", path, ": ", dir.string(), " is not a directory");
    }
    fail(flag, " ", path, ": directory ", dir.string(), " does not exist");
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    fail(flag, " ", path, ": cannot write in ", dir.string(), ": ", std::strerror(errno));
  }
  if (std::filesystem::is_directory(path, ec)) fail(flag, " ", path, ": is a directory");
}

ForwardArgs<float> forward_args(const ProblemFiles& files) {
  ForwardArgs<float> args;
  args.steps = files.steps;
  args.batch = files.batch;
  args.input = files.input.span();
  args.lengths = files.lengths.span();
  args.h0 = files.h0.span();
  args.c0 = files.c0.span();
  return args;
}

}  // namespace rnnwave::tools
