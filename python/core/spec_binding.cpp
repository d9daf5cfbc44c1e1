// ModelSpec, the cell kinds and the schedules.
//
// The fields of ModelSpec are listed once, as the attributes below: the constructor takes
// any of them as keywords (by setting the attribute), so a new field of the C++ struct is
// one def_readwrite here. Cell kinds and schedules are listed from the C++ tables, so a new
// kind needs no change at all.
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "core/bindings.h"
#include "rnnwave/cell.h"
#include "rnnwave/error.h"
#include "rnnwave/model.h"
#include "rnnwave/schedule.h"

namespace rnnwave::python {
namespace {

std::vector<std::string> cell_kind_names() {
  std::vector<std::string> names;
  for (CellKind kind : kAllCellKinds) names.emplace_back(to_string(kind));
  return names;
}

std::vector<std::string> precision_names() {
  std::vector<std::string> names;
  for (Precision precision : kAllPrecisions) names.emplace_back(to_string(precision));
  return names;
}

std::vector<std::string> schedule_names() {
  std::vector<std::string> names;
  for (Schedule schedule : kAllSchedules) names.emplace_back(to_string(schedule));
  return names;
}

ModelSpec spec_from_keywords(const py::kwargs& fields) {
  py::object spec = py::cast(ModelSpec{});
  for (auto [key, value] : fields) {
    const std::string name = py::str(key);
    if (name.empty() || name[0] == '_' || !py::hasattr(spec, key) ||
        py::isinstance<py::function>(spec.attr(key))) {
      throw py::type_error("ModelSpec: unknown field '" + name + "'");
    }
    spec.attr(key) = value;
  }
  return spec.cast<ModelSpec>();
}

}  // namespace

void bind_spec(py::module_& m) {
  m.def("cell_kinds", &cell_kind_names, "The cell kinds, in the library's order.");
  m.def("schedules", &schedule_names, "The schedules, in the library's order.");
  m.def("precisions", &precision_names, "The precisions of inference passes (fp32 first).");
  m.def("gate_count", [](const std::string& cell) { return gate_count(parse_cell_kind(cell)); });
  m.def("has_cell_state",
        [](const std::string& cell) { return has_cell_state(parse_cell_kind(cell)); });

  py::class_<ModelSpec>(m, "ModelSpec", "The description of a recurrent stack (rnnwave/model.h).")
      .def(py::init(&spec_from_keywords))
      .def_property(
          "cell", [](const ModelSpec& s) { return std::string(to_string(s.cell)); },
          [](ModelSpec& s, const std::string& name) { s.cell = parse_cell_kind(name); })
      .def_readwrite("input_size", &ModelSpec::input_size)
      .def_readwrite("hidden_size", &ModelSpec::hidden_size)
      .def_readwrite("layers", &ModelSpec::layers)
      .def_readwrite("bidirectional", &ModelSpec::bidirectional)
      .def_readwrite("proj_size", &ModelSpec::proj_size)
      .def_readwrite("peepholes", &ModelSpec::peepholes)
      .def_readwrite("reverse", &ModelSpec::reverse)
      .def_readwrite("cell_clip", &ModelSpec::cell_clip)
      .def_property_readonly("output_size", &ModelSpec::output_size)
      .def_property_readonly("directions", &ModelSpec::directions)
      .def_property_readonly("gates", &ModelSpec::gates)
      .def_property_readonly("parameter_count", &ModelSpec::parameter_count)
      .def("validate", &ModelSpec::validate)
      .def(
          "parameter_list",
          [](const ModelSpec& s) {
            py::list out;
            for (const ParamInfo& p : parameter_list(s)) {
              out.append(py::make_tuple(p.name, py::tuple(py::cast(p.shape))));
            }
            return out;
          },
          "[(name, shape)] of every parameter, in state_dict order.")
      .def("__repr__", [](const ModelSpec& s) { return "ModelSpec(" + describe(s) + ")"; });
}

}  // namespace rnnwave::python
