// BasicWeights<float> and <double> as Weights32 and Weights64: the parameters of a stack
// (or their gradients) in one C++ buffer, seen from Python as numpy views without copies.
#include <pybind11/stl.h>

#include <algorithm>
#include <map>
#include <string>

#include "core/arrays.h"
#include "core/bindings.h"
#include "rnnwave/error.h"
#include "rnnwave/weights.h"

namespace rnnwave::python {
namespace {

template <class T>
BasicWeights<T> from_arrays(const ModelSpec& spec, const py::dict& arrays) {
  std::map<std::string, BasicTensor<T>> named;
  for (auto [key, value] : arrays) {
    if (!py::isinstance<py::str>(key)) {
      throw py::type_error("weights: keys must be parameter names (str), got " +
                           std::string(py::str(py::type::handle_of(key).attr("__name__"))));
    }
    const std::string name = py::str(key);
    // Any shape: from_tensors names the key if it is wrong.
    py::array array = array_of<T>(value, name, false);
    std::vector<int64_t> shape(array.shape(), array.shape() + array.ndim());
    const T* data = static_cast<const T*>(array.data());
    named.emplace(name, BasicTensor<T>(shape, std::vector<T>(data, data + array.size())));
  }
  return BasicWeights<T>::from_tensors(spec, named);
}

/// Copies arrays, one per parameter in state_dict order, into the weights (same shapes).
template <class T>
void assign(BasicWeights<T>& weights, const py::sequence& arrays) {
  const auto& params = weights.params();
  if (py::len(arrays) != params.size()) {
    throw Error("assign: expected " + std::to_string(params.size()) + " arrays (one per parameter), got " +
                std::to_string(py::len(arrays)));
  }
  for (size_t i = 0; i < params.size(); ++i) {
    const ParamInfo& p = params[i];
    const py::handle value = arrays[i];
    std::span<const T> source;
    if (p.shape.size() == 2) {
      source = read_span<T>(value, p.name, {{p.shape[0], "rows"}, {p.shape[1], "columns"}});
    } else {
      source = read_span<T>(value, p.name, {{p.shape[0], "G*H"}});
    }
    // By index: a cell's own parameters (weight_hr, weight_ph) have no common kind.
    auto target = weights.values(i);
    std::copy(source.begin(), source.end(), target.begin());
  }
}

template <class T>
void bind_weights_of(py::module_& m, const char* name) {
  using W = BasicWeights<T>;
  py::class_<W>(m, name, "The parameters (or gradients) of a stack, keyed by PyTorch's names.")
      .def(py::init<const ModelSpec&>(), py::arg("spec"), "All parameters zero.")
      .def_static("uniform", &W::uniform, py::arg("spec"), py::arg("seed"),
                  "PyTorch's default initialisation U(-1/sqrt(H), 1/sqrt(H)), seeded.")
      .def_static("from_arrays", &from_arrays<T>, py::arg("spec"), py::arg("arrays"),
                  "From {name: array}, exactly the names of spec.parameter_list() (copied).")
      .def_property_readonly("spec", &W::spec)
      .def_property_readonly("names",
                             [](const W& w) {
                               py::list names;
                               for (const ParamInfo& p : w.params()) names.append(p.name);
                               return names;
                             })
      .def_property_readonly(
          "flat",
          [](py::object self) {
            W& w = self.cast<W&>();
            return view_of<T>(w.flat().data(), {static_cast<int64_t>(w.flat().size())}, self);
          },
          "Every parameter, contiguous, in state_dict order: a writeable view.")
      .def(
          "arrays",
          [](py::object self) {
            W& w = self.cast<W&>();
            py::list views;
            const auto& params = w.params();
            for (size_t i = 0; i < params.size(); ++i) {
              views.append(view_of<T>(w.values(i).data(), params[i].shape, self));
            }
            return views;
          },
          "Writeable views of every parameter, in state_dict order.")
      .def("assign", &assign<T>, py::arg("arrays"),
           "Copies one array per parameter (state_dict order, exact shapes) into the weights.");
}

}  // namespace

void bind_weights(py::module_& m) {
  bind_weights_of<float>(m, "Weights32");
  bind_weights_of<double>(m, "Weights64");
}

}  // namespace rnnwave::python
