"""ONNX's RNN, LSTM and GRU operators as rnnwave models.

An ONNX node (opset 7-14 semantics: inputs X, W, R, B, sequence_lens, initial_h,
initial_c, P; attributes hidden_size, direction, layout, linear_before_reset, ...) becomes
an rnnwave model (cell kind, sizes, directions, PyTorch-keyed weights) plus the conversion
of its inputs and outputs, so that rnnwave computes what the node computes:

    import onnx
    from rnnwave.onnx import from_model
    node = from_model(onnx.load("lstm.onnx"), feeds={"X": x})
    outputs = node.run({"X": x})        # {"Y": ..., "Y_h": ..., "Y_c": ...}, run by rnnwave
    model = node.model()                # or the rnnwave.LSTM/GRU/RNN holding its weights

For the command-line tool:

    node.model_flags()                  # --cell lstm --input-size ... for `rnnwave forward`
    node.weights                        # {"weight_ih_l0": ..., ...} for np.savez
    args = node.rnnwave_inputs(feeds)   # input [T, N, I], lengths, h0, c0 in rnnwave's layout
    ...                                 # run rnnwave on them
    node.onnx_outputs(output, hn, cn)   # {"Y": ..., "Y_h": ..., "Y_c": ...} in ONNX's layout

The mapping:
  - RNN: activations Tanh (cell rnn_tanh) or Relu (rnn_relu), the same in both directions.
  - LSTM: gate order i, o, f, c becomes i, f, g, o; P (peepholes, i, o, f) becomes
    weight_ph_l0[_reverse] with rows i, f, o (the LSTM with peepholes).
  - GRU: gate order z, r, h becomes r, z, n; linear_before_reset = 1 is PyTorch's GRU (cell
    gru), 0 (ONNX's default) applies the reset gate before the product (cell gru_rb).
  - B = [Wb, Rb] becomes bias_ih, bias_hh (zeros without B).
  - direction forward / reverse / bidirectional: one direction, one reverse-only direction
    (rnnwave's --reverse; its weights are named *_reverse), or both.
  - layout 0 ([T, N, ...], Y [T, D, N, H]) or 1 (batch first: [N, T, ...], Y [N, T, D, H]).
  - sequence_lens: rnnwave's lengths; a sequence's reverse direction starts at its own last
    step, Y past a sequence's end is zero and Y_h / Y_c are its states at its last step
    (ONNX Runtime's reading of sequence_lens).
  - clip: rnnwave's cell_clip (--cell-clip): every gate pre-activation (LSTM i, o, f, c;
    GRU z, r and h's whole argument; RNN's one) bounded to [-clip, clip] before its
    activation. The LSTM's h(Ct) is not clipped (onnx.reference ignores clip altogether; the
    spec's "input of activations" is read as the gates'). clip must be finite and > 0.
What rnnwave does not compute is refused with UnsupportedError naming the attribute:
activations other than the defaults (and Relu for RNN), activation_alpha / _beta,
input_forget = 1, and any attribute this module does not know.

Needs numpy and onnx only, and the rest of the package for model() and run().
"""

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import numpy_helper

__all__ = ["UnsupportedError", "OnnxRnn", "from_model", "from_node", "OPERATORS"]

OPERATORS = ("RNN", "LSTM", "GRU")

# ONNX's gate order -> rnnwave's (PyTorch's): the ONNX block that gives each rnnwave gate.
_GATE_ORDER = {
    "RNN": [0],
    "LSTM": [0, 2, 3, 1],  # ONNX i, o, f, c -> rnnwave i, f, g (= c), o
    "GRU": [1, 0, 2],      # ONNX z, r, h -> rnnwave r, z, n (= h)
}
_GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}
_DEFAULT_ACTIVATIONS = {"RNN": ["tanh"], "LSTM": ["sigmoid", "tanh", "tanh"], "GRU": ["sigmoid", "tanh"]}
_KNOWN_ATTRIBUTES = {
    "RNN": {"hidden_size", "direction", "layout", "activations", "activation_alpha",
            "activation_beta", "clip"},
    "LSTM": {"hidden_size", "direction", "layout", "activations", "activation_alpha",
             "activation_beta", "clip", "input_forget"},
    "GRU": {"hidden_size", "direction", "layout", "activations", "activation_alpha",
            "activation_beta", "clip", "linear_before_reset"},
}
_INPUTS = {
    "RNN": ["X", "W", "R", "B", "sequence_lens", "initial_h"],
    "LSTM": ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"],
    "GRU": ["X", "W", "R", "B", "sequence_lens", "initial_h"],
}
_OUTPUTS = {"RNN": ["Y", "Y_h"], "LSTM": ["Y", "Y_h", "Y_c"], "GRU": ["Y", "Y_h"]}


class UnsupportedError(ValueError):
    """An ONNX node rnnwave cannot compute; the message names the attribute or input."""


def _quote(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


@dataclass
class OnnxRnn:
    """One ONNX RNN/LSTM/GRU node as an rnnwave model."""
    op: str                  # "RNN", "LSTM" or "GRU"
    cell: str                # rnnwave's cell kind
    input_size: int          # I
    hidden_size: int         # H
    directions: int          # D: 1 or 2
    reverse: bool            # one direction walking backward in time
    peepholes: bool
    layout: int              # 0: [T, N, ...]; 1: [N, T, ...]
    cell_clip: float = 0.0   # ONNX's clip; 0 = none
    weights: dict = field(default_factory=dict)  # PyTorch-keyed float32 arrays
    inputs: list = field(default_factory=list)   # the node's input names by role (X, W, ...)
    outputs: list = field(default_factory=list)  # the node's output names by role (Y, Y_h, ...)

    @property
    def bidirectional(self):
        return self.directions == 2

    def model_flags(self):
        """The model's flags for `rnnwave forward` / `backward`."""
        flags = ["--cell", self.cell, "--input-size", str(self.input_size),
                 "--hidden-size", str(self.hidden_size)]
        if self.bidirectional:
            flags.append("--bidirectional")
        if self.reverse:
            flags.append("--reverse")
        if self.peepholes:
            flags.append("--peepholes")
        if self.cell_clip:
            flags += ["--cell-clip", repr(self.cell_clip)]
        return flags

    def spec(self):
        """The fields of rnnwave's ModelSpec."""
        return dict(cell=self.cell, input_size=self.input_size, hidden_size=self.hidden_size,
                    layers=1, bidirectional=self.bidirectional, reverse=self.reverse,
                    peepholes=self.peepholes, proj_size=0, cell_clip=self.cell_clip)

    def model(self, threads=None, schedule="wavefront", precision="fp32"):
        """The node as an rnnwave numpy model (rnnwave.RNN, LSTM or GRU, float32) holding its
        weights: a forward of it is the node's computation (see run)."""
        import rnnwave  # here: the importer itself needs only numpy and onnx
        options = dict(input_size=self.input_size, hidden_size=self.hidden_size,
                       bidirectional=self.bidirectional, reverse=self.reverse,
                       threads=threads, schedule=schedule, precision=precision, seed=0,
                       cell_clip=self.cell_clip)
        if self.cell.startswith("rnn_"):
            model = rnnwave.RNN(nonlinearity=self.cell[len("rnn_"):], **options)
        elif self.cell == "lstm":
            model = rnnwave.LSTM(peepholes=self.peepholes, **options)
        else:
            model = rnnwave.GRU(linear_before_reset=self.cell == "gru", **options)
        model.load_state_dict(self.weights)
        return model

    def run(self, feeds, model=None):
        """Computes the node with rnnwave on its data inputs in `feeds` (name -> array: X,
        and sequence_lens, initial_h, initial_c if the node has them): its outputs Y, Y_h
        (and Y_c) in the node's layout, keyed by role. `model`: one made by model(), to
        reuse between calls (made here if None)."""
        args = self.rnnwave_inputs(feeds)
        if model is None:
            model = self.model()
        h0, c0 = args["h0"], args["c0"]
        hx = None
        if self.op == "LSTM" and (h0 is not None or c0 is not None):
            zeros = np.zeros((self.directions, args["batch"], self.hidden_size), np.float32)
            hx = (zeros if h0 is None else h0, zeros if c0 is None else c0)
        elif h0 is not None:
            hx = h0
        output, final = model.forward(args["input"], hx, args["lengths"])
        hn, cn = final if self.op == "LSTM" else (final, None)
        return self.onnx_outputs(output, hn, cn)

    def _feed(self, feeds, role):
        index = _INPUTS[self.op].index(role)
        if index >= len(self.inputs) or not self.inputs[index]:
            return None
        name = self.inputs[index]
        if name not in feeds:
            raise ValueError(f"{self.op}: input {role} ('{name}') is not among the feeds")
        return np.asarray(feeds[name])

    def rnnwave_inputs(self, feeds):
        """The node's data inputs (by name in `feeds`) in rnnwave's layout: input [T, N, I]
        float32, lengths [N] int64 or None, h0 [D, N, H] and c0 [D, N, H] float32 or None."""
        x = self._feed(feeds, "X")
        if x is None or x.ndim != 3:
            raise ValueError(f"{self.op}: X must be 3-d, got {None if x is None else x.shape}")
        x = np.asarray(x, np.float32)
        if self.layout == 1:
            x = x.transpose(1, 0, 2)
        steps, batch = x.shape[0], x.shape[1]
        lengths = self._feed(feeds, "sequence_lens")
        if lengths is not None:
            lengths = np.asarray(lengths).astype(np.int64)
            if lengths.shape != (batch,):
                raise ValueError(f"{self.op}: sequence_lens has shape {lengths.shape}, "
                                 f"expected ({batch},)")

        def state(role):
            value = self._feed(feeds, role)
            if value is None:
                return None
            value = np.asarray(value, np.float32)
            return value.transpose(1, 0, 2) if self.layout == 1 else value

        return {"input": np.ascontiguousarray(x), "lengths": lengths,
                "h0": _contiguous(state("initial_h")),
                "c0": _contiguous(state("initial_c")) if self.op == "LSTM" else None,
                "steps": steps, "batch": batch}

    def onnx_outputs(self, output, hn, cn=None):
        """rnnwave's output [T, N, D*H], hn and cn [D, N, H] as the node's outputs: Y, Y_h
        (and Y_c) in the node's layout, keyed by role."""
        output = np.asarray(output)
        steps, batch = output.shape[0], output.shape[1]
        D, H = self.directions, self.hidden_size
        y = output.reshape(steps, batch, D, H)
        result = {"Y": y.transpose(1, 0, 2, 3) if self.layout == 1 else y.transpose(0, 2, 1, 3)}
        for role, value in (("Y_h", hn), ("Y_c", cn)):
            if value is not None:
                value = np.asarray(value)
                result[role] = value.transpose(1, 0, 2) if self.layout == 1 else value
        return {k: np.ascontiguousarray(v) for k, v in result.items()}


def _contiguous(value):
    return None if value is None else np.ascontiguousarray(value)


def _attributes(node):
    values = {}
    for attribute in node.attribute:
        value = onnx.helper.get_attribute_value(attribute)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        elif isinstance(value, list):
            value = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value]
        values[attribute.name] = value
    return values


def _check_attributes(op, attributes):
    for name in sorted(attributes):
        if name not in _KNOWN_ATTRIBUTES[op]:
            raise UnsupportedError(f"{op}: attribute {_quote(name)} is not supported")
    for name in ("activation_alpha", "activation_beta"):
        if name in attributes:
            raise UnsupportedError(f"{op}: attribute {name} (parameters of custom activations) "
                                   f"is not supported")
    _cell_clip(op, attributes)  # refuses a bad value
    if attributes.get("input_forget", 0) != 0:
        raise UnsupportedError(f"{op}: attribute input_forget = "
                               f"{_quote(attributes['input_forget'])} is not supported (coupled "
                               f"input and forget gates)")


def _cell_clip(op, attributes):
    """rnnwave's cell_clip from the attribute clip: 0 without it."""
    clip = attributes.get("clip")
    if clip is None:
        return 0.0
    if not isinstance(clip, float) or not np.isfinite(clip) or clip <= 0:
        raise UnsupportedError(f"{op}: attribute clip = {_quote(clip)}: expected a finite "
                               f"number > 0")
    return float(clip)


def _direction(op, attributes):
    direction = attributes.get("direction", "forward")
    if direction not in ("forward", "reverse", "bidirectional"):
        raise UnsupportedError(f"{op}: attribute direction = {_quote(direction)}: expected "
                               f"forward, reverse or bidirectional")
    return direction


def _cell(op, attributes, directions):
    """rnnwave's cell kind, from the activations (and linear_before_reset)."""
    defaults = _DEFAULT_ACTIVATIONS[op]
    given = attributes.get("activations")
    activations = [a.lower() for a in given] if given is not None else defaults * directions
    per_direction = len(defaults)
    if len(activations) != per_direction * directions:
        raise UnsupportedError(f"{op}: attribute activations = {_quote(given)}: expected "
                               f"{per_direction * directions} names")
    first = activations[:per_direction]
    if activations != first * directions:
        raise UnsupportedError(f"{op}: attribute activations = {_quote(given)}: the directions "
                               f"must use the same activations")
    if op == "RNN":
        if first == ["tanh"]:
            return "rnn_tanh"
        if first == ["relu"]:
            return "rnn_relu"
    elif first == defaults:
        if op == "LSTM":
            return "lstm"
        reset = attributes.get("linear_before_reset", 0)
        if reset not in (0, 1):
            raise UnsupportedError(f"GRU: attribute linear_before_reset = {_quote(reset)}: "
                                   f"expected 0 or 1")
        return "gru" if reset == 1 else "gru_rb"
    raise UnsupportedError(f"{op}: attribute activations = {_quote(given)} is not supported "
                           f"(rnnwave computes {', '.join(defaults)}"
                           f"{' or Relu' if op == 'RNN' else ''})")


def _reorder_gates(op, value, hidden_size, axis=0):
    """Blocks of hidden_size along `axis`, from ONNX's gate order to rnnwave's."""
    blocks = np.split(value, _GATES[op], axis=axis)
    return np.concatenate([blocks[k] for k in _GATE_ORDER[op]], axis=axis)


def _tensor(tensors, op, role, name, shape):
    """The input `name` (role `role`) as float32 of `shape`, or None if not given."""
    if not name:
        return None
    if name not in tensors:
        raise UnsupportedError(f"{op}: input {role} ('{_quote(name)}') has no value: give it as "
                               f"an initializer or a feed")
    value = np.asarray(tensors[name])
    if value.dtype.kind != "f":
        raise ValueError(f"{op}: input {role} has dtype {value.dtype}, expected a float type")
    if tuple(value.shape) != tuple(shape):
        raise ValueError(f"{op}: input {role} has shape {list(value.shape)}, expected {list(shape)}")
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{op}: input {role} holds NaN or infinity")
    return value.astype(np.float32)


def from_node(node, tensors):
    """The rnnwave model of an ONNX RNN/LSTM/GRU `node` (onnx.NodeProto); `tensors` maps
    input names to arrays (initializers and feeds) and must hold W and R (and B, P if the
    node has them)."""
    op = node.op_type
    if op not in OPERATORS:
        raise UnsupportedError(f"operator {_quote(op)} is not supported (expected RNN, LSTM or GRU)")
    attributes = _attributes(node)
    _check_attributes(op, attributes)
    direction = _direction(op, attributes)
    D = 2 if direction == "bidirectional" else 1
    cell = _cell(op, attributes, D)
    layout = attributes.get("layout", 0)
    if layout not in (0, 1):
        raise UnsupportedError(f"{op}: attribute layout = {_quote(layout)}: expected 0 or 1")
    inputs = list(node.input)
    names = inputs + [""] * (len(_INPUTS[op]) - len(inputs))
    w_name, r_name = names[1], names[2]
    if not w_name or w_name not in tensors or not r_name or r_name not in tensors:
        raise UnsupportedError(f"{op}: inputs W and R must have values (initializers or feeds)")
    G = _GATES[op]
    W = np.asarray(tensors[w_name])
    if W.ndim != 3 or W.shape[0] != D or W.shape[1] % G != 0:
        raise ValueError(f"{op}: input W has shape {list(W.shape)}, expected [{D}, {G}*H, I]")
    H = W.shape[1] // G
    if "hidden_size" in attributes and attributes["hidden_size"] != H:
        raise ValueError(f"{op}: attribute hidden_size = {_quote(attributes['hidden_size'])} but W "
                         f"has {W.shape[1]} rows ({G}*{H})")
    I = W.shape[2]
    W = _tensor(tensors, op, "W", w_name, (D, G * H, I))
    R = _tensor(tensors, op, "R", r_name, (D, G * H, H))
    B = _tensor(tensors, op, "B", names[3], (D, 2 * G * H))
    P = _tensor(tensors, op, "P", names[7], (D, 3 * H)) if op == "LSTM" else None
    if B is None:
        B = np.zeros((D, 2 * G * H), np.float32)

    weights = {}
    for d in range(D):
        suffix = "_reverse" if d == 1 or direction == "reverse" else ""
        weights[f"weight_ih_l0{suffix}"] = _reorder_gates(op, W[d], H)
        weights[f"weight_hh_l0{suffix}"] = _reorder_gates(op, R[d], H)
        weights[f"bias_ih_l0{suffix}"] = _reorder_gates(op, B[d][:G * H], H)
        weights[f"bias_hh_l0{suffix}"] = _reorder_gates(op, B[d][G * H:], H)
        if P is not None:
            p_i, p_o, p_f = np.split(P[d], 3)
            weights[f"weight_ph_l0{suffix}"] = np.stack([p_i, p_f, p_o])
    weights = {k: np.ascontiguousarray(v, np.float32) for k, v in weights.items()}
    return OnnxRnn(op=op, cell=cell, input_size=I, hidden_size=H, directions=D,
                   reverse=direction == "reverse", peepholes=P is not None, layout=layout,
                   cell_clip=_cell_clip(op, attributes),
                   weights=weights, inputs=names, outputs=list(node.output))


def from_model(model, feeds=None):
    """The rnnwave model of the one RNN/LSTM/GRU node of an onnx.ModelProto (or a path to
    one): its initializers, then `feeds` (name -> array), give the weights."""
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(model)
    nodes = [n for n in model.graph.node if n.op_type in OPERATORS]
    if len(nodes) != 1:
        raise UnsupportedError(f"expected one RNN, LSTM or GRU node, found {len(nodes)} "
                               f"among {len(model.graph.node)} nodes")
    tensors = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    tensors.update(feeds or {})
    return from_node(nodes[0], tensors)
