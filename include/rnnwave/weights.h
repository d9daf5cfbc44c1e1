// rnnwave/weights.h — the parameters of a recurrent stack, keyed by PyTorch's names.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rnnwave/huge_pages.h"
#include "rnnwave/model.h"
#include "rnnwave/tensor.h"

namespace rnnwave {

/// All parameters of a model in one contiguous buffer, in PyTorch's state_dict order
/// and layouts (parameter_list gives names and shapes):
///   weight_ih_l{k}[_reverse]  [G*H, I_k]   (I_0 = I, I_k = D*H above)
///   weight_hh_l{k}[_reverse]  [G*H, H]
///   bias_ih_l{k}[_reverse]    [G*H]
///   bias_hh_l{k}[_reverse]    [G*H]
///   and, after them, the parameters only some cells have (cell.h).
/// Rows of a weight are grouped by gate in the order of cell.h (LSTM i,f,g,o; GRU r,z,n).
/// Also used to hold gradients, with the same names and shapes.
template <class T>
class BasicWeights {
 public:
  /// All parameters zero. Validates the spec (throws Error).
  explicit BasicWeights(const ModelSpec& spec);

  /// PyTorch's default initialisation, U(-1/sqrt(H), 1/sqrt(H)) for every parameter:
  /// element i of flat() is -b + 2 b counter_uniform(counter_key(seed, 0, 0), i) with
  /// b = 1/sqrt(H) (rnnwave/random.h), the same on every machine.
  static BasicWeights uniform(const ModelSpec& spec, uint64_t seed);

  /// Builds weights from named tensors. The names must be exactly those of
  /// parameter_list(spec): a missing, extra or mis-shaped entry throws Error naming the
  /// key with the expected and actual shapes. Non-finite values throw Error too.
  static BasicWeights from_tensors(const ModelSpec& spec,
                                   const std::map<std::string, BasicTensor<T>>& named);

  const ModelSpec& spec() const { return spec_; }
  const std::vector<ParamInfo>& params() const { return params_; }

  /// One of the four common parameters of (layer, direction); throws Error for
  /// ParamKind::other (use the name).
  std::span<T> get(ParamKind kind, int64_t layer, int64_t direction);
  std::span<const T> get(ParamKind kind, int64_t layer, int64_t direction) const;
  /// The values of params()[index].
  std::span<T> values(size_t index);
  std::span<const T> values(size_t index) const;
  /// By PyTorch name; throws Error for an unknown name.
  std::span<T> get(std::string_view name);
  std::span<const T> get(std::string_view name) const;

  /// Every parameter, contiguous, in state_dict order (as params()).
  std::span<T> flat() { return data_; }
  std::span<const T> flat() const { return data_; }

  /// A copy of every parameter as a named tensor, for saving.
  std::map<std::string, BasicTensor<T>> to_tensors() const;

 private:
  size_t find(std::string_view name) const;
  size_t index_of(ParamKind kind, int64_t layer, int64_t direction) const;

  ModelSpec spec_;
  std::vector<ParamInfo> params_;
  std::vector<int64_t> offsets_;  // offset of params_[i] in data_
  LargeVector<T> data_;
};

using Weights = BasicWeights<float>;

extern template class BasicWeights<float>;
extern template class BasicWeights<double>;

/// Loads a .npz whose keys are the model's state_dict names, as written by
///   np.savez(path, **{k: v.numpy() for k, v in module.state_dict().items()})
/// float32 arrays load as they are, float64 arrays are converted (see npy.h).
/// load_weights and save_weights are defined in rnnwave_io (they read and write zip
/// archives), the rest of this header in rnnwave_engine.
Weights load_weights(const std::string& path, const ModelSpec& spec);

/// Writes the weights as such a .npz, atomically (see npy.h).
void save_weights(const std::string& path, const Weights& weights);

}  // namespace rnnwave
