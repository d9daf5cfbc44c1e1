// Views of numpy arrays as the spans the C++ API takes, and numpy views of C++ memory.
//
// Zero copy both ways: an argument is used in place or refused, never converted. A
// buffer the library writes must be a writeable, C-contiguous array of exactly the
// element type, so that the result lands in the caller's memory; anything else is an
// error naming the argument (a silent copy would leave the caller's array unwritten).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

namespace rnnwave::python {

namespace py = pybind11;

/// "float32", "float64", "int64": numpy's names, for messages.
template <class T>
std::string_view dtype_name();

/// One expected dimension: its value and its glossary label ("N", "L*D", ...).
struct Dim {
  int64_t value;
  std::string_view label;
};

/// Checks that `object` is a numpy array of element type T, C-contiguous (and writeable
/// if `writable`), of any shape; throws naming `name` otherwise (TypeError if it is not a
/// numpy array at all, else Error).
template <class T>
py::array array_of(py::handle object, std::string_view name, bool writable);

/// As array_of, and of rank dims.size() with those extents, else Error naming `name`,
/// e.g. "h0: expected shape [L*D, N, H] = [2, 3, 16], got [2, 16, 3]". A Dim with value
/// -1 accepts any extent.
template <class T>
py::array checked_array(py::handle object, std::string_view name, std::initializer_list<Dim> dims,
                        bool writable);

/// The elements of a checked array (see checked_array).
template <class T>
std::span<const T> read_span(py::handle object, std::string_view name,
                             std::initializer_list<Dim> dims) {
  py::array a = checked_array<T>(object, name, dims, false);
  return {static_cast<const T*>(a.data()), static_cast<size_t>(a.size())};
}

template <class T>
std::span<T> write_span(py::handle object, std::string_view name, std::initializer_list<Dim> dims) {
  py::array a = checked_array<T>(object, name, dims, true);
  return {static_cast<T*>(a.mutable_data()), static_cast<size_t>(a.size())};
}

/// As read_span / write_span, with None meaning "not given" (an empty span).
template <class T>
std::span<const T> optional_read_span(py::handle object, std::string_view name,
                                      std::initializer_list<Dim> dims) {
  if (object.is_none()) return {};
  return read_span<T>(object, name, dims);
}

template <class T>
std::span<T> optional_write_span(py::handle object, std::string_view name,
                                 std::initializer_list<Dim> dims) {
  if (object.is_none()) return {};
  return write_span<T>(object, name, dims);
}

/// A numpy array of `shape` over memory owned by `owner` (which the array keeps alive):
/// no copy. Writeable unless `read_only`.
template <class T>
py::array view_of(T* data, const std::vector<int64_t>& shape, py::handle owner,
                  bool read_only = false);

/// A numpy array taking over `values` (moved to the heap and freed with the array).
template <class T>
py::array adopt(std::vector<T>&& values, const std::vector<int64_t>& shape);

}  // namespace rnnwave::python
