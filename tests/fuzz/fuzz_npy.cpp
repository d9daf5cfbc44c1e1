// libFuzzer harness: parse_npy on arbitrary bytes. rnnwave::Error is the only acceptable
// outcome besides success; any other exception, crash, sanitizer report, leak or hang is
// a finding. A successful parse must also survive a write/read round trip unchanged.
#include <cstdint>
#include <cstring>

#include "rnnwave/error.h"
#include "rnnwave/npy.h"

namespace {

template <class T>
void parse_and_round_trip(std::span<const std::byte> bytes) {
  rnnwave::BasicTensor<T> tensor;
  try {
    tensor = rnnwave::parse_npy<T>(bytes, "fuzz.npy");
  } catch (const rnnwave::Error&) {
    return;
  }
  if (tensor.size() != rnnwave::shape_elements(tensor.shape())) __builtin_trap();
  const auto again = rnnwave::parse_npy<T>(rnnwave::serialize_npy(tensor), "round trip");
  if (again.shape() != tensor.shape()) __builtin_trap();
  if (tensor.size() > 0 &&
      std::memcmp(again.data(), tensor.data(), tensor.vector().size() * sizeof(T)) != 0) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  parse_and_round_trip<float>(bytes);
  parse_and_round_trip<double>(bytes);
  parse_and_round_trip<int64_t>(bytes);
  return 0;
}
