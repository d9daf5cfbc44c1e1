// load_weights / save_weights (declared in rnnwave/weights.h): the model's weights as a .npz.
// Here in the io layer, not beside Weights in the engine, so that the engine links no zip
// library; a program that loads or saves weights links rnnwave_io.
#include <map>
#include <string>
#include <vector>

#include "common/strings.h"
#include "model/weight_names.h"
#include "rnnwave/npy.h"
#include "rnnwave/weights.h"

namespace rnnwave {

Weights load_weights(const std::string& path, const ModelSpec& spec) {
  // Names and shapes from the members' headers first, then only the expected members,
  // each refused before inflating if it declares more bytes than its shape takes.
  const NpzFile npz = NpzFile::open(path);
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const std::string& key : npz.keys()) shapes.emplace(key, npz.shape(key));
  try {
    spec.validate();
    check_names_and_shapes(spec, shapes);
  } catch (const Error& e) {
    fail_as(e.kind(), path, ": ", e.what());
  }
  std::map<std::string, Tensor> named;  // each message names the path and the member
  for (const ParamInfo& p : parameter_list(spec)) named.emplace(p.name, npz.read<float>(p.name, p.shape));
  try {
    return Weights::from_tensors(spec, named);
  } catch (const Error& e) {
    fail_as(e.kind(), path, ": ", e.what());
  }
}

void save_weights(const std::string& path, const Weights& weights) {
  save_npz(path, weights.to_tensors());
}

}  // namespace rnnwave
