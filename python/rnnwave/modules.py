"""rnnwave.LSTM, GRU and RNN for numpy: forward and backward passes without torch.

Shapes use rnnwave's glossary: L layers, D directions, T steps, N batch, I input size,
H hidden size, P the width of h (proj_size for an LSTM with a projection, else H).
Parameters are named and shaped as torch.nn's state_dict, so a PyTorch
model's weights load unchanged, and the semantics are those of the `rnnwave` command line
tool (README, "The command-line tool"):

    model = rnnwave.LSTM(input_size=8, hidden_size=16, num_layers=2, bidirectional=True)
    model.load("lstm.npz")                    # or load_state_dict({name: array})
    y, (h_n, c_n) = model.forward(x)          # x [T, N, I] float32 -> y [T, N, D*H]
    y, (h_n, c_n) = model.forward(x, lengths=lengths, train=True)
    grads = model.backward(dy)                # {"input", "h0", "c0", "weight_ih_l0", ...}

Beyond torch.nn: LSTM(..., peepholes=True) (ONNX's LSTM with P), GRU(...,
linear_before_reset=False) (ONNX's default GRU, cell gru_rb) and reverse=True (one direction
walking backward in time, ONNX's direction="reverse") for every kind; precision="bf16"
(float32 models, inference only, a CPU with AVX512-BF16): the products' inputs in bfloat16,
sums, states and outputs in float32 (docs/bf16.md); single_weight_copy=True keeps one
packed copy of each weight, turned between the forward and the backward form (less memory
in training; over unchanged weights, two transpositions of every weight per step).
"""
import numpy as np

from rnnwave import _core, _engine

__all__ = ["LSTM", "GRU", "RNN"]


def _dtype_name(dtype):
    name = np.dtype(dtype).name
    if name not in _engine.DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {name}")
    return name


def _as_values(value, dtype, name):
    """`value` as a C-contiguous array of `dtype`: float32 and float64 are accepted (float64
    narrowed to float32 only if every value fits), anything else is refused naming it."""
    array = np.asarray(value)
    if array.dtype == dtype:
        return np.ascontiguousarray(array)
    if array.dtype.kind != "f" or array.dtype.itemsize not in (4, 8):
        raise ValueError(f"{name}: dtype {array.dtype} is not supported (float32 or float64)")
    with np.errstate(over="ignore"):  # reported below, naming the value
        converted = np.ascontiguousarray(array, dtype=dtype)
    overflow = np.isinf(converted) & np.isfinite(array)
    if overflow.any():
        index = tuple(int(i) for i in np.argwhere(overflow)[0])
        raise ValueError(f"{name}: {array[index]!r} at {list(index)} is outside the range of "
                         f"{np.dtype(dtype).name}")
    return converted


def _as_lengths(lengths):
    array = np.asarray(lengths)
    if array.dtype.kind not in "iu":
        raise ValueError(f"lengths: expected integers, got dtype {array.dtype}")
    if array.dtype.kind == "u" and array.size and array.max() > np.iinfo(np.int64).max:
        raise ValueError(f"lengths: {array.max()} is above the int64 maximum")
    return np.ascontiguousarray(array, dtype=np.int64)


class _Recurrent:
    """A recurrent stack (the cell kind is the subclass's) whose passes take numpy arrays.

    cell_clip > 0: ONNX's cell clip (the attribute clip of RNN, LSTM and GRU): every gate
    pre-activation is bounded to [-cell_clip, cell_clip] before its activation, and its
    gradient is 0 where it was clipped; the LSTM's tanh(c) is not clipped. 0 = off."""

    _cell = None

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 bidirectional=False, threads=None, schedule="wavefront", *, dropout=0.0,
                 dtype="float32", seed=None, reverse=False, precision="fp32", cell_clip=0.0,
                 single_weight_copy=False, _options=None):
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.bidirectional = bool(bidirectional)
        self.reverse = bool(reverse)
        self.cell_clip = float(cell_clip)
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.dropout = float(dropout)
        self.threads = None if threads is None else _engine.check_threads(threads)
        self.schedule = _engine.check_schedule(schedule)
        self.dtype = np.dtype(_dtype_name(dtype))
        self.precision = _engine.check_precision(precision, self.dtype.name)
        self.single_weight_copy = bool(single_weight_copy)
        # _options: the subclass's own fields of ModelSpec (proj_size, peepholes).
        self._spec = _core.ModelSpec(cell=self._cell, input_size=input_size,
                                     hidden_size=hidden_size, layers=num_layers,
                                     bidirectional=self.bidirectional, reverse=self.reverse,
                                     cell_clip=self.cell_clip, **(_options or {}))
        self._spec.validate()
        self._states_c = self._spec.hidden_size  # width of c (H)
        self._states_h = self._spec.output_size  # width of h and each direction's output (P)
        self._engine = _engine.Engine(self._spec, self.dtype.name)
        self._workspace = None  # the last training forward's, until its backward
        self._forward_shape = None
        if seed is None:
            seed = int(np.random.randint(0, 2**63 - 1, dtype=np.int64))
        weights = _engine._CLASSES[self.dtype.name][1].uniform(self._spec, int(seed))
        if not self.bias:
            for name, view in zip(weights.names, weights.arrays()):
                if name.startswith("bias_"):
                    view[...] = 0
        self._engine.load_weights(weights)

    # ---- parameters ------------------------------------------------------------------

    def _names(self):
        """The state_dict names, in order (without biases if bias=False)."""
        return [n for n, _ in self._spec.parameter_list() if self.bias or not n.startswith("bias_")]

    def state_dict(self):
        """{name: array} in torch.nn's names, order and shapes (copies)."""
        views = dict(zip(self._engine.weights.names, self._engine.weights.arrays()))
        return {name: views[name].copy() for name in self._names()}

    def load_state_dict(self, state_dict):
        """Sets every parameter from {name: array} (arrays, torch tensors, anything numpy
        reads): exactly the names of state_dict(), with torch.nn's shapes; a missing, extra
        or mis-shaped entry, or a non-finite value, is a ValueError naming it."""
        arrays = {}
        for name, value in state_dict.items():
            if not isinstance(name, str):
                raise TypeError(f"state_dict keys must be str, got {type(name).__name__}")
            if not self.bias and name.startswith("bias_"):
                raise ValueError(f"unexpected weight '{name}': the model has bias=False")
            arrays[name] = _as_values(_to_numpy(value), self.dtype, name)
        if not self.bias:
            for name, shape in self._spec.parameter_list():
                if name.startswith("bias_"):
                    arrays[name] = np.zeros(shape, self.dtype)
        weights_class = _engine._CLASSES[self.dtype.name][1]
        self._engine.load_weights(weights_class.from_arrays(self._spec, arrays))
        self._workspace = None

    def load(self, path):
        """load_state_dict from a .npz (np.savez of a state_dict), read as the command line
        tool reads it: float64 members converted, every problem a one-line ValueError."""
        with open(path, "rb") as f:
            data = f.read()
        parse = _core.parse_npz32 if self.dtype == np.float32 else _core.parse_npz64
        self.load_state_dict(parse(data, str(path)))

    def save(self, path):
        """Writes state_dict() as a .npz, atomically (np.load and load() read it)."""
        save = _core.save_npz32 if self.dtype == np.float32 else _core.save_npz64
        save(str(path), self.state_dict())

    # ---- passes ----------------------------------------------------------------------

    def forward(self, input, hx=None, lengths=None, *, train=False, dropout_seed=None):
        """Runs the stack.

        input: [T, N, I] ([N, T, I] if batch_first; [T, I] for one sequence).
        hx: h_0 [L*D, N, P] ([L*D, P] unbatched), or (h_0, c_0) for LSTM (c_0 [L*D, N, H]);
            None = zeros. P = proj_size for an LSTM with a projection, else H.
        lengths: [N] integers in [1, T], any order (pack_padded_sequence(enforce_sorted=False)
            semantics: outputs past a sequence's end are zero, h_n/c_n are taken at its own
            last step, the reverse direction starts there); None = all T.
        train: keep what backward() needs (the next backward uses this forward), and apply
            dropout between layers if the model has dropout > 0, with masks drawn from
            dropout_seed (None: a seed drawn from numpy's global generator).
        Returns (output, h_n) or, for LSTM, (output, (h_n, c_n)); output [T, N, D*P]
        ([N, T, D*P] if batch_first, [T, D*P] unbatched), h_n as h_0, c_n as c_0.
        """
        x, batched = self._input(input)
        steps, batch = x.shape[0], x.shape[1]
        h0, c0 = self._initial_states(hx, batched)
        lengths = None if lengths is None else _as_lengths(lengths)
        stack = self.num_layers * self._spec.directions
        y = np.empty((steps, batch, self._spec.directions * self._states_h), self.dtype)
        hn = np.empty((stack, batch, self._states_h), self.dtype)
        cn = np.empty((stack, batch, self._states_c), self.dtype) if self._cell == "lstm" else None
        if train:
            _engine.refuse_training(self.precision, "forward(train=True)")
        model = self._engine.ready(self.threads, self.schedule, self.precision,
                                   self.single_weight_copy)
        if train:
            if dropout_seed is None:
                dropout_seed = int(np.random.randint(0, 2**63 - 1, dtype=np.int64))
            workspace = self._workspace
            if workspace is None:
                workspace = self._engine.new_workspace()
            self._workspace = None
            model.forward_train(workspace, x, y, lengths, h0, c0, hn, cn, self.dropout,
                                int(dropout_seed))
            self._workspace = workspace
            self._forward_shape = (steps, batch, batched, h0 is not None, c0 is not None)
        else:
            model.forward(x, y, lengths, h0, c0, hn, cn)
        return self._outputs(y, hn, cn, batched)

    __call__ = forward

    def backward(self, grad_output, grad_hn=None, grad_cn=None):
        """Backpropagation through time of the last forward(train=True), which it uses up.

        grad_output: the loss's gradient for output (its shape); past each sequence's end it
            is ignored. grad_hn, grad_cn: for h_n, c_n (their shapes); None = zeros.
        Returns {"input": [T, N, I] (zero past each end), "h0": [L*D, N, P], "c0" (LSTM,
        [L*D, N, H]),
        and one entry per state_dict() name}: the gradients the command line tool's
        `backward` writes; h0/c0's are at the given states, or at zero if none were given.
        """
        if self._workspace is None:
            raise RuntimeError("backward needs a forward(..., train=True) first (each "
                               "training forward allows one backward)")
        steps, batch, batched, _, _ = self._forward_shape
        dy = self._grad(grad_output, "grad_output", batched, state=False)
        dhn = None if grad_hn is None else self._grad(grad_hn, "grad_hn", batched, state=True)
        dcn = None
        if grad_cn is not None:
            if self._cell != "lstm":
                raise ValueError(f"grad_cn given, but a {self._cell} has no cell state")
            dcn = self._grad(grad_cn, "grad_cn", batched, state=True)
        stack = self.num_layers * self._spec.directions
        dx = np.empty((steps, batch, self.input_size), self.dtype)
        dh0 = np.empty((stack, batch, self._states_h), self.dtype)
        dc0 = np.empty((stack, batch, self._states_c), self.dtype) if self._cell == "lstm" else None
        grads = self._engine.new_grads()
        workspace, self._workspace = self._workspace, None
        model = self._engine.ready(self.threads, self.schedule, "fp32", self.single_weight_copy)
        model.backward(workspace, dy, dhn, dcn, dx, dh0, dc0, grads)
        self._engine.recycle(workspace)
        result = {"input": self._time_major_out(dx, batched), "h0": self._state_out(dh0, batched)}
        if dc0 is not None:
            result["c0"] = self._state_out(dc0, batched)
        views = dict(zip(grads.names, grads.arrays()))
        result.update((name, views[name]) for name in self._names())
        return result

    # ---- shapes ----------------------------------------------------------------------

    def _input(self, input):
        x = _to_numpy(input)
        if x.ndim not in (2, 3):
            raise ValueError(f"input: expected [T, N, I] (or [T, I] for one sequence), got "
                             f"{x.ndim} dimensions")
        batched = x.ndim == 3
        if not batched:
            x = x[:, None, :]
        elif self.batch_first:
            x = x.transpose(1, 0, 2)
        return _as_values(x, self.dtype, "input"), batched

    def _initial_states(self, hx, batched):
        if hx is None:
            return None, None
        if self._cell == "lstm":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise ValueError("hx: an LSTM takes (h_0, c_0)")
            return self._state_in(hx[0], "h0", batched), self._state_in(hx[1], "c0", batched)
        if isinstance(hx, (tuple, list)):
            raise ValueError(f"hx: a {self._cell} takes h_0 alone, not a tuple")
        return self._state_in(hx, "h0", batched), None

    def _state_in(self, value, name, batched):
        state = _to_numpy(value)
        expected = 3 if batched else 2
        if state.ndim != expected:
            raise ValueError(f"{name}: expected {expected} dimensions for "
                             f"{'batched' if batched else 'unbatched'} input, got {state.ndim}")
        return _as_values(state if batched else state[:, None, :], self.dtype, name)

    def _grad(self, value, name, batched, state):
        g = _to_numpy(value)
        if not state:
            if g.ndim == 3 and self.batch_first and batched:
                g = g.transpose(1, 0, 2)
            elif g.ndim == 2 and not batched:
                g = g[:, None, :]
        elif g.ndim == 2 and not batched:
            g = g[:, None, :]
        return _as_values(g, self.dtype, name)

    def _outputs(self, y, hn, cn, batched):
        y = self._time_major_out(y, batched)
        hn = self._state_out(hn, batched)
        if cn is None:
            return y, hn
        return y, (hn, self._state_out(cn, batched))

    def _time_major_out(self, a, batched):
        if not batched:
            return a[:, 0, :]
        return a.transpose(1, 0, 2) if self.batch_first else a

    @staticmethod
    def _state_out(a, batched):
        return a if batched else a[:, 0, :]

    def __repr__(self):
        extra = [f"{self.input_size}, {self.hidden_size}"]
        for name, default in (("num_layers", 1), ("bias", True), ("batch_first", False),
                              ("bidirectional", False), ("dropout", 0.0), ("threads", None),
                              ("schedule", "wavefront"), ("precision", "fp32"), ("reverse", False),
                              ("proj_size", 0), ("peepholes", False), ("cell_clip", 0.0),
                              ("linear_before_reset", True), ("single_weight_copy", False)):
            if not hasattr(self, name):
                continue
            if getattr(self, name) != default:
                extra.append(f"{name}={getattr(self, name)!r}")
        if self.dtype != np.float32:
            extra.append(f"dtype={self.dtype.name!r}")
        return f"rnnwave.{type(self).__name__}({', '.join(extra)})"


def _to_numpy(value):
    """An array from numpy input or a CPU torch tensor (without importing torch)."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        value = value.detach()
    return np.asarray(value)


class LSTM(_Recurrent):
    """A long short-term memory stack (gate order i, f, g, o, as torch.nn.LSTM).

    proj_size = P > 0: h is projected to P units (torch.nn.LSTM's proj_size; parameters
    weight_hr_l{k} [P, H]); outputs, h_0 and h_n have P units per direction, c keeps H.
    peepholes: i and f also see p_i*c, p_f*c of the previous c, o sees p_o*c of the new one
    (ONNX's LSTM with input P; parameters weight_ph_l{k} [3, H], rows i, f, o). Not both."""
    _cell = "lstm"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 bidirectional=False, threads=None, schedule="wavefront", *, dropout=0.0,
                 dtype="float32", seed=None, reverse=False, precision="fp32", proj_size=0,
                 peepholes=False, cell_clip=0.0, single_weight_copy=False):
        self.proj_size = proj_size
        self.peepholes = bool(peepholes)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, bidirectional,
                         threads, schedule, dropout=dropout, dtype=dtype, seed=seed,
                         reverse=reverse, precision=precision, cell_clip=cell_clip,
                         single_weight_copy=single_weight_copy,
                         _options=dict(proj_size=proj_size, peepholes=self.peepholes))


class GRU(_Recurrent):
    """A gated recurrent unit stack (torch.nn.GRU: gate order r, z, n, reset after the
    recurrent product). linear_before_reset=False applies the reset gate to h before the
    product, n = tanh(W_in x + b_in + W_hn (r*h) + b_hn): ONNX's default GRU (cell gru_rb),
    with the same parameter names and shapes."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 bidirectional=False, threads=None, schedule="wavefront", *, dropout=0.0,
                 dtype="float32", seed=None, reverse=False, precision="fp32",
                 linear_before_reset=True, cell_clip=0.0, single_weight_copy=False):
        self.linear_before_reset = bool(linear_before_reset)
        self._cell = "gru" if self.linear_before_reset else "gru_rb"
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, bidirectional,
                         threads, schedule, dropout=dropout, dtype=dtype, seed=seed,
                         reverse=reverse, precision=precision, cell_clip=cell_clip,
                         single_weight_copy=single_weight_copy)


class RNN(_Recurrent):
    """An Elman stack, h' = tanh or relu(W_ih x + b_ih + W_hh h + b_hh) (torch.nn.RNN)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, bidirectional=False, threads=None, schedule="wavefront", *,
                 dropout=0.0, dtype="float32", seed=None, reverse=False, precision="fp32",
                 cell_clip=0.0, single_weight_copy=False):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self._cell = "rnn_" + nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, bidirectional,
                         threads, schedule, dropout=dropout, dtype=dtype, seed=seed,
                         reverse=reverse, precision=precision, cell_clip=cell_clip,
                         single_weight_copy=single_weight_copy)
