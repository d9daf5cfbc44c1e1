// rnnwave/npy.h — NumPy .npy and .npz files, read defensively and written atomically.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rnnwave/tensor.h"

namespace rnnwave {

/// Element types the readers return: float, double or int64_t.
///
/// Conversions on reading (anything else throws Error naming the dtype):
///   float   <- float32 as is; float64 converted (a finite value outside float's range
///              is an error, never a silent inf)
///   double  <- float32, float64
///   int64_t <- any signed or unsigned integer of 1, 2, 4 or 8 bytes (a uint64 above
///              INT64_MAX is an error)
/// Either byte order is accepted; Fortran-ordered arrays are reordered to C order.
/// Format versions 1.0, 2.0 and 3.0; at most 64 dimensions (numpy's own limit).
/// Truncated, oversized or malformed files throw Error saying what is wrong and where
/// (`what` names the source in messages, usually the path). Sizes are checked against the
/// input before anything is allocated, so a hostile header cannot cause a huge allocation.
template <class T>
BasicTensor<T> parse_npy(std::span<const std::byte> bytes, std::string_view what);

template <class T>
BasicTensor<T> load_npy(const std::string& path);

/// The arrays of a .npz (a zip archive of .npy members, stored or deflated, zip64 or not,
/// as written by np.savez / np.savez_compressed). Keys lose their ".npy" suffix.
/// Duplicate keys are an error.
template <class T>
std::map<std::string, BasicTensor<T>> parse_npz(std::span<const std::byte> bytes,
                                                std::string_view what);

template <class T>
std::map<std::string, BasicTensor<T>> load_npz(const std::string& path);

/// A .npz opened for reading member by member, for callers that know which arrays they
/// need and their shapes: nothing is inflated until asked for, so members the caller
/// does not use (or refuses by name) cost nothing, and a member whose declared size
/// exceeds what its expected shape can take is refused before it is inflated. Keys are
/// the member names without ".npy"; duplicate keys are an Error when opening. Messages
/// name `what` (usually the path) and the member, escaped and shortened.
class NpzFile {
 public:
  /// Reads the whole file (refused if it exceeds the available memory) and its directory.
  static NpzFile open(const std::string& path);
  /// Over bytes the caller keeps alive for the NpzFile's lifetime.
  NpzFile(std::span<const std::byte> bytes, std::string_view what);
  ~NpzFile();
  NpzFile(NpzFile&&) noexcept;
  NpzFile& operator=(NpzFile&&) noexcept;

  /// In archive order.
  const std::vector<std::string>& keys() const;
  bool contains(const std::string& key) const;
  /// The shape its .npy header declares, inflating only the header (at most 64 KiB).
  std::vector<int64_t> shape(const std::string& key) const;
  /// Its dtype as the header declares it ("float32", "int64", "uint8"), likewise.
  std::string dtype(const std::string& key) const;
  /// The array, any shape (inflated in chunks: memory follows the real data).
  template <class T>
  BasicTensor<T> read(const std::string& key) const;
  /// The array, which must have shape `expected`: its member's declared size is checked
  /// before inflating against the most an array of that shape can take (its header and
  /// 8 bytes per element, the widest dtype the readers convert).
  template <class T>
  BasicTensor<T> read(const std::string& key, const std::vector<int64_t>& expected) const;
  /// "WHAT: member 'KEY'", for messages.
  std::string label(const std::string& key) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The .npy encoding (format version 1.0, little-endian, C order) of a tensor: the same
/// bytes np.save writes for that array. Throws Error for a rank above 64.
template <class T>
std::vector<std::byte> serialize_npy(const BasicTensor<T>& tensor);

/// Writes a .npy / .npz atomically: the bytes go to a temporary file in the same
/// directory, which is flushed to disk and then renamed over `path`. A crash or an error
/// mid-write leaves any previous file at `path` untouched and no partial file behind.
/// Throws Error naming the path if it cannot be written.
template <class T>
void save_npy(const std::string& path, const BasicTensor<T>& tensor);

/// Members are "<key>.npy", stored uncompressed (as np.savez does) in key order with a
/// fixed timestamp, so equal arrays give byte-identical files. Keys must be non-empty.
template <class T>
void save_npz(const std::string& path, const std::map<std::string, BasicTensor<T>>& arrays);

/// Reads a whole file; throws Error naming the path and the reason.
std::vector<std::byte> read_file(const std::string& path);

/// The atomic write used by save_npy/save_npz, for any bytes.
void write_file_atomic(const std::string& path, std::span<const std::byte> bytes);

/// The bytes save_npz writes.
template <class T>
std::vector<std::byte> serialize_npz(const std::map<std::string, BasicTensor<T>>& arrays);

/// Outputs that appear together or not at all (a command's output and final states, or
/// its gradients and trace). add() writes a file's bytes at once to a temporary file
/// beside it (".NAME.tmp.XXXXXX", flushed to disk); commit() renames them all over their
/// targets once every one has been written. An error in add() or commit(), or destruction
/// without commit(), removes every temporary file left, so a failure leaves every target
/// as it was (a rename that fails after others succeeded cannot undo those; renames in
/// one directory practically do not fail). A character device or pipe target (/dev/null)
/// cannot be renamed over: its bytes are written straight into it by commit(), before any
/// rename. Errors name `label` (a flag, "--hn") and the path.
class OutputFiles {
 public:
  OutputFiles();
  ~OutputFiles();
  OutputFiles(const OutputFiles&) = delete;
  OutputFiles& operator=(const OutputFiles&) = delete;

  void add(const std::string& path, std::span<const std::byte> bytes, const std::string& label = "");
  /// For a writer that can only write to a path: `write(temporary_path)` is called now.
  void add_written(const std::string& path, const std::function<void(const std::string&)>& write,
                   const std::string& label = "");
  void commit();

 private:
  struct Pending;
  void commit_all();
  /// Removes the temporary files not renamed yet.
  void discard();
  std::vector<Pending> pending_;
};

}  // namespace rnnwave
