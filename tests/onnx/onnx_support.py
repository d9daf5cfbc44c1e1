"""What the ONNX tests share (the command-line tool's here, the Python package's in
tests/python/test_onnx.py): the list of ONNX's recurrent node tests and the bound they are
held to, the loading of one node test, the importer (python/rnnwave/onnx.py, loaded by path
so that no package needs to be installed or built) and a run of `rnnwave forward` on an
imported node."""

import importlib.util
import os
import subprocess
import tempfile

import numpy as np

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Where Debian's libonnx-testdata puts ONNX's backend node tests.
DEFAULT_DATA = "/usr/share/libonnx-testdata/data/node"
# Every recurrent node test ONNX ships: a model.onnx holding one node, and test_data_set_0
# with its inputs and the outputs ONNX's reference implementation computed.
NODE_TESTS = (
    "test_simple_rnn_defaults", "test_simple_rnn_with_initial_bias",
    "test_simple_rnn_batchwise", "test_rnn_seq_length",
    "test_lstm_defaults", "test_lstm_with_initial_bias", "test_lstm_with_peepholes",
    "test_lstm_batchwise",
    "test_gru_defaults", "test_gru_with_initial_bias", "test_gru_seq_length",
    "test_gru_batchwise",
)
# The bound every output is held to: max |ours - onnx| / (1 + |onnx|) (float32 rounding).
TOLERANCE = 1e-5


def load_tensor(path):
    """One serialized onnx.TensorProto as a numpy array."""
    import onnx
    from onnx import numpy_helper
    tensor = onnx.TensorProto()
    with open(path, "rb") as f:
        tensor.ParseFromString(f.read())
    return numpy_helper.to_array(tensor)


def load_node_test(directory):
    """(model, feeds by input name, expected outputs by output name) of the node test in
    `directory`; inputs the test leaves out (optional ones) are absent from the feeds."""
    import onnx
    model = onnx.load(os.path.join(directory, "model.onnx"))
    data = os.path.join(directory, "test_data_set_0")
    feeds = {}
    for k, graph_input in enumerate(model.graph.input):
        path = os.path.join(data, f"input_{k}.pb")
        if os.path.exists(path):
            feeds[graph_input.name] = load_tensor(path)
    expected = {o.name: load_tensor(os.path.join(data, f"output_{k}.pb"))
                for k, o in enumerate(model.graph.output)}
    return model, feeds, expected


def load_importer():
    """python/rnnwave/onnx.py as a module, without importing the package around it."""
    path = os.path.join(SOURCE, "python", "rnnwave", "onnx.py")
    spec = importlib.util.spec_from_file_location("rnnwave_onnx_importer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_forward(rnnwave, node, feeds, threads=1, schedule="wavefront"):
    """Runs `rnnwave forward` on the node's weights and inputs; returns its outputs in the
    node's layout, keyed by role (Y, Y_h, Y_c)."""
    args = node.rnnwave_inputs(feeds)
    with tempfile.TemporaryDirectory(prefix="rnnwave-onnx-") as tmp:
        path = lambda name: os.path.join(tmp, name)  # noqa: E731
        np.savez(path("weights.npz"), **node.weights)
        np.save(path("x.npy"), args["input"])
        command = [rnnwave, "forward"] + node.model_flags() + [
            "--weights", path("weights.npz"), "--input", path("x.npy"),
            "--output", path("y.npy"), "--hn", path("hn.npy"),
            "--threads", str(threads), "--schedule", schedule]
        for key in ("lengths", "h0", "c0"):
            if args[key] is not None:
                np.save(path(key + ".npy"), args[key])
                command += ["--" + key, path(key + ".npy")]
        if node.op == "LSTM":
            command += ["--cn", path("cn.npy")]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"rnnwave forward failed ({result.returncode}): "
                               f"{result.stderr.strip()}\n  {' '.join(command)}")
        return node.onnx_outputs(np.load(path("y.npy")), np.load(path("hn.npy")),
                                 np.load(path("cn.npy")) if node.op == "LSTM" else None)


def max_error(actual, expected):
    """max |actual - expected| / (1 + |expected|), elementwise: relative for large values,
    absolute near zero."""
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    if actual.shape != expected.shape:
        return float("inf")
    if actual.size == 0:
        return 0.0
    return float(np.max(np.abs(actual - expected) / (1.0 + np.abs(expected))))
