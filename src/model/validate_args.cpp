#include "model/validate_args.h"

#include <string_view>
#include <vector>

#include "common/finite.h"
#include "common/strings.h"

namespace rnnwave {
namespace {

constexpr int64_t kMaxExtent = int64_t{1} << 31;

/// Throws unless `size` elements match `shape` (labelled e.g. "[T, N, I]").
void check_size(size_t size, const std::vector<int64_t>& shape, std::string_view labels,
                std::string_view name) {
  const int64_t expected = shape_elements(shape);
  if (static_cast<int64_t>(size) != expected) {
    fail(name, ": expected ", labels, " = ", shape_to_string(shape), " = ", expected,
         " values, got ", size);
  }
}

template <class S>
void check_optional(const S& span, const std::vector<int64_t>& shape, std::string_view labels,
                    std::string_view name) {
  if (!span.empty()) check_size(span.size(), shape, labels, name);
}

template <class S>
void check_lstm_only(const ModelSpec& spec, const S& span, std::string_view name) {
  if (!span.empty() && spec.cell != CellKind::lstm) {
    fail(name, " given, but a ", to_string(spec.cell), " has no cell state (LSTM only)");
  }
}

}  // namespace

template <class T>
void validate_forward(const ModelSpec& spec, const ForwardArgs<T>& args) {
  spec.validate();
  const int64_t steps = args.steps, batch = args.batch;
  if (steps < 1 || steps > kMaxExtent) fail("steps T must be in [1, ", kMaxExtent, "], got ", steps);
  if (batch < 1 || batch > kMaxExtent) fail("batch N must be in [1, ", kMaxExtent, "], got ", batch);
  const int64_t LD = spec.layers * spec.directions(), H = spec.hidden_size;
  const std::vector<int64_t> input_shape{steps, batch, spec.input_size};
  const std::vector<int64_t> state_shape{LD, batch, H};
  check_size(args.input.size(), input_shape, "[T, N, I]", "input");
  check_size(args.output.size(), {steps, batch, spec.directions() * H}, "[T, N, D*H]", "output");
  check_lstm_only(spec, args.c0, "c0");
  check_lstm_only(spec, args.cn, "cn");
  check_optional(args.h0, state_shape, "[L*D, N, H]", "h0");
  check_optional(args.c0, state_shape, "[L*D, N, H]", "c0");
  check_optional(args.hn, state_shape, "[L*D, N, H]", "hn");
  check_optional(args.cn, state_shape, "[L*D, N, H]", "cn");
  if (!args.lengths.empty()) {
    check_size(args.lengths.size(), {batch}, "[N]", "lengths");
    for (int64_t n = 0; n < batch; ++n) {
      const int64_t len = args.lengths[n];
      if (len < 1 || len > steps) {
        fail("lengths[", n, "] = ", len, " is outside [1, T] with T = ", steps);
      }
    }
  }
  if (!(args.dropout >= 0 && args.dropout < 1)) {
    fail("dropout must be in [0, 1), got ", args.dropout);
  }
  check_finite<T>(args.input, input_shape, "input");
  check_finite<T>(args.h0, state_shape, "h0");
  check_finite<T>(args.c0, state_shape, "c0");
}

template <class T>
void validate_backward(const ModelSpec& spec, int64_t steps, int64_t batch,
                       const BackwardArgs<T>& args) {
  const int64_t LD = spec.layers * spec.directions(), H = spec.hidden_size;
  const std::vector<int64_t> output_shape{steps, batch, spec.directions() * H};
  const std::vector<int64_t> state_shape{LD, batch, H};
  check_size(args.grad_output.size(), output_shape, "[T, N, D*H]", "grad_output");
  check_lstm_only(spec, args.grad_cn, "grad_cn");
  check_lstm_only(spec, args.grad_c0, "grad_c0");
  check_optional(args.grad_hn, state_shape, "[L*D, N, H]", "grad_hn");
  check_optional(args.grad_cn, state_shape, "[L*D, N, H]", "grad_cn");
  check_optional(args.grad_input, {steps, batch, spec.input_size}, "[T, N, I]", "grad_input");
  check_optional(args.grad_h0, state_shape, "[L*D, N, H]", "grad_h0");
  check_optional(args.grad_c0, state_shape, "[L*D, N, H]", "grad_c0");
  if (args.grad_weights != nullptr) {
    const ModelSpec& g = args.grad_weights->spec();
    if (g.cell != spec.cell || g.input_size != spec.input_size ||
        g.hidden_size != spec.hidden_size || g.layers != spec.layers ||
        g.bidirectional != spec.bidirectional) {
      fail("grad_weights is for ", describe(g), ", the model is ", describe(spec));
    }
  }
  check_finite<T>(args.grad_output, output_shape, "grad_output");
  check_finite<T>(args.grad_hn, state_shape, "grad_hn");
  check_finite<T>(args.grad_cn, state_shape, "grad_cn");
}

template void validate_forward<float>(const ModelSpec&, const ForwardArgs<float>&);
template void validate_forward<double>(const ModelSpec&, const ForwardArgs<double>&);
template void validate_backward<float>(const ModelSpec&, int64_t, int64_t,
                                       const BackwardArgs<float>&);
template void validate_backward<double>(const ModelSpec&, int64_t, int64_t,
                                        const BackwardArgs<double>&);

}  // namespace rnnwave
