// The parts of the module rnnwave._core, one function per public header they expose.
#pragma once

#include <pybind11/pybind11.h>

namespace rnnwave::python {

namespace py = pybind11;

void bind_spec(py::module_& m);      // rnnwave/model.h, cell.h, schedule.h
void bind_weights(py::module_& m);   // rnnwave/weights.h
void bind_rnn(py::module_& m);       // rnnwave/rnn.h
void bind_io(py::module_& m);        // rnnwave/npy.h
void bind_data(py::module_& m);      // rnnwave/data_audio.h, data_fsdd.h

}  // namespace rnnwave::python
