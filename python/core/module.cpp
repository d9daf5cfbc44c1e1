// rnnwave._core: the public C++ API for Python. The pure-Python package (python/rnnwave/)
// builds the numpy and torch APIs on it; users do not import this module directly.
#include <pybind11/pybind11.h>

#include "core/bindings.h"
#include "rnnwave/error.h"

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
  m.doc() = "rnnwave's C++ engine (use the rnnwave and rnnwave.torch modules)";
  // rnnwave::Error reports a bad value (a shape, a size, a file's content, a non-finite
  // number): ValueError, with the library's one-line message unchanged. Every other C++
  // exception keeps pybind11's mapping (std::bad_alloc: MemoryError; other
  // std::exception: RuntimeError).
  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const rnnwave::Error& error) {
      PyErr_SetString(PyExc_ValueError, error.what());
    }
  });
  rnnwave::python::bind_spec(m);
  rnnwave::python::bind_weights(m);
  rnnwave::python::bind_rnn(m);
  rnnwave::python::bind_io(m);
  rnnwave::python::bind_data(m);
}
