// BasicRnn<float> and <double> as Rnn32 and Rnn64, and their workspaces.
//
// Every pass reads and writes the caller's numpy arrays in place (see arrays.h) and runs
// with the GIL released. A model may be used by several Python threads at once: passes
// share it, while set_weights and set_options wait for the passes in flight and run
// alone. A workspace holds one training forward for one backward, and refuses a second
// pass while one is running on it.
#include <pybind11/stl.h>

#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <string>

#include "core/arrays.h"
#include "core/bindings.h"
#include "rnnwave/error.h"
#include "rnnwave/rnn.h"

namespace rnnwave::python {
namespace {

template <class T>
class Model {
 public:
  Model(const BasicWeights<T>& weights, int threads, const std::string& schedule,
        const std::string& precision, bool single_weight_copy)
      : rnn_(weights, options_of(threads, schedule, precision, single_weight_copy)) {}

  static ExecOptions options_of(int threads, const std::string& schedule,
                                const std::string& precision, bool single_weight_copy) {
    ExecOptions options;
    options.threads = threads;
    options.schedule = parse_schedule(schedule);
    options.precision = parse_precision(precision);
    options.single_weight_copy = single_weight_copy;
    return options;
  }

  const BasicRnn<T>& rnn() const { return rnn_; }
  std::shared_mutex& passes() { return passes_; }

  void set_weights(const BasicWeights<T>& weights) {
    py::gil_scoped_release release;
    std::unique_lock alone(passes_);
    rnn_.set_weights(weights);
  }

  void set_options(int threads, const std::string& schedule, const std::string& precision,
                   bool single_weight_copy) {
    const ExecOptions options = options_of(threads, schedule, precision, single_weight_copy);
    py::gil_scoped_release release;
    std::unique_lock alone(passes_);
    rnn_.set_options(options);
  }

 private:
  BasicRnn<T> rnn_;
  std::shared_mutex passes_;
};

template <class T>
struct WorkspaceHandle {
  BasicWorkspace<T> workspace;
  std::mutex busy;
  const Model<T>* owner = nullptr;  // whose training forward it holds, if has_forward
  bool has_forward = false;
  int64_t steps = 0, batch = 0;     // of that forward
};

/// The widths of the states and outputs: h (and each direction's output) has P units
/// with a projection, H without; c always has H.
struct StateDims {
  Dim h, c, width;
};

StateDims state_dims(const ModelSpec& s) {
  const bool projected = s.proj_size > 0;
  return {{s.output_size(), projected ? "P" : "H"},
          {s.hidden_size, "H"},
          {s.directions() * s.output_size(), projected ? "D*P" : "D*H"}};
}

/// The buffers of a forward pass, their shapes checked against the model: input
/// [T, N, I] gives T and N, the rest must follow.
template <class T>
ForwardArgs<T> forward_args(const ModelSpec& s, py::handle input, py::handle output,
                            py::handle lengths, py::handle h0, py::handle c0, py::handle hn,
                            py::handle cn) {
  ForwardArgs<T> a;
  py::array x = checked_array<T>(input, "input", {{-1, "T"}, {-1, "N"}, {s.input_size, "I"}}, false);
  a.steps = x.shape(0);
  a.batch = x.shape(1);
  a.input = {static_cast<const T*>(x.data()), static_cast<size_t>(x.size())};
  const Dim steps{a.steps, "T"}, batch{a.batch, "N"}, stack{s.layers * s.directions(), "L*D"};
  const StateDims d = state_dims(s);
  a.output = write_span<T>(output, "output", {steps, batch, d.width});
  a.lengths = optional_read_span<int64_t>(lengths, "lengths", {batch});
  a.h0 = optional_read_span<T>(h0, "h0", {stack, batch, d.h});
  a.c0 = optional_read_span<T>(c0, "c0", {stack, batch, d.c});
  a.hn = optional_write_span<T>(hn, "hn", {stack, batch, d.h});
  a.cn = optional_write_span<T>(cn, "cn", {stack, batch, d.c});
  return a;
}

template <class T>
void forward(Model<T>& model, py::handle input, py::handle output, py::handle lengths,
             py::handle h0, py::handle c0, py::handle hn, py::handle cn) {
  const ForwardArgs<T> args =
      forward_args<T>(model.rnn().spec(), input, output, lengths, h0, c0, hn, cn);
  py::gil_scoped_release release;
  std::shared_lock shared(model.passes());
  model.rnn().forward(args);
}

template <class T>
void forward_train(Model<T>& model, WorkspaceHandle<T>& ws, py::handle input, py::handle output,
                   py::handle lengths, py::handle h0, py::handle c0, py::handle hn, py::handle cn,
                   double dropout, uint64_t dropout_seed) {
  ForwardArgs<T> args = forward_args<T>(model.rnn().spec(), input, output, lengths, h0, c0, hn, cn);
  args.dropout = dropout;
  args.dropout_seed = dropout_seed;
  py::gil_scoped_release release;
  std::unique_lock busy(ws.busy, std::try_to_lock);
  if (!busy.owns_lock()) throw std::runtime_error("forward_train: the workspace is in use by another pass");
  ws.has_forward = false;
  std::shared_lock shared(model.passes());
  model.rnn().forward(args, ws.workspace);
  ws.steps = args.steps;
  ws.batch = args.batch;
  ws.owner = &model;
  ws.has_forward = true;
}

template <class T>
void backward(Model<T>& model, WorkspaceHandle<T>& ws, py::handle grad_output, py::handle grad_hn,
              py::handle grad_cn, py::handle grad_input, py::handle grad_h0, py::handle grad_c0,
              BasicWeights<T>* grad_weights) {
  std::unique_lock busy(ws.busy, std::try_to_lock);
  if (!busy.owns_lock()) throw std::runtime_error("backward: the workspace is in use by another pass");
  if (!ws.has_forward || ws.owner != &model) {
    throw std::runtime_error(
        "backward needs a workspace holding a training forward of this model, not yet used "
        "by a backward (each forward_train allows one backward)");
  }
  const ModelSpec& s = model.rnn().spec();
  // The problem is the forward's.
  const Dim steps{ws.steps, "T"}, batch{ws.batch, "N"}, stack{s.layers * s.directions(), "L*D"};
  const StateDims d = state_dims(s);
  BackwardArgs<T> args;
  args.grad_output = read_span<T>(grad_output, "grad_output", {steps, batch, d.width});
  args.grad_hn = optional_read_span<T>(grad_hn, "grad_hn", {stack, batch, d.h});
  args.grad_cn = optional_read_span<T>(grad_cn, "grad_cn", {stack, batch, d.c});
  args.grad_input = optional_write_span<T>(grad_input, "grad_input", {steps, batch, {s.input_size, "I"}});
  args.grad_h0 = optional_write_span<T>(grad_h0, "grad_h0", {stack, batch, d.h});
  args.grad_c0 = optional_write_span<T>(grad_c0, "grad_c0", {stack, batch, d.c});
  args.grad_weights = grad_weights;
  py::gil_scoped_release release;
  std::shared_lock shared(model.passes());
  model.rnn().backward(args, ws.workspace);
  ws.has_forward = false;
}

template <class T>
void bind_rnn_of(py::module_& m, const char* model_name, const char* workspace_name) {
  using W = WorkspaceHandle<T>;
  py::class_<W>(m, workspace_name, "What a training forward keeps for its backward; reusable.")
      .def(py::init<>())
      .def_property_readonly("bytes", [](const W& w) { return w.workspace.bytes(); })
      .def_property_readonly("has_forward", [](const W& w) { return w.has_forward; });

  py::class_<Model<T>>(m, model_name, "A recurrent stack ready to run (rnnwave/rnn.h).")
      .def(py::init<const BasicWeights<T>&, int, const std::string&, const std::string&, bool>(),
           py::arg("weights"), py::arg("threads") = 0, py::arg("schedule") = "wavefront",
           py::arg("precision") = "fp32", py::arg("single_weight_copy") = false)
      .def_property_readonly("spec", [](const Model<T>& model) { return model.rnn().spec(); })
      .def_property_readonly("threads", [](const Model<T>& model) { return model.rnn().options().threads; })
      .def_property_readonly("schedule", [](const Model<T>& model) {
        return std::string(to_string(model.rnn().options().schedule));
      })
      .def("set_weights", &Model<T>::set_weights, py::arg("weights"),
           "Repacks the model from these weights (same spec).")
      .def_property_readonly("precision", [](const Model<T>& model) {
        return std::string(to_string(model.rnn().options().precision));
      })
      .def_property_readonly("single_weight_copy", [](const Model<T>& model) {
        return model.rnn().options().single_weight_copy;
      })
      .def("set_options", &Model<T>::set_options, py::arg("threads"), py::arg("schedule"),
           py::arg("precision") = "fp32", py::arg("single_weight_copy") = false,
           "precision 'bf16' (float models, inference passes only) needs AVX512-BF16; "
           "single_weight_copy keeps one packed copy of each weight (ExecOptions).")
      .def(
          "plan",
          [](const Model<T>& model, int64_t steps, int64_t batch, bool training) {
            const Plan p = model.rnn().plan(steps, batch, training);
            py::dict d;
            d["schedule"] = std::string(to_string(p.schedule));
            d["threads"] = p.threads;
            d["step_block"] = p.step_block;
            d["batch_splits"] = p.batch_splits;
            d["hidden_splits"] = p.hidden_splits;
            d["weight_block"] = p.weight_block;
            return d;
          },
          py::arg("steps"), py::arg("batch"), py::arg("training") = false,
          "The plan of an inference pass (or of a training pass, forward and backward, if "
          "training) over steps x batch with the current options.")
      .def("forward", &forward<T>, py::arg("input"), py::arg("output"),
           py::arg("lengths") = py::none(), py::arg("h0") = py::none(), py::arg("c0") = py::none(),
           py::arg("hn") = py::none(), py::arg("cn") = py::none(),
           "Inference: input [T, N, I] -> output [T, N, D*P] (and hn [L*D, N, P], cn [L*D, N, H] "
           "if given), written in place; P = spec.output_size (H without a projection).")
      .def("forward_train", &forward_train<T>, py::arg("workspace"), py::arg("input"),
           py::arg("output"), py::arg("lengths") = py::none(), py::arg("h0") = py::none(),
           py::arg("c0") = py::none(), py::arg("hn") = py::none(), py::arg("cn") = py::none(),
           py::arg("dropout") = 0.0, py::arg("dropout_seed") = 0,
           "Training forward: as forward, keeping what backward needs in `workspace`.")
      .def("backward", &backward<T>, py::arg("workspace"), py::arg("grad_output"),
           py::arg("grad_hn") = py::none(), py::arg("grad_cn") = py::none(),
           py::arg("grad_input") = py::none(), py::arg("grad_h0") = py::none(),
           py::arg("grad_c0") = py::none(), py::arg("grad_weights") = py::none(),
           "Backpropagation through time of the workspace's forward; writes the gradients "
           "given (grad_weights: a Weights of the same spec, overwritten).");
}

}  // namespace

void bind_rnn(py::module_& m) {
  bind_rnn_of<float>(m, "Rnn32", "Workspace32");
  bind_rnn_of<double>(m, "Rnn64", "Workspace64");
}

}  // namespace rnnwave::python
