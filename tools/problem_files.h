// Flags shared by the commands that run a model on files, and the loading and checking of
// those files against the flags.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rnnwave/rnnwave.h"

namespace CLI {
class App;
class Validator;
}

namespace rnnwave::tools {

struct ModelFlags {
  std::string cell;
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  int64_t layers = 1;
  bool bidirectional = false;
  int64_t proj_size = 0;
  bool peepholes = false;
  bool reverse = false;
  double cell_clip = 0;  // --cell-clip: ONNX's cell clip, 0 = off
};

struct ExecFlags {
  int threads = 0;
  std::string schedule = "wavefront";
  std::string trace;  // Chrome trace-event file to write, if set
  std::string precision = "fp32";  // --precision, on the inference commands only
  bool single_weight_copy = false;  // --single-weight-copy, on the training commands
};

struct InputFlags {
  std::string weights, input, lengths, h0, c0;
};

/// Refuses an integer flag beyond int64's range as written (CLI11 would clamp it).
const CLI::Validator& int64_in_range();
/// An integer flag of at least `minimum` (and within int64), refused naming the flag:
/// "--layers: must be at least 1, got 0".
CLI::Validator at_least(int64_t minimum);
/// A model dimension (--input-size, --hidden-size, --layers): in [1, 2^31], the library's
/// limit on every dimension.
const CLI::Validator& model_dimension();
/// A seed: a decimal integer in [0, 2^64) (CLI11 would wrap "-1" around).
const CLI::Validator& unsigned64();

void add_model_flags(CLI::App& command, ModelFlags& flags);
void add_exec_flags(CLI::App& command, ExecFlags& flags);
/// --precision fp32|bf16, for the commands that run inference only.
void add_precision_flag(CLI::App& command, ExecFlags& flags);
/// --single-weight-copy, for the commands that run a backward pass.
void add_weight_copy_flag(CLI::App& command, ExecFlags& flags);
void add_input_flags(CLI::App& command, InputFlags& flags);

ModelSpec model_spec(const ModelFlags& flags);

/// The shapes of h0/h_n [L*D, N, Hs] and c0/c_n [L*D, N, H] over `batch` rows, and their
/// labels for messages ("[L*D, N, P]" with a projection).
std::vector<int64_t> h_state_shape(const ModelSpec& spec, int64_t batch);
std::vector<int64_t> c_state_shape(const ModelSpec& spec, int64_t batch);
std::string h_state_labels(const ModelSpec& spec);
/// "[T, N, D*H]" or "[T, N, D*P]"
std::string output_labels(const ModelSpec& spec);
ExecOptions exec_options(const ExecFlags& flags);

/// Adds the trace collected in `trace` to `outputs` as flags.trace (--trace), if set.
void add_trace(OutputFiles& outputs, const ExecFlags& flags, const Trace& trace);

/// A file named on the command line: "--weights" and its path.
struct FileFlag {
  std::string flag;
  std::string path;
};

/// Refuses an output that names an input or another output, naming both flags: the same
/// file after resolving symbolic links and "..", or the same file (device and inode)
/// under another name. Empty paths are ignored; a character device (/dev/null) may be
/// named more than once.
void check_distinct_files(const std::vector<FileFlag>& inputs, const std::vector<FileFlag>& outputs);

/// The arrays of a run, loaded and checked against the model: every file's shape must
/// agree with the flags and with the other files, float values must be finite and lengths
/// in [1, T]; errors name the flag, the file, the expected and the actual value.
struct ProblemFiles {
  Tensor input;                   // [T, N, I]
  BasicTensor<int64_t> lengths;   // [N] or empty
  Tensor h0, c0;                  // [L*D, N, Hs] and [L*D, N, H], or empty
  int64_t steps = 0, batch = 0;
};

ProblemFiles load_problem(const ModelSpec& spec, const InputFlags& flags);

/// The weights of --weights, checked against the model (names, shapes, finite values).
Weights load_model_weights(const ModelSpec& spec, const InputFlags& flags);

/// Loads an optional float array that must have `shape` and finite values; empty path =
/// empty tensor.
Tensor load_optional(const std::string& path, const std::string& flag,
                     const std::vector<int64_t>& shape, const std::string& labels);

/// Refuses early (before any computation) an output path whose directory does not exist
/// or is not writable, naming the flag and the path.
void check_writable(const std::string& path, const std::string& flag);

ForwardArgs<float> forward_args(const ProblemFiles& files);

}  // namespace rnnwave::tools
