#include "core/arrays.h"

#include <sstream>
#include <string>

#include "rnnwave/error.h"
#include "rnnwave/tensor.h"

namespace rnnwave::python {
namespace {

std::string shape_of(const py::array& a) {
  std::vector<int64_t> shape(a.shape(), a.shape() + a.ndim());
  return shape_to_string(shape);
}

/// "[L*D, N, H] = [2, 3, 16]"
std::string expected_shape(std::initializer_list<Dim> dims) {
  std::ostringstream labels, values;
  labels << "[";
  values << "[";
  bool first = true;
  for (const Dim& d : dims) {
    if (!first) {
      labels << ", ";
      values << ", ";
    }
    first = false;
    labels << d.label;
    if (d.value < 0) {
      values << d.label;
    } else {
      values << d.value;
    }
  }
  labels << "]";
  values << "]";
  return labels.str() == values.str() ? labels.str() : labels.str() + " = " + values.str();
}

/// What was passed instead of a suitable array, for messages.
std::string describe_object(py::handle object) {
  return std::string(py::str(py::type::handle_of(object).attr("__name__")));
}

}  // namespace

template <>
std::string_view dtype_name<float>() {
  return "float32";
}
template <>
std::string_view dtype_name<double>() {
  return "float64";
}
template <>
std::string_view dtype_name<int64_t>() {
  return "int64";
}

template <class T>
py::array array_of(py::handle object, std::string_view name, bool writable) {
  if (!py::isinstance<py::array>(object)) {
    throw py::type_error(std::string(name) + ": expected a numpy array of " +
                         std::string(dtype_name<T>()) + ", got " + describe_object(object));
  }
  auto a = py::reinterpret_borrow<py::array>(object);
  if (!py::isinstance<py::array_t<T>>(object)) {
    throw Error(std::string(name) + ": expected dtype " + std::string(dtype_name<T>()) + ", got " +
                std::string(py::str(a.dtype())) + " (no conversion is made)");
  }
  if (!(a.flags() & py::array::c_style)) {
    throw Error(std::string(name) + ": expected a C-contiguous array, got strides that are not "
                "(use numpy.ascontiguousarray or torch's .contiguous(); no copy is made)");
  }
  if (writable && !a.writeable()) {
    throw Error(std::string(name) + ": the array is read-only, but results are written to it");
  }
  return a;
}

template <class T>
py::array checked_array(py::handle object, std::string_view name, std::initializer_list<Dim> dims,
                        bool writable) {
  py::array a = array_of<T>(object, name, writable);
  const bool fits = static_cast<size_t>(a.ndim()) == dims.size();
  bool same = fits;
  if (fits) {
    size_t i = 0;
    for (const Dim& d : dims) {
      if (d.value >= 0 && a.shape(static_cast<py::ssize_t>(i)) != d.value) same = false;
      ++i;
    }
  }
  if (!same) {
    throw Error(std::string(name) + ": expected shape " + expected_shape(dims) + ", got " +
                shape_of(a));
  }
  return a;
}

template py::array array_of<float>(py::handle, std::string_view, bool);
template py::array array_of<double>(py::handle, std::string_view, bool);
template py::array array_of<int64_t>(py::handle, std::string_view, bool);
template py::array checked_array<float>(py::handle, std::string_view, std::initializer_list<Dim>, bool);
template py::array checked_array<double>(py::handle, std::string_view, std::initializer_list<Dim>, bool);
template py::array checked_array<int64_t>(py::handle, std::string_view, std::initializer_list<Dim>, bool);

template <class T>
py::array view_of(T* data, const std::vector<int64_t>& shape, py::handle owner, bool read_only) {
  std::vector<py::ssize_t> extents(shape.begin(), shape.end());
  py::array a(py::dtype::of<T>(), extents, {}, data, owner);
  if (read_only) {
    a.attr("flags").attr("writeable") = false;
  }
  return a;
}

template py::array view_of<float>(float*, const std::vector<int64_t>&, py::handle, bool);
template py::array view_of<double>(double*, const std::vector<int64_t>&, py::handle, bool);
template py::array view_of<int64_t>(int64_t*, const std::vector<int64_t>&, py::handle, bool);

template <class T>
py::array adopt(std::vector<T>&& values, const std::vector<int64_t>& shape) {
  auto* owned = new std::vector<T>(std::move(values));
  py::capsule free_when_done(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return view_of<T>(owned->data(), shape, free_when_done);
}

template py::array adopt<float>(std::vector<float>&&, const std::vector<int64_t>&);
template py::array adopt<double>(std::vector<double>&&, const std::vector<int64_t>&);
template py::array adopt<int64_t>(std::vector<int64_t>&&, const std::vector<int64_t>&);

}  // namespace rnnwave::python
