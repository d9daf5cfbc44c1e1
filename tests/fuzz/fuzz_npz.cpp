// libFuzzer harness: parse_npz and NpzFile on hostile archives. rnnwave::Error is the
// only acceptable outcome besides success; any other exception, crash, sanitizer report,
// leak, hang or out-of-memory (a lying size field trusted) is a finding.
//
// The first input byte picks what the rest is:
//   even: the archive itself, byte for byte (hostile zip structure);
//   odd:  a description of members that the harness wraps into a well-formed archive
//         with correct CRCs (fuzz_input.h), so that mutated member contents and lying
//         size fields reach the member checks and the .npy parser instead of stopping at
//         libzip's CRC check.
// Each archive is read twice: whole (parse_npz), and member by member as the weight and
// checkpoint readers do (NpzFile: the header alone, then the data against an expected
// shape, which refuses a declared size the shape cannot take before inflating).
#include <cstdint>

#include "fuzz/fuzz_input.h"
#include "rnnwave/error.h"
#include "rnnwave/npy.h"

namespace {

void read_member_by_member(std::span<const std::byte> archive, uint8_t mode) {
  const rnnwave::NpzFile npz(archive, "fuzz.npz");
  for (const std::string& key : npz.keys()) {
    try {
      const std::vector<int64_t> shape = npz.shape(key);
      npz.dtype(key);
      // The header's own shape, or a small one it does not have.
      const std::vector<int64_t> expected = (mode & 2u) ? std::vector<int64_t>{3} : shape;
      const auto tensor = npz.read<float>(key, expected);
      if (tensor.shape() != expected) __builtin_trap();
    } catch (const rnnwave::Error&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::vector<std::byte> wrapped;
  std::span<const std::byte> archive(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
  if (data[0] & 1u) {
    rnnwave::fuzzing::Reader in(data + 1, size - 1);
    wrapped = rnnwave::fuzzing::wrap_in_zip(in);
    archive = wrapped;
  }
  try {
    const auto arrays = rnnwave::parse_npz<float>(archive, "fuzz.npz");
    for (const auto& [key, tensor] : arrays) {
      if (tensor.size() != rnnwave::shape_elements(tensor.shape())) __builtin_trap();
    }
  } catch (const rnnwave::Error&) {
  }
  try {
    read_member_by_member(archive, data[0]);
  } catch (const rnnwave::Error&) {
  }
  return 0;
}
