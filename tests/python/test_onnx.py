"""rnnwave.onnx from Python: ONNX's own operator tests for RNN, LSTM and GRU (Debian's
libonnx-testdata: a model.onnx holding one node, its inputs and the outputs ONNX's
reference implementation computed), imported and run by the numpy API. The tests skip,
saying what is missing, without the onnx package or the data."""
import os
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="needs the onnx package (python3-onnx)")
from onnx import helper  # noqa: E402

import rnnwave  # noqa: E402
import rnnwave.onnx as ronnx  # noqa: E402

# The node tests' list, bound and loader, shared with the command-line tool's ONNX tests.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "onnx"))
import onnx_support  # noqa: E402

DATA = os.environ.get("ONNX_NODE_TEST_DATA", onnx_support.DEFAULT_DATA)
TESTS = onnx_support.NODE_TESTS
TOLERANCE = onnx_support.TOLERANCE
max_error = onnx_support.max_error


def load_test(name):
    """(model, feeds by input name, expected outputs by output name) of one node test."""
    directory = os.path.join(DATA, name)
    if not os.path.isfile(os.path.join(directory, "model.onnx")):
        pytest.skip(f"ONNX's node test data is not installed ({name}; Debian's "
                    f"libonnx-testdata, or set ONNX_NODE_TEST_DATA)")
    return onnx_support.load_node_test(directory)


@pytest.mark.parametrize("name", TESTS)
def test_onnx_node_test_data(name):
    model, feeds, expected = load_test(name)
    node = ronnx.from_model(model, feeds)
    outputs = node.run(feeds)
    roles = dict(zip(node.outputs, ("Y", "Y_h", "Y_c")))  # output name -> role
    assert expected
    for output_name, value in expected.items():
        error = max_error(outputs[roles[output_name]], value)
        assert error <= TOLERANCE, f"{name} {output_name}: error {error:.3g}"


def test_the_imported_models_are_the_numpy_classes():
    cells = {}
    for name in ("test_simple_rnn_defaults", "test_lstm_with_peepholes", "test_gru_defaults"):
        model, feeds, _ = load_test(name)
        rnn = ronnx.from_model(model, feeds).model(threads=1)
        cells[name] = (type(rnn), rnn._spec.cell, rnn._spec.peepholes)
    assert cells == {"test_simple_rnn_defaults": (rnnwave.RNN, "rnn_tanh", False),
                     "test_lstm_with_peepholes": (rnnwave.LSTM, "lstm", True),
                     # ONNX's default linear_before_reset = 0: the reset gate before the product
                     "test_gru_defaults": (rnnwave.GRU, "gru_rb", False)}


def with_direction(model, direction):
    """A copy of a node test's model with the node's direction attribute set."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    node = copy.graph.node[0]
    kept = [a for a in node.attribute if a.name != "direction"]
    del node.attribute[:]
    node.attribute.extend(kept + [helper.make_attribute("direction", direction)])
    return copy


def flip(a, lengths):
    """Each sequence of a [T, N, ...] array reversed within its own length."""
    out = a.copy()
    for n, length in enumerate(lengths):
        out[:length, n] = a[:length, n][::-1]
    return out


@pytest.mark.parametrize("name", ["test_lstm_with_peepholes", "test_gru_seq_length",
                                  "test_rnn_seq_length"])
def test_reverse_direction_is_the_forward_node_on_reversed_time(name):
    """ONNX's direction="reverse" (rnnwave's reverse=True) with the weights of a node test,
    on longer sequences of several lengths: Y is the forward node's Y on each sequence
    reversed in time, reversed back; Y_h (and Y_c) its last states. The forward node itself
    is checked against ONNX's data above."""
    model, feeds, _ = load_test(name)
    roles = dict(zip(ronnx._INPUTS[model.graph.node[0].op_type], model.graph.node[0].input))
    N, I = feeds[roles["X"]].shape[1:]
    T = 6
    lengths = np.arange(N) % T + 1
    lengths[0] = T
    rng = np.random.default_rng(5)
    feeds = dict(feeds, **{roles["X"]: rng.uniform(-1, 1, (T, N, I)).astype(np.float32)})
    if roles.get("sequence_lens"):
        feeds[roles["sequence_lens"]] = lengths.astype(np.int32)
    else:
        lengths = np.full(N, T)
    forward = ronnx.from_model(model, feeds)
    backward = ronnx.from_model(with_direction(model, "reverse"), feeds)
    assert backward.reverse and list(backward.weights)[0] == "weight_ih_l0_reverse"
    flipped = dict(feeds, **{roles["X"]: flip(feeds[roles["X"]], lengths)})
    want = forward.run(flipped)
    got = backward.run(feeds)
    # Y [T, D, N, H]: time first, then each sequence (axis 2) within its length.
    y_want = flip(want["Y"].transpose(0, 2, 1, 3), lengths).transpose(0, 2, 1, 3)
    assert max_error(got["Y"], y_want) <= TOLERANCE
    for role in ("Y_h", "Y_c"):
        if role in want:
            assert max_error(got[role], want[role]) <= TOLERANCE, role
    # The direction made a difference.
    assert max_error(forward.run(feeds)["Y"], got["Y"]) > 1e-3


def test_unsupported_attributes_are_refused_by_name():
    model, feeds, _ = load_test("test_lstm_defaults")
    node = model.graph.node[0]
    node.attribute.extend([helper.make_attribute("input_forget", 1)])
    with pytest.raises(ronnx.UnsupportedError, match=r"^LSTM: attribute input_forget = 1 is not "):
        ronnx.from_model(model, feeds)


@pytest.mark.parametrize("value", [-3.0, 0.0, float("nan")])
def test_a_bad_clip_is_refused_naming_the_value(value):
    model, feeds, _ = load_test("test_lstm_defaults")
    model.graph.node[0].attribute.extend([helper.make_attribute("clip", value)])
    with pytest.raises(ronnx.UnsupportedError,
                       match=rf"^LSTM: attribute clip = {value!r}: expected a finite number > 0$"):
        ronnx.from_model(model, feeds)


@pytest.mark.parametrize("op,attrs,peepholes", [
    ("RNN", {}, False), ("LSTM", {}, True), ("GRU", {}, False),
    ("GRU", {"linear_before_reset": 1}, False)])
def test_clip_is_computed_by_the_numpy_api(op, attrs, peepholes):
    # The importer test's float64 transcription of ONNX's equations, clip included.
    import onnx_importer_test as oracle
    count = oracle.ClipCount()
    model, feeds, expected = oracle.random_case(op, "bidirectional", True, 0, peepholes, seed=4,
                                                attrs_extra=dict(attrs, clip=0.4), count=count)
    node = ronnx.from_model(model, feeds)
    clip = float(np.float32(0.4))  # ONNX's float attributes are float32
    assert node.cell_clip == clip and node.model().cell_clip == clip
    outputs = node.run(feeds)
    for role, value in expected.items():
        assert max_error(outputs[role], value) <= TOLERANCE, role
    assert count.clipped > count.seen // 10, (count.clipped, count.seen)
