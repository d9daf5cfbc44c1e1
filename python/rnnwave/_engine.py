"""The bridge from the Python APIs to the C++ engine.

An Engine is one module's compiled model for one dtype: the C++ model (packed weights),
the staging copy of the weights it is packed from, the thread setting it runs with, and a
pool of training workspaces. Both rnnwave's numpy classes and rnnwave.torch use it, so the
C++ objects are made in one place.
"""
import operator
import os

from rnnwave import _core

MAX_THREADS = 1024

# The thread count of every model whose own setting is None; 0 = one thread per core.
_default_threads = 0

# dtype name -> (model, weights, workspace) classes of that precision.
_CLASSES = {
    "float32": (_core.Rnn32, _core.Weights32, _core.Workspace32),
    "float64": (_core.Rnn64, _core.Weights64, _core.Workspace64),
}
DTYPES = tuple(_CLASSES)

# Training workspaces kept per engine for reuse (one per graph alive at once is made).
_POOL_SIZE = 2


def check_threads(threads, name="threads"):
    """threads as an int in [0, MAX_THREADS] (0 = all cores); TypeError/ValueError otherwise."""
    if isinstance(threads, bool):
        raise TypeError(f"{name} must be an integer, got {threads!r}")
    try:
        threads = operator.index(threads)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(threads).__name__}") from None
    if not 0 <= threads <= MAX_THREADS:
        raise ValueError(f"{name} must be in [0, {MAX_THREADS}] (0 = all cores), got {threads}")
    return threads


def check_schedule(schedule):
    if schedule not in _core.schedules():
        raise ValueError(f"schedule must be one of {', '.join(_core.schedules())}, "
                         f"got {schedule!r}")
    return schedule


def check_precision(precision, dtype="float32"):
    """precision as a name of _core.precisions(); "bf16" only for float32 models."""
    if precision not in _core.precisions():
        raise ValueError(f"precision must be one of {', '.join(_core.precisions())}, "
                         f"got {precision!r}")
    if precision != "fp32" and dtype != "float32":
        raise ValueError(f"precision {precision!r} is for float32 models, this one is {dtype}")
    return precision


def refuse_training(precision, what):
    """A training pass of a model whose precision is for inference only: ValueError."""
    if precision != "fp32":
        raise ValueError(f"{what}: precision {precision!r} is for inference only (training "
                         f"passes run in fp32); set precision='fp32' to train")


def set_num_threads(threads):
    """Sets the threads of every rnnwave model that has no threads= of its own;
    0 (the default) means one per core. Independent of torch.set_num_threads."""
    global _default_threads
    _default_threads = check_threads(threads)


def get_num_threads():
    """The threads a model without threads= of its own runs on."""
    return _default_threads or len(os.sched_getaffinity(0))


class Engine:
    """The C++ model of one set of weights in one precision ("float32" or "float64")."""

    __slots__ = ("spec", "dtype", "weights", "model", "_options",
                 "_pool",
                 "_model_class", "_weights_class", "_workspace_class")

    def __init__(self, spec, dtype):
        self.spec = spec
        self.dtype = dtype
        self._model_class, self._weights_class, self._workspace_class = _CLASSES[dtype]
        self.weights = self._weights_class(spec)
        self.model = None
        self._options = None
        self._pool = []

    def set_weights(self, arrays):
        """Packs the model from one array per parameter of spec.parameter_list(), in order."""
        self.weights.assign(arrays)
        self.load_weights(self.weights)

    def load_weights(self, weights):
        """Packs the model from a Weights of this engine's precision and spec."""
        self.weights = weights
        if self.model is None:
            self.model = self._model_class(weights, 1, "sequential")  # options set by ready()
        else:
            self.model.set_weights(weights)

    def ready(self, threads, schedule, precision="fp32", single_weight_copy=False):
        """The model, set to run on `threads` (None: set_num_threads's) with `schedule`, its
        inference passes in `precision`, keeping one packed copy of each weight if
        `single_weight_copy` (ExecOptions::single_weight_copy)."""
        if threads is None:
            threads = _default_threads
        options = (threads, schedule, precision, bool(single_weight_copy))
        if options != self._options:
            self.model.set_options(*options)  # validates them (ValueError)
            self._options = options
        return self.model

    def new_workspace(self):
        return self._pool.pop() if self._pool else self._workspace_class()

    def recycle(self, workspace):
        if len(self._pool) < _POOL_SIZE:
            self._pool.append(workspace)

    def new_grads(self):
        """A zeroed Weights for the gradients of one backward pass (handed to the caller)."""
        return self._weights_class(self.spec)
