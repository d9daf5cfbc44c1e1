#include "rnnwave/weights.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "cells/cell_table.h"
#include "common/finite.h"
#include "common/strings.h"
#include "model/weight_names.h"
#include "rnnwave/random.h"

namespace rnnwave {
namespace {

/// For a weight with the wrong number of rows, names the cell kinds it would fit.
std::string gate_hint(const ModelSpec& spec, const std::vector<int64_t>& actual) {
  if (actual.empty() || actual[0] % spec.hidden_size != 0) return "";
  const int64_t gates = actual[0] / spec.hidden_size;
  if (gates == spec.gates() || gates > 64) return "";
  const std::string kinds = cells::kinds_with_gates(static_cast<int>(gates));
  if (kinds.empty()) return "";
  return cat(" (", gates, "*H rows: saved from a ", kinds, "? this model is ", to_string(spec.cell),
             ")");
}

/// The parameters of layer `layer`: those of the one-layer model whose input is that
/// layer's input, renamed. Keeps parameter_list the one definition of names and shapes.
std::vector<ParamInfo> layer_params(const ModelSpec& spec, int64_t layer) {
  ModelSpec one_layer = spec;
  one_layer.layers = 1;
  one_layer.input_size = spec.layer_input_size(layer);
  std::vector<ParamInfo> params = parameter_list(one_layer);
  for (ParamInfo& p : params) {
    p.layer = layer;
    p.name = param_name(p.key, layer, spec.reverse ? 1 : p.direction);
  }
  return params;
}

/// The key of a parameter name: "weight_hr_l0_reverse" -> "weight_hr".
std::string_view key_of(std::string_view name) {
  const size_t layer = name.rfind("_l");
  return layer == std::string_view::npos ? name : name.substr(0, layer);
}

ModelSpec one_layer_of(ModelSpec spec) {
  spec.layers = 1;
  return spec;
}

}  // namespace

void check_names_and_shapes(const ModelSpec& spec,
                            const std::map<std::string, std::vector<int64_t>>& named) {
  const int64_t count = spec.layers * spec.directions() *
                        static_cast<int64_t>(cells::cell_definition(spec).params.size());
  if (static_cast<int64_t>(named.size()) >= count) {
    std::set<std::string> expected;
    for (const ParamInfo& p : parameter_list(spec)) expected.insert(p.name);
    std::vector<std::string> unexpected;
    std::string hint;
    for (const auto& [name, shape] : named) {
      if (expected.count(name) == 0) {
        unexpected.push_back(cat(quote_for_message(name), " of shape ", shape_to_string(shape)));
        if (hint.empty()) hint = cells::parameter_hint(spec, key_of(name));
        if (hint.empty() && spec.reverse && !name.ends_with("_reverse")) {
          hint = "the parameters of a reverse model are named like a bidirectional model's "
                 "reverse half, *_reverse";
        }
      }
    }
    if (!unexpected.empty()) {
      constexpr size_t kListed = 6;
      std::string list;
      for (size_t i = 0; i < std::min(unexpected.size(), kListed); ++i) {
        list += cat(i > 0 ? ", " : "", unexpected[i]);
      }
      if (unexpected.size() > kListed) list += cat(" and ", unexpected.size() - kListed, " more");
      const bool one = unexpected.size() == 1;
      fail(one ? "unexpected weight " : cat(unexpected.size(), " unexpected weights "), list,
           ": not ", one ? "a parameter" : "parameters", " of ", describe(spec),
           " (first expected: '", parameter_list(one_layer_of(spec)).front().name, "')",
           hint.empty() ? "" : "; " + hint);
    }
  }
  // In state_dict order, the first missing or mis-shaped parameter. With fewer arrays than
  // parameters this stops at a missing one within named.size() + 1 names.
  for (int64_t layer = 0; layer < spec.layers; ++layer) {
    for (const ParamInfo& p : layer_params(spec, layer)) {
      const auto found = named.find(p.name);
      if (found == named.end()) {
        fail("missing weight '", p.name, "' (expected shape ", shape_to_string(p.shape), ")");
      }
      const std::vector<int64_t>& actual = found->second;
      if (actual != p.shape) {
        fail(p.name, ": expected shape ", shape_to_string(p.shape), ", got ",
             shape_to_string(actual), gate_hint(spec, actual));
      }
    }
  }
}

template <class T>
BasicWeights<T>::BasicWeights(const ModelSpec& spec) : spec_(spec) {
  spec_.validate();
  params_ = parameter_list(spec_);
  int64_t offset = 0;
  for (const ParamInfo& p : params_) {
    offsets_.push_back(offset);
    offset += shape_elements(p.shape);
  }
  data_.assign(static_cast<size_t>(offset), T(0));
}

template <class T>
BasicWeights<T> BasicWeights<T>::uniform(const ModelSpec& spec, uint64_t seed) {
  BasicWeights weights(spec);
  const double bound = 1.0 / std::sqrt(static_cast<double>(spec.hidden_size));
  const uint64_t key = counter_key(seed, 0, 0);
  for (size_t i = 0; i < weights.data_.size(); ++i) {
    weights.data_[i] = static_cast<T>(-bound + 2.0 * bound * counter_uniform(key, i));
  }
  return weights;
}

template <class T>
BasicWeights<T> BasicWeights<T>::from_tensors(
    const ModelSpec& spec, const std::map<std::string, BasicTensor<T>>& named) {
  spec.validate();
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& [name, tensor] : named) shapes.emplace(name, tensor.shape());
  check_names_and_shapes(spec, shapes);  // before allocating anything the size of the model
  BasicWeights weights(spec);
  for (size_t i = 0; i < weights.params_.size(); ++i) {
    const ParamInfo& p = weights.params_[i];
    const BasicTensor<T>& tensor = named.at(p.name);
    check_finite<T>(tensor.span(), tensor.shape(), p.name);
    std::copy(tensor.vector().begin(), tensor.vector().end(),
              weights.data_.begin() + weights.offsets_[i]);
  }
  return weights;
}

template <class T>
size_t BasicWeights<T>::index_of(ParamKind kind, int64_t layer, int64_t direction) const {
  if (layer < 0 || layer >= spec_.layers || direction < 0 || direction >= spec_.directions()) {
    fail("no parameter for layer ", layer, " direction ", direction, " in ", describe(spec_));
  }
  const int index = static_cast<int>(kind);
  if (index < 0 || index >= kParamKindCount) {
    fail("ParamKind::other names no one parameter; get it by name (see parameter_list)");
  }
  const size_t per = params_.size() / static_cast<size_t>(spec_.layers * spec_.directions());
  return static_cast<size_t>(layer * spec_.directions() + direction) * per +
         static_cast<size_t>(index);
}

template <class T>
std::span<T> BasicWeights<T>::values(size_t index) {
  if (index >= params_.size()) fail("no parameter ", index, " in ", describe(spec_));
  return {data_.data() + offsets_[index], static_cast<size_t>(shape_elements(params_[index].shape))};
}

template <class T>
std::span<const T> BasicWeights<T>::values(size_t index) const {
  if (index >= params_.size()) fail("no parameter ", index, " in ", describe(spec_));
  return {data_.data() + offsets_[index], static_cast<size_t>(shape_elements(params_[index].shape))};
}

template <class T>
std::span<T> BasicWeights<T>::get(ParamKind kind, int64_t layer, int64_t direction) {
  return values(index_of(kind, layer, direction));
}

template <class T>
std::span<const T> BasicWeights<T>::get(ParamKind kind, int64_t layer, int64_t direction) const {
  return values(index_of(kind, layer, direction));
}

template <class T>
size_t BasicWeights<T>::find(std::string_view name) const {
  for (size_t i = 0; i < params_.size(); ++i) {
    if (params_[i].name == name) return i;
  }
  fail("no parameter named '", name, "' in ", describe(spec_));
}

template <class T>
std::span<T> BasicWeights<T>::get(std::string_view name) {
  return values(find(name));
}

template <class T>
std::span<const T> BasicWeights<T>::get(std::string_view name) const {
  return values(find(name));
}

template <class T>
std::map<std::string, BasicTensor<T>> BasicWeights<T>::to_tensors() const {
  std::map<std::string, BasicTensor<T>> named;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto v = values(i);
    named.emplace(params_[i].name, BasicTensor<T>(params_[i].shape, std::vector<T>(v.begin(), v.end())));
  }
  return named;
}

template class BasicWeights<float>;
template class BasicWeights<double>;

}  // namespace rnnwave
