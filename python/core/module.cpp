// rnnwave._core: the public C++ API for Python. The pure-Python package (python/rnnwave/)
// builds the numpy and torch APIs on it; users do not import this module directly.
#include <pybind11/pybind11.h>

#include "core/bindings.h"
#include "rnnwave/error.h"

namespace py = pybind11;

namespace {

PyObject* python_type(rnnwave::ErrorKind kind) {
  switch (kind) {
    case rnnwave::ErrorKind::out_of_memory:
      return PyExc_MemoryError;
    case rnnwave::ErrorKind::runtime:
      return PyExc_RuntimeError;
    case rnnwave::ErrorKind::invalid_input:
      break;
  }
  return PyExc_ValueError;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "rnnwave's C++ engine (use the rnnwave and rnnwave.torch modules)";
  // rnnwave::Error carries whose problem it is (rnnwave/error.h), and the message is kept
  // unchanged: a bad value (a shape, a size, a file's content, a non-finite number) is a
  // ValueError; a request too large for this machine's memory is a MemoryError, as a
  // failed allocation (std::bad_alloc) is; the system failing a valid operation (a write
  // that finds the disk full) is a RuntimeError. Every other C++ exception keeps
  // pybind11's mapping (other std::exception: RuntimeError).
  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const rnnwave::Error& error) {
      PyErr_SetString(python_type(error.kind()), error.what());
    }
  });
  rnnwave::python::bind_spec(m);
  rnnwave::python::bind_weights(m);
  rnnwave::python::bind_rnn(m);
  rnnwave::python::bind_io(m);
  rnnwave::python::bind_data(m);
}
