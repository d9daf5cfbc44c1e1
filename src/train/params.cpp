#include "rnnwave/train/params.h"

#include "common/strings.h"

namespace rnnwave {

std::string_view to_string(GradMode mode) {
  switch (mode) {
    case GradMode::overwrite: return "overwrite";
    case GradMode::accumulate: return "accumulate";
  }
  return "?";
}

template <class T>
std::vector<Parameter<T>> named_parameters(const std::string& prefix, BasicWeights<T>& values,
                                    BasicWeights<T>& grads) {
  const ModelSpec& a = values.spec();
  const ModelSpec& b = grads.spec();
  if (a.cell != b.cell || a.input_size != b.input_size || a.hidden_size != b.hidden_size ||
      a.layers != b.layers || a.bidirectional != b.bidirectional) {
    fail(prefix, "*: gradients are of ", describe(b), ", parameters of ", describe(a));
  }
  std::vector<Parameter<T>> refs;
  refs.reserve(values.params().size());
  for (const ParamInfo& p : values.params()) {
    refs.push_back(Parameter<T>{prefix + p.name, p.shape, values.get(p.name), grads.get(p.name)});
  }
  return refs;
}

template std::vector<Parameter<float>> named_parameters(const std::string&, BasicWeights<float>&,
                                                 BasicWeights<float>&);
template std::vector<Parameter<double>> named_parameters(const std::string&, BasicWeights<double>&,
                                                  BasicWeights<double>&);

}  // namespace rnnwave
