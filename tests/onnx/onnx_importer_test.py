#!/usr/bin/env python3
"""The ONNX importer on models built here, for what ONNX's own node tests do not cover:
reverse and bidirectional directions, sequence lengths in both directions, initial states,
peepholes, linear_before_reset = 1, Relu, both layouts and clip (the cell clip); and the
attributes and values it refuses.

The oracle is a direct transcription of the ONNX operator specification's equations for
RNN, LSTM and GRU (onnx.reference, which would be the natural one, is not in Debian's
onnx 1.12), in float64, one sequence and one step at a time. The spec leaves
sequence_lens to the implementations; the oracle reads it as ONNX Runtime does: a
sequence's reverse direction starts at its own last step, Y is zero past its end, and
Y_h / Y_c are its states at its last step. clip bounds the input of every gate's activation
to [-clip, clip] (the LSTM's i, o, f, c; the GRU's z, r and h's whole argument, with
linear_before_reset too; the RNN's one); the LSTM's h(Ct) is not clipped (ONNX's own
reference ignores clip, so this reading is rnnwave's, stated in its docs). The oracle
counts the gate inputs it clipped, so a test can show that clipping happened.

Usage: onnx_importer_test.py --rnnwave build/rnnwave
"""

import argparse
import itertools
import sys
import unittest

import numpy as np

from onnx_support import load_importer, max_error, run_forward

RNNWAVE = None
IMPORTER = load_importer()
TOLERANCE = 1e-5


# ---------------------------------------------------------------- the ONNX equations

def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


ACTIVATIONS = {"Tanh": np.tanh, "Relu": lambda v: np.maximum(v, 0.0), "Sigmoid": sigmoid}


class ClipCount:
    """How many gate inputs the oracle saw, and how many of them it clipped."""
    def __init__(self):
        self.seen = 0
        self.clipped = 0


def onnx_reference(op, attrs, X, W, R, B=None, sequence_lens=None, initial_h=None,
                   initial_c=None, P=None, count=None):
    """Y, Y_h (and Y_c) of an ONNX RNN/LSTM/GRU node, in the node's layout, float64.
    `count` (a ClipCount), if given, counts the gate inputs and those clip changed."""
    clip = attrs.get("clip")
    clip = None if clip is None else float(np.float32(clip))  # a float attribute: float32
    count = count if count is not None else ClipCount()

    def cl(a):
        # "Clipping bounds the elements of a tensor in the range of [-threshold, +threshold]
        # and is applied to the input of activations."
        if clip is None:
            return a
        count.seen += a.size
        count.clipped += int(np.sum(np.abs(a) > clip))
        return np.minimum(np.maximum(a, -clip), clip)

    layout = attrs.get("layout", 0)
    X = np.asarray(X, np.float64)
    if layout == 1:
        X = X.transpose(1, 0, 2)
        initial_h = None if initial_h is None else np.asarray(initial_h).transpose(1, 0, 2)
        initial_c = None if initial_c is None else np.asarray(initial_c).transpose(1, 0, 2)
    T, N, _ = X.shape
    D, H = W.shape[0], R.shape[2]
    gates = {"RNN": 1, "LSTM": 4, "GRU": 3}[op]
    W, R = np.asarray(W, np.float64), np.asarray(R, np.float64)
    B = np.zeros((D, 2 * gates * H)) if B is None else np.asarray(B, np.float64)
    direction = attrs.get("direction", "forward")
    walks = {"forward": [False], "reverse": [True], "bidirectional": [False, True]}[direction]
    Y = np.zeros((T, D, N, H))
    Y_h = np.zeros((D, N, H))
    Y_c = np.zeros((D, N, H))
    f = ACTIVATIONS[(attrs.get("activations") or ["Tanh"])[0]] if op == "RNN" else sigmoid
    for d, backward in enumerate(walks):
        Wd, Rd, Wb, Rb = W[d], R[d], B[d][:gates * H], B[d][gates * H:]
        block = lambda m, k: m[k * H:(k + 1) * H]  # noqa: E731
        for n in range(N):
            length = T if sequence_lens is None else int(sequence_lens[n])
            h = np.zeros(H) if initial_h is None else np.asarray(initial_h[d, n], np.float64)
            c = np.zeros(H) if initial_c is None else np.asarray(initial_c[d, n], np.float64)
            for t in (reversed(range(length)) if backward else range(length)):
                x = X[t, n]
                if op == "RNN":
                    # Ht = f(Xt*(Wi^T) + Ht-1*(Ri^T) + Wbi + Rbi)
                    h = f(cl(Wd @ x + Rd @ h + Wb + Rb))
                elif op == "LSTM":
                    # gates i, o, f, c
                    pi, po, pf = (np.zeros(H),) * 3 if P is None else np.split(np.asarray(P[d], np.float64), 3)
                    pre = lambda k: block(Wd, k) @ x + block(Rd, k) @ h + block(Wb, k) + block(Rb, k)  # noqa: E731
                    i = sigmoid(cl(pre(0) + pi * c))
                    f_gate = sigmoid(cl(pre(2) + pf * c))
                    cand = np.tanh(cl(pre(3)))
                    c = f_gate * c + i * cand
                    o = sigmoid(cl(pre(1) + po * c))
                    h = o * np.tanh(c)
                else:
                    # gates z, r, h
                    z = sigmoid(cl(block(Wd, 0) @ x + block(Rd, 0) @ h + block(Wb, 0) + block(Rb, 0)))
                    r = sigmoid(cl(block(Wd, 1) @ x + block(Rd, 1) @ h + block(Wb, 1) + block(Rb, 1)))
                    if attrs.get("linear_before_reset", 0):
                        # ht = g(Xt*(Wh^T) + (rt (.) (Ht-1*(Rh^T) + Rbh)) + Wbh)
                        cand = np.tanh(cl(block(Wd, 2) @ x + r * (block(Rd, 2) @ h + block(Rb, 2)) + block(Wb, 2)))
                    else:
                        # ht = g(Xt*(Wh^T) + (rt (.) Ht-1)*(Rh^T) + Rbh + Wbh)
                        cand = np.tanh(cl(block(Wd, 2) @ x + block(Rd, 2) @ (r * h) + block(Rb, 2) + block(Wb, 2)))
                    h = (1 - z) * cand + z * h
                Y[t, d, n] = h
            Y_h[d, n] = h
            Y_c[d, n] = c
    result = {"Y": Y, "Y_h": Y_h}
    if op == "LSTM":
        result["Y_c"] = Y_c
    if layout == 1:
        result["Y"] = Y.transpose(2, 0, 1, 3)
        result["Y_h"] = Y_h.transpose(1, 0, 2)
        if op == "LSTM":
            result["Y_c"] = Y_c.transpose(1, 0, 2)
    return result


# ---------------------------------------------------------------- models built with onnx.helper

def build_model(op, attrs, W, R, B, P, inputs, outputs, shapes):
    """A model of one node; W, R, B, P are initializers, the rest graph inputs; `shapes`
    gives the shape of every graph input and output by name."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    initializers = [numpy_helper.from_array(np.asarray(W, np.float32), "W"),
                    numpy_helper.from_array(np.asarray(R, np.float32), "R")]
    names = ["X", "W", "R", "", "", "", "", ""]
    if B is not None:
        initializers.append(numpy_helper.from_array(np.asarray(B, np.float32), "B"))
        names[3] = "B"
    for k, name in ((4, "sequence_lens"), (5, "initial_h"), (6, "initial_c")):
        if name in inputs:
            names[k] = name
    if P is not None:
        initializers.append(numpy_helper.from_array(np.asarray(P, np.float32), "P"))
        names[7] = "P"
    while names and not names[-1]:
        names.pop()
    node = helper.make_node(op, names, list(outputs), **attrs)
    graph_inputs = [helper.make_tensor_value_info(
        name, TensorProto.INT32 if name == "sequence_lens" else TensorProto.FLOAT, shapes[name])
        for name in inputs]
    graph_outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, shapes[name])
                     for name in outputs]
    graph = helper.make_graph([node], "rnn", graph_inputs, graph_outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    onnx.checker.check_model(model)
    return model


def random_case(op, direction, lengths, layout, peepholes=False, seed=0, attrs_extra=None,
                count=None):
    """A random node and its feeds: I = 3, H = 5, T = 4, N = 3."""
    rng = np.random.default_rng(seed)
    I, H, T, N = 3, 5, 4, 3
    D = 2 if direction == "bidirectional" else 1
    G = {"RNN": 1, "LSTM": 4, "GRU": 3}[op]
    u = lambda *shape: rng.uniform(-0.8, 0.8, shape).astype(np.float32)  # noqa: E731
    W, R, B = u(D, G * H, I), u(D, G * H, H), u(D, 2 * G * H)
    P = u(D, 3 * H) if peepholes else None
    attrs = dict(hidden_size=H, direction=direction, layout=layout, **(attrs_extra or {}))
    x = u(T, N, I)
    h0, c0 = u(D, N, H), u(D, N, H)
    feeds = {"X": x.transpose(1, 0, 2).copy() if layout == 1 else x,
             "initial_h": h0.transpose(1, 0, 2).copy() if layout == 1 else h0}
    inputs = ["X", "initial_h"]
    if op == "LSTM":
        feeds["initial_c"] = c0.transpose(1, 0, 2).copy() if layout == 1 else c0
        inputs.append("initial_c")
    if lengths:
        feeds["sequence_lens"] = np.array([2, 4, 1], np.int32)  # unsorted, 1 and T
        inputs.append("sequence_lens")
    outputs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    expected = onnx_reference(op, attrs, feeds["X"], W, R, B, feeds.get("sequence_lens"),
                              feeds["initial_h"], feeds.get("initial_c"), P, count)
    shapes = {name: list(value.shape) for name, value in {**feeds, **expected}.items()}
    model = build_model(op, attrs, W, R, B, P, inputs, outputs, shapes)
    return model, feeds, expected


class ImportedModelsAgree(unittest.TestCase):
    def check(self, op, direction, lengths, layout, peepholes=False, attrs=None, cell=None,
              count=None):
        model, feeds, expected = random_case(op, direction, lengths, layout, peepholes,
                                             seed=hash((op, direction, lengths, layout)) % 1000,
                                             attrs_extra=attrs, count=count)
        node = IMPORTER.from_model(model, feeds)
        if cell is not None:
            self.assertEqual(node.cell, cell)
        self.assertEqual(node.reverse, direction == "reverse")
        self.assertEqual(node.cell_clip, float(np.float32((attrs or {}).get("clip", 0.0))))
        self.assertEqual(node.directions, 2 if direction == "bidirectional" else 1)
        for schedule, threads in (("wavefront", 2), ("sequential", 1)):
            outputs = run_forward(RNNWAVE, node, feeds, threads, schedule)
            for role, value in expected.items():
                error = max_error(outputs[role], value)
                self.assertLessEqual(error, TOLERANCE, f"{role} ({schedule}): error {error:.3g}")

    def test_every_operator_direction_length_and_layout(self):
        cases = [("RNN", None, "rnn_tanh", False), ("RNN", {"activations": ["Relu"] * 1}, "rnn_relu", False),
                 ("LSTM", None, "lstm", False), ("LSTM", None, "lstm", True),
                 ("GRU", None, "gru_rb", False), ("GRU", {"linear_before_reset": 1}, "gru", False)]
        for (op, attrs, cell, peepholes), direction, lengths, layout in itertools.product(
                cases, ("forward", "reverse", "bidirectional"), (False, True), (0, 1)):
            if attrs and "activations" in attrs and direction == "bidirectional":
                attrs = {"activations": ["Relu", "Relu"]}
            elif attrs and "activations" in attrs:
                attrs = {"activations": ["Relu"]}
            with self.subTest(op=op, cell=cell, peepholes=peepholes, direction=direction,
                              lengths=lengths, layout=layout):
                self.check(op, direction, lengths, layout, peepholes, attrs, cell)

    def test_clip_on_every_operator_and_direction(self):
        # clip = 0.4 on pre-activations of a few tenths to about 2: a good share is clipped.
        cases = [("RNN", {}, "rnn_tanh", False), ("RNN", {"activations": ["Relu"]}, "rnn_relu", False),
                 ("LSTM", {}, "lstm", False), ("LSTM", {}, "lstm", True),
                 ("GRU", {}, "gru_rb", False), ("GRU", {"linear_before_reset": 1}, "gru", False)]
        for (op, attrs, cell, peepholes), direction, lengths in itertools.product(
                cases, ("forward", "reverse", "bidirectional"), (False, True)):
            attrs = dict(attrs, clip=0.4)
            if "activations" in attrs:
                attrs["activations"] = ["Relu"] * (2 if direction == "bidirectional" else 1)
            with self.subTest(op=op, cell=cell, peepholes=peepholes, direction=direction,
                              lengths=lengths):
                count = ClipCount()
                self.check(op, direction, lengths, 0, peepholes, attrs, cell, count)
                self.assertGreater(count.clipped, count.seen // 10, f"{count.clipped} of {count.seen}")

    def test_clip_changes_the_oracle_and_a_large_one_does_not(self):
        # Without this the clip test above could pass with an oracle that never clips.
        _, _, plain = random_case("LSTM", "forward", False, 0, seed=3)
        _, _, clipped = random_case("LSTM", "forward", False, 0, seed=3, attrs_extra={"clip": 0.4})
        _, _, loose = random_case("LSTM", "forward", False, 0, seed=3, attrs_extra={"clip": 1e6})
        self.assertGreater(max_error(plain["Y"], clipped["Y"]), 1e-3)
        self.assertEqual(max_error(plain["Y"], loose["Y"]), 0)

    def test_default_activations_given_explicitly_are_accepted(self):
        self.check("LSTM", "bidirectional", True, 0,
                   attrs={"activations": ["Sigmoid", "Tanh", "Tanh"] * 2}, cell="lstm")

    def test_reverse_direction_is_not_the_forward_one(self):
        # The oracle itself must tell the directions apart on these inputs.
        _, feeds, forward = random_case("GRU", "forward", True, 0, seed=5)
        _, _, reverse = random_case("GRU", "reverse", True, 0, seed=5)
        self.assertGreater(max_error(forward["Y"], reverse["Y"]), 1e-3)


class UnsupportedAttributesAreRefused(unittest.TestCase):
    def refused(self, op, attrs, *words):
        model, feeds, _ = random_case(op, "forward", False, 0, attrs_extra=attrs)
        with self.assertRaises(IMPORTER.UnsupportedError) as raised:
            IMPORTER.from_model(model, feeds)
        for word in words:
            self.assertIn(word, str(raised.exception))

    def test_custom_activations(self):
        self.refused("RNN", {"activations": ["Sigmoid"]}, "activations", "Sigmoid")
        self.refused("LSTM", {"activations": ["Sigmoid", "Tanh", "Relu"]}, "activations", "Relu")
        self.refused("GRU", {"activations": ["HardSigmoid", "Tanh"]}, "activations", "HardSigmoid")

    def test_activation_parameters(self):
        self.refused("RNN", {"activations": ["Tanh"], "activation_alpha": [0.5]}, "activation_alpha")

    def test_bad_clip_values(self):
        for value, text in ((-1.0, "-1.0"), (0.0, "0.0"), (float("nan"), "nan"),
                            (float("inf"), "inf")):
            with self.subTest(value=value):
                self.refused("LSTM", {"clip": value}, "clip", text, "finite number > 0")

    def test_input_forget(self):
        self.refused("LSTM", {"input_forget": 1}, "input_forget")

    def test_other_operators(self):
        from onnx import helper
        node = helper.make_node("Relu", ["X"], ["Y"])
        with self.assertRaises(IMPORTER.UnsupportedError) as raised:
            IMPORTER.from_node(node, {})
        self.assertIn("Relu", str(raised.exception))


def main():
    global RNNWAVE
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rnnwave", required=True)
    args, rest = parser.parse_known_args()
    RNNWAVE = args.rnnwave
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
