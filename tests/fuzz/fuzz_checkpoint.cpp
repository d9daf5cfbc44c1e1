// libFuzzer harness: the checkpoint reader and the run config inside it. rnnwave::Error is
// the only acceptable outcome besides success; any other exception, crash, sanitizer
// report, leak, hang or out-of-memory is a finding.
//
// The first input byte picks what the rest is:
//   0 (mod 3): the archive itself, byte for byte;
//   1 (mod 3): member descriptions wrapped into a well-formed archive (fuzz_input.h), the
//              names up to 40 bytes so that "param/...", "optimizer/..." can be formed;
//   2 (mod 3): the config JSON text, placed in an otherwise valid checkpoint, so that the
//              JSON parser and config_from_json see every mutation.
// A checkpoint that opens has its config parsed and validated and every parameter and
// optimizer tensor read with the shape its header declares (the size checks before
// inflating).
#include <cstdint>
#include <string>

#include "fuzz/fuzz_input.h"
#include "io/npy_header.h"
#include "rnnwave/error.h"
#include "rnnwave/npy.h"
#include "train/checkpoint.h"
#include "train/train_config_json.h"

namespace {

/// The .npy of `text` as uint8 [n], as checkpoints store their config.
std::vector<std::byte> npy_of_text(const uint8_t* text, size_t size) {
  std::vector<std::byte> out = rnnwave::format_npy_header("|u1", {static_cast<int64_t>(size)});
  const auto* begin = reinterpret_cast<const std::byte*>(text);
  out.insert(out.end(), begin, begin + size);
  return out;
}

/// A checkpoint of no epochs whose config member holds `text`.
std::vector<std::byte> checkpoint_with_config(const uint8_t* text, size_t size) {
  std::vector<rnnwave::testing::ZipEntry> entries;
  entries.emplace_back("config.npy", npy_of_text(text, size));
  entries.emplace_back("epochs_done.npy", rnnwave::serialize_npy(rnnwave::BasicTensor<int64_t>({}, {0})));
  entries.emplace_back("history.npy", rnnwave::serialize_npy(rnnwave::BasicTensor<double>({0, 8})));
  entries.emplace_back("param/head.bias.npy", rnnwave::serialize_npy(rnnwave::Tensor({1}, {0.5f})));
  entries.emplace_back("rnnwave_checkpoint.npy", rnnwave::serialize_npy(rnnwave::BasicTensor<int64_t>({}, {1})));
  return rnnwave::testing::make_zip(entries);
}

void read_checkpoint(std::span<const std::byte> bytes) {
  const rnnwave::train::CheckpointReader reader(bytes, "fuzz checkpoint");
  try {
    const rnnwave::TrainConfig config = rnnwave::train::config_from_json(reader.config_json());
    config.validate();
    // What was read must write back to text that reads the same.
    if (rnnwave::train::config_to_json(rnnwave::train::config_from_json(rnnwave::train::config_to_json(config))) !=
        rnnwave::train::config_to_json(config)) {
      __builtin_trap();
    }
  } catch (const rnnwave::Error&) {
  }
  for (const std::string& name : reader.parameter_names()) {
    try {
      reader.parameter(name, reader.parameter_shape(name));
    } catch (const rnnwave::Error&) {
    }
  }
  for (const std::string& key : reader.optimizer_keys()) {
    try {
      reader.optimizer_tensor(key, reader.optimizer_shape(key));
    } catch (const rnnwave::Error&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::vector<std::byte> built;
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
  if (data[0] % 3 == 1) {
    rnnwave::fuzzing::Reader in(data + 1, size - 1);
    built = rnnwave::fuzzing::wrap_in_zip(in, 40);
    bytes = built;
  } else if (data[0] % 3 == 2) {
    built = checkpoint_with_config(data + 1, size - 1);
    bytes = built;
  }
  try {
    read_checkpoint(bytes);
  } catch (const rnnwave::Error&) {
  }
  return 0;
}
