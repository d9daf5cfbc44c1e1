#include "model/validate_args.h"

#include <string_view>
#include <vector>

#include "common/finite.h"
#include "cells/cell_table.h"
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

/// Throws if a tensor of state `state` (0 = h, 1 = c) is given for a cell without it.
template <class S>
void check_state_exists(const ModelSpec& spec, int state, const S& span, std::string_view name) {
  if (!span.empty() && state >= static_cast<int>(cells::cell_definition(spec).states.size())) {
    fail(name, " given, but a ", to_string(spec.cell), " has no cell state");
  }
}

/// The shape of a tensor of state k over the batch: [L*D, N, w_k].
std::vector<int64_t> state_shape(const ModelSpec& spec, int k, int64_t batch) {
  const cells::CellDef& cell = cells::cell_definition(spec);
  const cells::Dims dims{spec.hidden_size, spec.output_size(), spec.input_size};
  const int64_t width = k < static_cast<int>(cell.states.size()) ? cell.states[k].width.of(dims) : 0;
  return {spec.layers * spec.directions(), batch, width};
}

}  // namespace

template <class T>
void validate_forward(const ModelSpec& spec, const ForwardArgs<T>& args) {
  const int64_t steps = args.steps, batch = args.batch;
  if (steps < 1 || steps > kMaxExtent) fail("steps T must be in [1, ", kMaxExtent, "], got ", steps);
  if (batch < 1 || batch > kMaxExtent) fail("batch N must be in [1, ", kMaxExtent, "], got ", batch);
  const std::vector<int64_t> input_shape{steps, batch, spec.input_size};
  const std::vector<int64_t> h_shape = state_shape(spec, 0, batch);
  const std::vector<int64_t> c_shape = state_shape(spec, 1, batch);
  const char* h_labels = spec.output_size() == spec.hidden_size ? "[L*D, N, H]" : "[L*D, N, P]";
  check_size(args.input.size(), input_shape, "[T, N, I]", "input");
  check_size(args.output.size(), {steps, batch, spec.directions() * spec.output_size()},
             spec.output_size() == spec.hidden_size ? "[T, N, D*H]" : "[T, N, D*P]", "output");
  check_state_exists(spec, 1, args.c0, "c0");
  check_state_exists(spec, 1, args.cn, "cn");
  check_optional(args.h0, h_shape, h_labels, "h0");
  check_optional(args.c0, c_shape, "[L*D, N, H]", "c0");
  check_optional(args.hn, h_shape, h_labels, "hn");
  check_optional(args.cn, c_shape, "[L*D, N, H]", "cn");
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
  if (args.dropout_first_layer < 0) fail("dropout_first_layer must be >= 0, got ", args.dropout_first_layer);
  if (!args.on_input_block) check_finite<T>(args.input, input_shape, "input");
  check_finite<T>(args.h0, h_shape, "h0");
  check_finite<T>(args.c0, c_shape, "c0");
}

template <class T>
void validate_backward(const ModelSpec& spec, int64_t steps, int64_t batch,
                       const BackwardArgs<T>& args) {
  const std::vector<int64_t> output_shape{steps, batch, spec.directions() * spec.output_size()};
  const std::vector<int64_t> h_shape = state_shape(spec, 0, batch);
  const std::vector<int64_t> c_shape = state_shape(spec, 1, batch);
  const char* h_labels = spec.output_size() == spec.hidden_size ? "[L*D, N, H]" : "[L*D, N, P]";
  check_size(args.grad_output.size(), output_shape,
             spec.output_size() == spec.hidden_size ? "[T, N, D*H]" : "[T, N, D*P]", "grad_output");
  check_state_exists(spec, 1, args.grad_cn, "grad_cn");
  check_state_exists(spec, 1, args.grad_c0, "grad_c0");
  check_optional(args.grad_hn, h_shape, h_labels, "grad_hn");
  check_optional(args.grad_cn, c_shape, "[L*D, N, H]", "grad_cn");
  check_optional(args.grad_input, {steps, batch, spec.input_size}, "[T, N, I]", "grad_input");
  check_optional(args.grad_h0, h_shape, h_labels, "grad_h0");
  check_optional(args.grad_c0, c_shape, "[L*D, N, H]", "grad_c0");
  if (args.grad_weights != nullptr && !(args.grad_weights->spec() == spec)) {
    fail("grad_weights is for ", describe(args.grad_weights->spec()), ", the model is ",
         describe(spec));
  }
  if (!args.on_grad_output_block) check_finite<T>(args.grad_output, output_shape, "grad_output");
  if (args.on_grad_input_block && args.grad_input.empty()) {
    fail("on_grad_input_block needs grad_input");
  }
  if (args.on_layer_grads_final && args.grad_weights == nullptr) {
    fail("on_layer_grads_final needs grad_weights");
  }
  check_finite<T>(args.grad_hn, h_shape, "grad_hn");
  check_finite<T>(args.grad_cn, c_shape, "grad_cn");
}

template void validate_forward<float>(const ModelSpec&, const ForwardArgs<float>&);
template void validate_forward<double>(const ModelSpec&, const ForwardArgs<double>&);
template void validate_backward<float>(const ModelSpec&, int64_t, int64_t,
                                       const BackwardArgs<float>&);
template void validate_backward<double>(const ModelSpec&, int64_t, int64_t,
                                        const BackwardArgs<double>&);

}  // namespace rnnwave
