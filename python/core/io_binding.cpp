// .npz files as the CLI reads and writes them (rnnwave/npy.h): the same checks, the same
// conversions, the same atomic writes.
#include <pybind11/stl.h>

#include <map>
#include <string>

#include "core/arrays.h"
#include "core/bindings.h"
#include "rnnwave/npy.h"

namespace rnnwave::python {
namespace {

template <class T>
py::dict parse_npz_bytes(const py::bytes& bytes, const std::string& what) {
  const std::string_view view = bytes;
  std::map<std::string, BasicTensor<T>> arrays;
  {
    py::gil_scoped_release release;
    arrays = parse_npz<T>(std::as_bytes(std::span(view.data(), view.size())), what);
  }
  py::dict out;
  for (auto& [key, tensor] : arrays) {
    const std::vector<int64_t> shape = tensor.shape();
    out[py::str(key)] = adopt<T>(std::move(tensor.vector()), shape);
  }
  return out;
}

template <class T>
void save_npz_arrays(const std::string& path, const py::dict& arrays) {
  std::map<std::string, BasicTensor<T>> named;
  for (auto [key, value] : arrays) {
    const std::string name = py::str(key);
    py::array a = array_of<T>(value, name, false);
    std::vector<int64_t> shape(a.shape(), a.shape() + a.ndim());
    const T* data = static_cast<const T*>(a.data());
    named.emplace(name, BasicTensor<T>(shape, std::vector<T>(data, data + a.size())));
  }
  py::gil_scoped_release release;
  save_npz<T>(path, named);
}

}  // namespace

void bind_io(py::module_& m) {
  m.def("parse_npz32", &parse_npz_bytes<float>, py::arg("data"), py::arg("what"),
        "The arrays of a .npz file's bytes as float32 (float64 members converted, range "
        "checked); `what` names the source in messages.");
  m.def("parse_npz64", &parse_npz_bytes<double>, py::arg("data"), py::arg("what"));
  m.def("save_npz32", &save_npz_arrays<float>, py::arg("path"), py::arg("arrays"),
        "Writes {key: float32 array} as a .npz, atomically.");
  m.def("save_npz64", &save_npz_arrays<double>, py::arg("path"), py::arg("arrays"));
}

}  // namespace rnnwave::python
