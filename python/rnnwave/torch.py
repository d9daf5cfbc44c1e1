"""rnnwave.torch.LSTM, GRU and RNN: drop-in replacements for torch.nn's, running on rnnwave.

They are subclasses of torch.nn.LSTM/GRU/RNN: the same constructor arguments (plus
threads=, schedule=, precision= and single_weight_copy=; LSTM's proj_size included),
parameters, state_dict keys, repr and forward signature, and they return what torch
returns. Only forward differs: the passes run in rnnwave's C++ engine, forward and
backpropagation through time, through a torch.autograd.Function.

    from rnnwave.torch import LSTM
    lstm = LSTM(40, 128, num_layers=2, bidirectional=True)      # as torch.nn.LSTM
    output, (h_n, c_n) = lstm(packed_or_padded_input)

    model = rnnwave.torch.convert(model)   # every nn.LSTM/GRU/RNN inside, in place

What differs from torch.nn (docs/python.md): dropout masks are rnnwave's (the same
distribution; seeded from torch's default generator, so torch.manual_seed repeats them);
inputs and initial states must be finite (NaN or inf is a ValueError); a forward allows one
backward (no retain_graph reuse) and no double backward; in-place changes to a parameter
through `.data` bypass its version counter, so call flatten_parameters() after them.
Not supported (a ValueError naming the argument, never a silent fallback): tensors off the
CPU, dtypes other than float32 and float64, non-contiguous parameters.
"""
import threading

import numpy as np
import torch
from torch import nn
from torch.autograd.function import once_differentiable
from torch.nn.utils.rnn import PackedSequence

from rnnwave import _core, _engine

__all__ = ["LSTM", "GRU", "RNN", "convert"]

_CELLS = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu"}
_DTYPES = {torch.float32: "float32", torch.float64: "float64"}


def _model_spec(module):
    """The ModelSpec of a torch.nn RNN module: the one place its attributes are read."""
    spec = _core.ModelSpec(cell=_CELLS[module.mode], input_size=module.input_size,
                           hidden_size=module.hidden_size, layers=module.num_layers,
                           bidirectional=bool(module.bidirectional),
                           proj_size=getattr(module, "proj_size", 0),
                           cell_clip=float(getattr(module, "cell_clip", 0.0)))
    spec.validate()
    return spec


def _numpy(tensor):
    """The numpy view of a CPU tensor (no copy); None stays None."""
    if tensor is None:
        return None
    return tensor.detach().numpy() if tensor.requires_grad else tensor.numpy()


class _State:
    """What a module keeps between calls: its spec, one engine per dtype, and the identity
    and version of each parameter when they were last packed."""

    __slots__ = ("spec", "engines", "current", "packed", "slots", "grad_sizes", "grad_pieces",
                 "is_lstm", "states", "width", "h_size", "c_size", "repacking")

    def __init__(self, module):
        self.spec = _model_spec(module)
        self.engines = {}  # "float32"/"float64" -> Engine
        self.current = None  # the engine of the parameters' dtype at the last packing
        self.packed = None  # [(tensor, data_ptr, _version)] at the last packing
        self.repacking = threading.Lock()  # one packing at a time (it releases the GIL)
        # For each parameter of the spec (state_dict order): its index in _flat_weights, or
        # None for a bias of a bias=False module (packed as zeros, gradient dropped).
        present = {name: i for i, name in enumerate(module._flat_weights_names)}
        self.slots = [(present.get(name), shape) for name, shape in self.spec.parameter_list()]
        # The flat gradient buffer of a backward is split by parameter (spec order); the
        # parameters of _flat_weights are these pieces, viewed as 2-D for the matrices.
        self.grad_sizes = [int(np.prod(shape)) for _, shape in self.slots]
        self.grad_pieces = [(i, shape if len(shape) > 1 else None)
                            for i, (index, shape) in enumerate(self.slots) if index is not None]
        self.is_lstm = self.spec.cell == "lstm"
        self.states = self.spec.layers * self.spec.directions  # L*D
        self.h_size = self.spec.output_size  # P: proj_size with a projection, else H
        self.c_size = self.spec.hidden_size  # H
        self.width = self.spec.directions * self.h_size  # D*P

    def h_shape(self, batch):
        return (self.states, batch, self.h_size)

    def c_shape(self, batch):
        return (self.states, batch, self.c_size)

    def engine(self, module):
        """The engine for the parameters as they are now, repacked if any changed."""
        weights = module._flat_weights
        if self._unchanged(weights):
            return self.current
        with self.repacking:
            if self._unchanged(weights):  # another thread packed them meanwhile
                return self.current
            return self._repack(module, weights)

    def _unchanged(self, weights):
        packed = self.packed
        if packed is None or len(packed) != len(weights):
            return False
        for (tensor, pointer, version), w in zip(packed, weights):
            if w is not tensor or w._version != version or w.data_ptr() != pointer:
                return False
        return True

    def _repack(self, module, weights):
        dtype = weights[0].dtype
        names = module._flat_weights_names
        for name, w in zip(names, weights):
            if w.device.type != "cpu":
                raise ValueError(f"{name}: rnnwave runs on the CPU, the parameter is on {w.device}")
            if w.dtype not in _DTYPES:
                raise ValueError(f"{name}: dtype {w.dtype} is not supported (rnnwave runs "
                                 f"float32 and float64)")
            if w.dtype != dtype:
                raise ValueError(f"{name}: dtype {w.dtype} differs from {names[0]}'s {dtype}")
            if not w.is_contiguous():
                raise ValueError(f"{name}: the parameter is not contiguous (strides "
                                 f"{tuple(w.stride())}); rnnwave reads parameters in place")
        kind = _DTYPES[dtype]
        engine = self.engines.get(kind)
        if engine is None:
            engine = self.engines[kind] = _engine.Engine(self.spec, kind)
        np_dtype = np.dtype(kind)
        arrays = []
        for index, shape in self.slots:
            if index is None:
                arrays.append(np.zeros(shape, np_dtype))
            else:
                arrays.append(_numpy(weights[index]))
        engine.set_weights(arrays)
        self.packed = [(w, w.data_ptr(), w._version) for w in weights]
        self.current = engine
        return engine


class _Saved:
    """What a training forward leaves for its backward besides the saved tensors. Its
    workspace goes back to the engine's pool after the backward, or when the graph is
    dropped without one (e.g. a validation loss computed with grad enabled)."""

    __slots__ = ("state", "engine", "options", "lengths", "dropout", "seed", "workspace")

    def __init__(self, state, engine, options, lengths, dropout, seed, workspace):
        self.state, self.engine, self.options = state, engine, options
        self.lengths, self.dropout, self.seed = lengths, dropout, seed
        self.workspace = workspace  # None once a backward has used it

    def __del__(self):
        if self.workspace is not None:
            self.engine.recycle(self.workspace)


class _RnnFunction(torch.autograd.Function):
    """A training forward and its backward in rnnwave. Arguments: the module's _State and
    engine, lengths (int64 numpy [N] or None), dropout, the arguments of engine.ready
    (threads, schedule, precision, single_weight_copy), then the
    tensors input [T, N, I], h0 ([L*D, N, P] or None), c0 ([L*D, N, H] or None), all
    contiguous, and every
    parameter (so that autograd returns their gradients and checks their versions)."""

    @staticmethod
    def forward(ctx, state, engine, lengths, dropout, options, x, h0, c0, *weights):
        ctx.set_materialize_grads(False)
        seed = int(torch.empty((), dtype=torch.int64).random_()) if dropout > 0 else 0
        workspace = engine.new_workspace()
        y, hn, cn = _forward_train(state, engine.ready(*options), workspace, x, lengths, h0, c0,
                                   dropout, seed)
        ctx.rnnwave = _Saved(state, engine, options, lengths, dropout, seed, workspace)
        ctx.save_for_backward(x, h0, c0, *weights)
        return (y, hn, cn) if state.is_lstm else (y, hn)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y, grad_hn, grad_cn=None):
        saved = ctx.rnnwave
        state, engine = saved.state, saved.engine
        # Raises if the input, a state or a parameter was changed in place since forward.
        x, h0, c0, *weights = ctx.saved_tensors
        model = engine.ready(*saved.options)
        workspace, saved.workspace = saved.workspace, None
        if workspace is None:
            # A second backward through the same graph (retain_graph=True, as gradcheck
            # does): the first one used up the workspace, so the forward runs again, with
            # the same masks; it is deterministic, so this is the same forward.
            workspace = engine.new_workspace()
            _forward_train(state, model, workspace, x, saved.lengths, h0, c0, saved.dropout,
                           saved.seed)
        needs = ctx.needs_input_grad
        steps, batch = x.shape[0], x.shape[1]
        if grad_y is None:
            grad_y = x.new_zeros((steps, batch, state.width))
        grad_y = grad_y.contiguous()
        grad_hn = None if grad_hn is None else grad_hn.contiguous()
        grad_cn = None if grad_cn is None else grad_cn.contiguous()
        dx = x.new_empty(x.shape) if needs[5] else None
        dh0 = x.new_empty(state.h_shape(batch)) if needs[6] else None
        dc0 = x.new_empty(state.c_shape(batch)) if state.is_lstm and needs[7] else None
        grads = engine.new_grads() if any(needs[8:]) else None
        model.backward(workspace, grad_y.numpy(), _numpy(grad_hn), _numpy(grad_cn),
                       _numpy(dx), _numpy(dh0), _numpy(dc0), grads)
        engine.recycle(workspace)
        if grads is None:
            weight_grads = [None] * len(weights)
        else:
            # Views of the one buffer the C++ backward wrote (no copy); it lives as long
            # as any of them.
            pieces = torch.from_numpy(grads.flat).split_with_sizes(state.grad_sizes)
            weight_grads = [None if not need else pieces[i] if shape is None
                            else pieces[i].view(shape)
                            for (i, shape), need in zip(state.grad_pieces, needs[8:])]
        return (None, None, None, None, None, dx, dh0, dc0, *weight_grads)


def _forward_train(state, model, workspace, x, lengths, h0, c0, dropout, seed):
    """A training forward into `workspace`: (output, h_n, c_n or None)."""
    steps, batch = x.shape[0], x.shape[1]
    y = x.new_empty((steps, batch, state.width))
    hn = x.new_empty(state.h_shape(batch))
    cn = x.new_empty(state.c_shape(batch)) if state.is_lstm else None
    model.forward_train(workspace, _numpy(x), y.numpy(), lengths, _numpy(h0), _numpy(c0),
                        hn.numpy(), None if cn is None else cn.numpy(), dropout, seed)
    return y, hn, cn


class _RnnwaveBase:
    """The forward of rnnwave's drop-in modules; mixed into subclasses of torch.nn's."""

    def extra_repr(self):
        clip = getattr(self, "cell_clip", 0.0)
        return super().extra_repr() + (f", cell_clip={clip!r}" if clip else "")

    def _rnnwave_setup(self, threads, schedule, precision="fp32", single_weight_copy=False):
        self.threads = None if threads is None else _engine.check_threads(threads)
        self.schedule = _engine.check_schedule(schedule)
        self.precision = _engine.check_precision(precision)
        self.single_weight_copy = bool(single_weight_copy)
        self._rnnwave_state = _State(self)

    def flatten_parameters(self):
        """As torch's (a no-op on the CPU); also makes the next forward repack the weights,
        which is needed after changing a parameter through `.data` (invisible to version
        counters)."""
        super().flatten_parameters()
        state = self.__dict__.get("_rnnwave_state")
        if state is not None:
            state.packed = None

    def __getstate__(self):
        # The C++ objects are a cache: pickles and deep copies rebuild it on first use.
        values = self.__dict__.copy()
        values["_rnnwave_state"] = None
        return values

    def __setstate__(self, values):
        super().__setstate__(values)
        self.__dict__.setdefault("threads", None)
        self.__dict__.setdefault("schedule", "wavefront")
        self.__dict__.setdefault("precision", "fp32")
        self.__dict__.setdefault("single_weight_copy", False)
        self._rnnwave_state = None

    def forward(self, input, hx=None):
        state = self._rnnwave_state
        if state is None:
            state = self._rnnwave_state = _State(self)
        if isinstance(input, PackedSequence):
            return self._forward_packed(state, input, hx)
        if not isinstance(input, torch.Tensor):
            raise TypeError(f"input must be a Tensor or PackedSequence, got "
                            f"{type(input).__name__}")
        dims = input.dim()
        if dims == 3:
            x = input.transpose(0, 1) if self.batch_first else input
            h0, c0 = self._initial_states(hx, 3)
        elif dims == 2:
            x = input.unsqueeze(1)
            h0, c0 = self._initial_states(hx, 2)
            if h0 is not None:
                h0 = h0.unsqueeze(1)
                c0 = None if c0 is None else c0.unsqueeze(1)
        else:
            raise RuntimeError(f"input must have 2 or 3 dimensions, got {dims}")
        y, hn, cn = self._run(state, x, None, h0, c0)
        if dims == 2:
            y, hn = y.squeeze(1), hn.squeeze(1)
            cn = None if cn is None else cn.squeeze(1)
        elif self.batch_first:
            y = y.transpose(0, 1)
        return (y, (hn, cn)) if state.is_lstm else (y, hn)

    def _initial_states(self, hx, dims):
        """(h0, c0) from forward's hx, with torch's checks of its structure."""
        if hx is None:
            return None, None
        if self.mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise RuntimeError("hx: an LSTM takes a tuple (h_0, c_0)")
            h0, c0 = hx
            if h0.dim() != dims or c0.dim() != dims:
                raise RuntimeError(
                    f"For {'batched 3-D' if dims == 3 else 'unbatched 2-D'} input, hx and cx "
                    f"should also be {dims}-D but got ({h0.dim()}-D, {c0.dim()}-D) tensors")
            return h0, c0
        if not isinstance(hx, torch.Tensor):
            raise RuntimeError(f"hx: a {type(self).__name__} takes a Tensor h_0, got "
                               f"{type(hx).__name__}")
        if hx.dim() != dims:
            raise RuntimeError(f"For {'batched 3-D' if dims == 3 else 'unbatched 2-D'} input, "
                               f"hx should also be {dims}-D but got {hx.dim()}-D tensor")
        return hx, None

    def _forward_packed(self, state, packed, hx):
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        if data.dim() != 2:
            raise RuntimeError(f"input must have 2 dimensions, got {data.dim()}")
        steps, batch = batch_sizes.shape[0], int(batch_sizes[0])
        # Packed row k holds step t, sorted sequence j: it is row t*N + j of a padded
        # [T, N, I], and sequence j runs for as many steps as have more than j rows.
        step_of_row = torch.repeat_interleave(torch.arange(steps), batch_sizes)
        first_row = torch.cumsum(batch_sizes, 0) - batch_sizes
        column = torch.arange(data.shape[0]) - first_row[step_of_row]
        rows = step_of_row * batch + column
        lengths = (batch_sizes.unsqueeze(0) > torch.arange(batch).unsqueeze(1)).sum(1)
        padded = data.new_zeros((steps * batch, data.shape[1])).index_copy(0, rows, data)
        h0, c0 = self._initial_states(hx, 3)
        if sorted_indices is not None and h0 is not None:
            h0 = h0.index_select(1, sorted_indices)
            c0 = None if c0 is None else c0.index_select(1, sorted_indices)
        y, hn, cn = self._run(state, padded.view(steps, batch, data.shape[1]), lengths.numpy(),
                              h0, c0)
        output = PackedSequence(y.reshape(steps * batch, -1).index_select(0, rows), batch_sizes,
                                sorted_indices, unsorted_indices)
        if unsorted_indices is not None:
            hn = hn.index_select(1, unsorted_indices)
            cn = None if cn is None else cn.index_select(1, unsorted_indices)
        return (output, (hn, cn)) if state.is_lstm else (output, hn)

    def _run(self, state, x, lengths, h0, c0):
        """x [T, N, I], lengths int64 numpy [N] or None, h0 [L*D, N, P], c0 [L*D, N, H] or
        None -> output [T, N, D*P], h_n, c_n (None unless LSTM); P = proj_size or H."""
        engine = state.engine(self)
        self._check_tensor(x, "input", engine)
        batch = x.shape[1]
        if x.shape[2] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {x.shape[2]}")
        if h0 is not None:
            self._check_state(h0, "hidden[0]" if state.is_lstm else "hidden",
                              state.h_shape(batch), engine)
            h0 = h0.contiguous()
        if c0 is not None:
            self._check_state(c0, "hidden[1]", state.c_shape(batch), engine)
            c0 = c0.contiguous()
        x = x.contiguous()
        weights = self._flat_weights
        dropout = self.dropout if self.training and self.num_layers > 1 else 0.0
        options = (self.threads, self.schedule, "fp32", self.single_weight_copy)  # training
        if torch.is_grad_enabled() and (
                x.requires_grad or (h0 is not None and h0.requires_grad)
                or (c0 is not None and c0.requires_grad) or any(w.requires_grad for w in weights)):
            _engine.refuse_training(self.precision, "a forward that autograd records (use "
                                    "torch.no_grad() for inference)")
            out = _RnnFunction.apply(state, engine, lengths, dropout, options, x, h0, c0, *weights)
            return (out[0], out[1], out[2]) if state.is_lstm else (out[0], out[1], None)
        if dropout > 0:  # training mode without autograd still drops, as torch does
            _engine.refuse_training(self.precision, "a forward in training mode with dropout "
                                    "(call .eval() for inference)")
            model = engine.ready(*options)
            workspace = engine.new_workspace()
            seed = int(torch.empty((), dtype=torch.int64).random_())
            out = _forward_train(state, model, workspace, x, lengths, h0, c0, dropout, seed)
            engine.recycle(workspace)
            return out
        if self.precision != "fp32" and engine.dtype != "float32":
            raise ValueError(f"precision {self.precision!r} is for float32 parameters, these "
                             f"are torch.{engine.dtype}")
        model = engine.ready(self.threads, self.schedule, self.precision, self.single_weight_copy)
        y = x.new_empty((x.shape[0], batch, state.width))
        hn = x.new_empty(state.h_shape(batch))
        cn = x.new_empty(state.c_shape(batch)) if state.is_lstm else None
        model.forward(_numpy(x), y.numpy(), lengths, _numpy(h0), _numpy(c0), hn.numpy(),
                      None if cn is None else cn.numpy())
        return y, hn, cn

    @staticmethod
    def _check_tensor(t, name, engine):
        if t.device.type != "cpu":
            raise ValueError(f"{name}: rnnwave runs on the CPU, got a tensor on {t.device}")
        if _DTYPES.get(t.dtype) != engine.dtype:
            if t.dtype not in _DTYPES:
                raise ValueError(f"{name}: dtype {t.dtype} is not supported (rnnwave runs "
                                 f"float32 and float64)")
            raise RuntimeError(f"{name}: dtype {t.dtype} differs from the parameters' "
                               f"torch.{engine.dtype}")

    @staticmethod
    def _check_state(t, name, expected, engine):
        """name: torch's, "hidden" or "hidden[0]"/"hidden[1]" (LSTM)."""
        _RnnwaveBase._check_tensor(t, name, engine)
        if t.shape != expected:
            raise RuntimeError(f"Expected {name} size {expected}, got {list(t.shape)}")


def _constructor(torch_class):
    def __init__(self, *args, threads=None, schedule="wavefront", precision="fp32",
                 cell_clip=0.0, single_weight_copy=False, **kwargs):
        torch_class.__init__(self, *args, **kwargs)
        self.cell_clip = float(cell_clip)  # read by _model_spec (torch.nn has no such option)
        self._rnnwave_setup(threads, schedule, precision, single_weight_copy)
    __init__.__doc__ = (f"torch.nn.{torch_class.__name__}'s arguments, plus threads (None: "
                        f"rnnwave.set_num_threads's setting, 0 = all cores), schedule "
                        f"('wavefront', 'layerwise' or 'sequential') and precision ('fp32', "
                        f"or 'bf16' for inference of float32 modules under torch.no_grad() "
                        f"on a CPU with AVX512-BF16), cell_clip (ONNX's cell clip: every gate "
                        f"pre-activation bounded to [-cell_clip, cell_clip]; 0 = off) and "
                        f"single_weight_copy (one packed copy of each weight, turned between "
                        f"the forward and backward forms: less memory in training, two "
                        f"transpositions of every weight per step over unchanged weights).")
    return __init__


class LSTM(_RnnwaveBase, nn.LSTM):
    __doc__ = "torch.nn.LSTM running on rnnwave." + (nn.LSTM.__doc__ or "")
    __init__ = _constructor(nn.LSTM)


class GRU(_RnnwaveBase, nn.GRU):
    __doc__ = "torch.nn.GRU running on rnnwave." + (nn.GRU.__doc__ or "")
    __init__ = _constructor(nn.GRU)


class RNN(_RnnwaveBase, nn.RNN):
    __doc__ = "torch.nn.RNN running on rnnwave." + (nn.RNN.__doc__ or "")
    __init__ = _constructor(nn.RNN)


_CONVERSIONS = {nn.LSTM: LSTM, nn.GRU: GRU, nn.RNN: RNN}


def convert(module, threads=None, schedule="wavefront", precision="fp32",
            single_weight_copy=False):
    """Makes every torch.nn.LSTM, GRU and RNN in `module` (itself included) run on rnnwave,
    in place: each becomes the rnnwave.torch class of the same kind, keeping its parameter
    objects (so optimizers built on them stay valid), hooks and mode. Subclasses of those
    classes are left alone (their forward may differ). Returns `module`. If one of them
    cannot run on rnnwave, nothing is changed and the ValueError names it."""
    threads = None if threads is None else _engine.check_threads(threads)
    schedule = _engine.check_schedule(schedule)
    precision = _engine.check_precision(precision)
    found = [(name, m) for name, m in module.named_modules() if type(m) in _CONVERSIONS]
    for name, m in found:
        try:
            _model_spec(m)
            if precision != "fp32" and any(p.dtype != torch.float32 for p in m.parameters()):
                raise ValueError(f"precision {precision!r} is for float32 parameters")
        except ValueError as error:
            raise ValueError(f"{name or type(m).__name__}: {error}") from None
    for _, m in found:
        m.__class__ = _CONVERSIONS[type(m)]
        m._rnnwave_setup(threads, schedule, precision, single_weight_copy)
    return module
