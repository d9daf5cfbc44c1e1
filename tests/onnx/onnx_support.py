"""What the ONNX tests share: the importer (python/rnnwave/onnx.py, loaded by path so that
no package needs to be installed or built) and a run of `rnnwave forward` on an imported
node."""

import importlib.util
import os
import subprocess
import tempfile

import numpy as np

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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
