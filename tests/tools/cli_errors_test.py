#!/usr/bin/env python3
"""The rnnwave command-line tool on bad input.

Every bad input must end in ONE line on stderr, "rnnwave: error: ..." naming the problem
(the flag, file or key, and the expected and actual values where there are some), and a
non-zero exit status -- never a signal, a hang, a silent wrong answer or a partial file.
Each failing command is run twice: once with no output file present (none may appear,
not even a temporary one) and once with every output file already there (each must be
byte-identical afterwards).

The valid baseline files are generated with numpy alone: random weights with PyTorch's
state_dict names and shapes.

    python3 cli_errors_test.py --rnnwave build/rnnwave [unittest options]
"""
import argparse
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import zipfile

import numpy as np

RNNWAVE = None  # path of the binary, from --rnnwave
TIMEOUT_S = 20  # any command, failing or not
FAST_S = 5  # commands that must fail before doing (or allocating) anything big
SMALL_RSS_BYTES = 256 << 20  # "before allocating": the failing process stays below this

# The baseline problem: an LSTM with I = 3, H = 4, L = 1, D = 1 on T = 5 steps, N = 2.
I, H, T, N = 3, 4, 5, 2
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}

FORWARD_FLAGS = ["--cell", "--input-size", "--hidden-size", "--layers", "--bidirectional",
                 "--weights", "--input", "--lengths", "--h0", "--c0", "--output", "--hn",
                 "--cn", "--threads", "--schedule", "--cell-clip"]
BACKWARD_FLAGS = ["--cell", "--input-size", "--hidden-size", "--layers", "--bidirectional",
                  "--weights", "--input", "--lengths", "--h0", "--c0", "--grad-output",
                  "--grad-hn", "--grad-cn", "--grads", "--threads", "--schedule", "--cell-clip"]


def state_dict(cell, input_size=I, hidden_size=H, layers=1, bidirectional=False,
               proj_size=0, seed=0, dtype=np.float32):
    """Random parameters named and shaped as torch.nn.{RNN,LSTM,GRU}.state_dict()."""
    rng = np.random.default_rng(seed)
    rows = GATES[cell] * hidden_size
    state_size = proj_size or hidden_size
    directions = 2 if bidirectional else 1
    bound = 1.0 / np.sqrt(hidden_size)
    params = {}
    for layer in range(layers):
        layer_input = input_size if layer == 0 else directions * state_size
        for suffix in ["", "_reverse"][:directions]:
            shapes = {"weight_ih": (rows, layer_input), "weight_hh": (rows, state_size),
                      "bias_ih": (rows,), "bias_hh": (rows,)}
            if proj_size:
                shapes["weight_hr"] = (proj_size, hidden_size)
            for kind, shape in shapes.items():
                params[f"{kind}_l{layer}{suffix}"] = rng.uniform(-bound, bound, shape).astype(dtype)
    return params


def random_array(shape, seed, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def npy_with_shape(data, old, new):
    """The .npy bytes `data` with `old` replaced by `new` in the header, whose length (and
    so the data offset) stays the same: numpy pads the header with spaces."""
    header_end = data.index(b"\n", 10) + 1
    header = data[:header_end - 1].replace(old, new).rstrip(b" ")
    assert old != new and len(header) < header_end - 1
    return header + b" " * (header_end - 1 - len(header)) + b"\n" + data[header_end:]


class Out(str):
    """An output file name; each run puts it in a fresh directory of its own."""


def physical_memory_bytes():
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def available_memory_bytes():
    """MemAvailable: what the tool's memory checks compare with (cgroup limits aside)."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return physical_memory_bytes()


class CliErrorsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="rnnwave-cli-errors-")
        os.chmod(cls.root, 0o755)  # readable by the unprivileged user of the read-only test
        cls.weights = {"lstm": cls.save_npz("lstm.npz", state_dict("lstm")),
                       "gru": cls.save_npz("gru.npz", state_dict("gru")),
                       "rnn_tanh": cls.save_npz("rnn_tanh.npz", state_dict("rnn_tanh"))}
        cls.x = cls.save_npy("x.npy", random_array((T, N, I), 1))
        cls.lengths = cls.save_npy("lengths.npy", np.array([T, 3], dtype=np.int64))
        cls.h0 = cls.save_npy("h0.npy", random_array((1, N, H), 2))
        cls.c0 = cls.save_npy("c0.npy", random_array((1, N, H), 3))
        cls.dy = cls.save_npy("dy.npy", random_array((T, N, H), 4))
        cls.dhn = cls.save_npy("dhn.npy", random_array((1, N, H), 5))
        cls.dcn = cls.save_npy("dcn.npy", random_array((1, N, H), 6))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)

    # ---- files -------------------------------------------------------------------------

    @classmethod
    def path(cls, name):
        return os.path.join(cls.root, name)

    @classmethod
    def save_npy(cls, name, array):
        path = cls.path(name)
        with open(path, "wb") as f:
            np.save(f, array, allow_pickle=array.dtype == object)
        return path

    @classmethod
    def save_npz(cls, name, arrays):
        path = cls.path(name)
        with open(path, "wb") as f:
            np.savez(f, **arrays)
        return path

    @classmethod
    def save_bytes(cls, name, data):
        path = cls.path(name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    @classmethod
    def npy_bytes(cls, array):
        name = "scratch.npy"
        with open(cls.save_npy(name, array), "rb") as f:
            return f.read()

    # ---- commands ----------------------------------------------------------------------

    def forward(self, kind="lstm", **changes):
        """The flags of a valid forward run of a `kind` model with every optional file,
        then changes: flag_name="value" sets --flag-name, flag_name=None drops it."""
        flags = {"--cell": kind, "--input-size": str(I), "--hidden-size": str(H),
                 "--weights": self.weights[kind], "--input": self.x, "--lengths": self.lengths,
                 "--h0": self.h0, "--c0": self.c0, "--output": Out("y.npy"),
                 "--hn": Out("hn.npy"), "--cn": Out("cn.npy"), "--threads": "1"}
        if kind != "lstm":
            del flags["--c0"], flags["--cn"]
        return ["forward", self.apply(flags, changes)]

    def backward(self, kind="lstm", **changes):
        flags = {"--cell": kind, "--input-size": str(I), "--hidden-size": str(H),
                 "--weights": self.weights[kind], "--input": self.x, "--lengths": self.lengths,
                 "--h0": self.h0, "--c0": self.c0, "--grad-output": self.dy,
                 "--grad-hn": self.dhn, "--grad-cn": self.dcn, "--grads": Out("g.npz"),
                 "--threads": "1"}
        if kind != "lstm":
            del flags["--c0"], flags["--grad-cn"]
        return ["backward", self.apply(flags, changes)]

    @staticmethod
    def apply(flags, changes):
        flags = dict(flags)
        for name, value in changes.items():
            flag = "--" + name.replace("_", "-")
            if value is None:
                flags.pop(flag, None)
            else:
                flags[flag] = value
        return flags

    @staticmethod
    def argv(command, out_dir):
        name, flags = command
        argv = [name]
        for flag, value in flags.items():
            if value is True:
                argv.append(flag)
            else:
                argv += [flag, os.path.join(out_dir, value) if isinstance(value, Out) else value]
        return argv

    def run_tool(self, argv, timeout=TIMEOUT_S, user=None):
        """Runs the tool; the result also carries `peak_rss`, the peak resident memory of
        that process alone in bytes (wait4's rusage: RUSAGE_CHILDREN would be the maximum
        over every command run so far)."""
        start = time.monotonic()
        process = subprocess.Popen([RNNWAVE] + argv, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, user=user)
        output = {}
        readers = [threading.Thread(target=lambda name=name: output.__setitem__(
            name, getattr(process, name).read())) for name in ("stdout", "stderr")]
        for reader in readers:
            reader.start()
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid != 0:
                break
            if time.monotonic() - start > timeout:
                process.kill()
                os.wait4(process.pid, 0)
                for reader in readers:
                    reader.join()
                self.fail(f"rnnwave {' '.join(argv)} did not finish within {timeout} s")
            time.sleep(0.005)
        process.returncode = os.waitstatus_to_exitcode(status)  # Popen must not reap it again
        for reader in readers:
            reader.join()
        result = subprocess.CompletedProcess(process.args, process.returncode,
                                             output["stdout"], output["stderr"])
        result.peak_rss = usage.ru_maxrss * 1024
        return result, time.monotonic() - start

    def assert_error_line(self, result, words):
        """Exit status > 0 (a signal gives < 0), exactly one line on stderr naming the
        problem, nothing on stdout. Returns the line."""
        stderr = result.stderr.decode("utf-8", "replace")
        self.assertGreater(result.returncode, 0, f"exit status {result.returncode}, stderr: {stderr!r}")
        self.assertTrue(stderr.endswith("\n") and stderr.count("\n") == 1,
                        f"expected one line on stderr, got {stderr!r}")
        line = stderr[:-1]
        self.assertTrue(line.startswith("rnnwave: error: ") and line[16:].strip(),
                        f"expected 'rnnwave: error: <message>', got {line!r}")
        self.assertEqual(result.stdout, b"", f"unexpected output on stdout with error {line!r}")
        for word in words:
            self.assertIn(word, line, f"the message should name {word!r}")
        return line

    def assert_fails(self, command, *words, fast=False, timeout=TIMEOUT_S):
        """Runs `command` without and then with existing output files; both runs must fail
        with one error line containing every word and leave the output directory as it
        was. `fast`: must also fail within FAST_S and without a big allocation."""
        line = None
        for existing in (False, True):
            out_dir = tempfile.mkdtemp(dir=self.root)
            before = {}
            if existing:
                for value in command[1].values():
                    if isinstance(value, Out):
                        content = f"previous contents of {value}\n".encode() + os.urandom(16)
                        with open(os.path.join(out_dir, value), "wb") as f:
                            f.write(content)
                        before[str(value)] = content
            result, seconds = self.run_tool(self.argv(command, out_dir), timeout=timeout)
            line = self.assert_error_line(result, words)
            after = {name: open(os.path.join(out_dir, name), "rb").read()
                     for name in os.listdir(out_dir)}
            self.assertEqual(after, before,
                             "output directory changed by a failed command" +
                             (" (existing files must stay untouched)" if existing else ""))
            if fast:
                self.assertLess(seconds, FAST_S, f"{line!r} took {seconds:.1f} s")
                self.assertLess(result.peak_rss, SMALL_RSS_BYTES,
                                f"{line!r} came after using {result.peak_rss >> 20} MiB of memory")
        return line

    def assert_succeeds(self, command):
        out_dir = tempfile.mkdtemp(dir=self.root)
        result, _ = self.run_tool(self.argv(command, out_dir))
        self.assertEqual(result.returncode, 0, result.stderr.decode("utf-8", "replace"))
        self.assertEqual(result.stderr, b"")
        return out_dir

    # ---- help and the valid baseline ---------------------------------------------------

    def assert_help(self, argv, flags):
        result, _ = self.run_tool(argv)
        self.assertEqual(result.returncode, 0, result.stderr)
        text = result.stdout.decode()
        for flag in flags:
            self.assertIn(flag, text, f"rnnwave {' '.join(argv)} should mention {flag}")

    def test_help(self):
        self.assert_help(["--help"], ["forward", "backward"] + FORWARD_FLAGS + BACKWARD_FLAGS)

    def test_forward_help(self):
        self.assert_help(["forward", "--help"], FORWARD_FLAGS)

    def test_backward_help(self):
        self.assert_help(["backward", "--help"], BACKWARD_FLAGS)

    def test_valid_forward_writes_every_output(self):
        out = self.assert_succeeds(self.forward())
        self.assertEqual(np.load(os.path.join(out, "y.npy")).shape, (T, N, H))
        self.assertEqual(np.load(os.path.join(out, "hn.npy")).shape, (1, N, H))
        self.assertEqual(np.load(os.path.join(out, "cn.npy")).shape, (1, N, H))
        self.assertEqual(sorted(os.listdir(out)), ["cn.npy", "hn.npy", "y.npy"])

    def test_valid_backward_writes_every_gradient(self):
        out = self.assert_succeeds(self.backward())
        grads = np.load(os.path.join(out, "g.npz"))
        expected = dict(state_dict("lstm"), input=np.zeros((T, N, I)), h0=np.zeros((1, N, H)),
                        c0=np.zeros((1, N, H)))
        self.assertEqual({k: grads[k].shape for k in grads.files},
                         {k: v.shape for k, v in expected.items()})

    def test_valid_gru_forward(self):
        self.assert_succeeds(self.forward("gru"))

    def test_cell_clip_changes_the_output(self):
        # ONNX's cell clip: 0.05 binds on these inputs (their values are checked against
        # ONNX's equations in tests/onnx); the flag reaches the model.
        clipped = np.load(os.path.join(self.assert_succeeds(self.forward(cell_clip="0.05")), "y.npy"))
        plain = np.load(os.path.join(self.assert_succeeds(self.forward()), "y.npy"))
        self.assertGreater(np.abs(clipped - plain).max(), 1e-3)
        self.assert_succeeds(self.backward(cell_clip="0.05"))

    def test_bad_cell_clip(self):
        for value in ("-1", "nan", "inf", "1e400"):
            with self.subTest(value=value):
                self.assert_fails(self.forward(cell_clip=value), "cell_clip",
                                  "inf" if value == "1e400" else value, fast=True)

    # ---- conversions that are allowed: the same answer as float32 / int64 -------------

    def forward_output(self, command):
        return np.load(os.path.join(self.assert_succeeds(command), "y.npy"))

    def test_float64_input_is_converted(self):
        x64 = self.save_npy("x_f8.npy", np.load(self.x).astype(np.float64))
        np.testing.assert_array_equal(self.forward_output(self.forward(input=x64)),
                                      self.forward_output(self.forward()))

    def test_float64_weights_are_converted(self):
        w64 = self.save_npz("lstm_f8.npz", state_dict("lstm", dtype=np.float64))
        np.testing.assert_array_equal(self.forward_output(self.forward(weights=w64)),
                                      self.forward_output(self.forward()))

    def test_big_endian_input_is_converted(self):
        x = self.save_npy("x_big_endian.npy", np.load(self.x).astype(">f4"))
        np.testing.assert_array_equal(self.forward_output(self.forward(input=x)),
                                      self.forward_output(self.forward()))

    def test_fortran_order_input_is_reordered(self):
        x = self.save_npy("x_fortran.npy", np.asfortranarray(np.load(self.x)))
        np.testing.assert_array_equal(self.forward_output(self.forward(input=x)),
                                      self.forward_output(self.forward()))

    def test_int32_lengths_are_converted(self):
        len32 = self.save_npy("lengths_i4.npy", np.array([T, 3], dtype=np.int32))
        np.testing.assert_array_equal(self.forward_output(self.forward(lengths=len32)),
                                      self.forward_output(self.forward()))

    # ---- shapes that disagree between files and flags ---------------------------------

    def test_input_last_dim_disagrees_with_input_size(self):
        x = self.save_npy("x_i5.npy", random_array((T, N, 5), 7))
        self.assert_fails(self.forward(input=x), "--input", "x_i5.npy", "--input-size",
                          "I = 3", "[5, 2, 5]")

    def test_input_of_rank_2(self):
        x = self.save_npy("x_rank2.npy", random_array((T, I), 7))
        self.assert_fails(self.forward(input=x), "--input", "x_rank2.npy", "[T, N, I]", "[5, 3]")

    def test_input_with_zero_steps(self):
        x = self.save_npy("x_t0.npy", random_array((0, N, I), 7))
        self.assert_fails(self.forward(input=x, lengths=None), "--input", "x_t0.npy",
                          "[0, 2, 3]")

    def test_h0_batch_disagrees_with_input(self):
        h0 = self.save_npy("h0_n3.npy", random_array((1, 3, H), 7))
        self.assert_fails(self.forward(h0=h0), "--h0", "h0_n3.npy", "[1, 2, 4]", "[1, 3, 4]")

    def test_h0_missing_the_reverse_direction(self):
        weights = self.save_npz("lstm_bi.npz", state_dict("lstm", bidirectional=True))
        self.assert_fails(self.forward(weights=weights, bidirectional=True, c0=None),
                          "--h0", "[L*D, N, H]", "[2, 2, 4]", "[1, 2, 4]")

    def test_c0_shape(self):
        c0 = self.save_npy("c0_h5.npy", random_array((1, N, 5), 7))
        self.assert_fails(self.forward(c0=c0), "--c0", "c0_h5.npy", "[1, 2, 4]", "[1, 2, 5]")

    def test_lengths_shape(self):
        lengths = self.save_npy("lengths_n3.npy", np.array([1, 2, 3], dtype=np.int64))
        self.assert_fails(self.forward(lengths=lengths), "--lengths", "lengths_n3.npy", "[2]",
                          "[3]")

    def test_grad_output_hidden_size(self):
        dy = self.save_npy("dy_h5.npy", random_array((T, N, 5), 7))
        self.assert_fails(self.backward(grad_output=dy), "--grad-output", "dy_h5.npy",
                          "[5, 2, 4]", "[5, 2, 5]")

    def test_grad_output_steps(self):
        dy = self.save_npy("dy_t6.npy", random_array((T + 1, N, H), 7))
        self.assert_fails(self.backward(grad_output=dy), "--grad-output", "dy_t6.npy",
                          "[5, 2, 4]", "[6, 2, 4]")

    def test_grad_hn_shape(self):
        dhn = self.save_npy("dhn_l2.npy", random_array((2, N, H), 7))
        self.assert_fails(self.backward(grad_hn=dhn), "--grad-hn", "dhn_l2.npy", "[1, 2, 4]",
                          "[2, 2, 4]")

    def test_grad_cn_shape(self):
        dcn = self.save_npy("dcn_rank2.npy", random_array((N, H), 7))
        self.assert_fails(self.backward(grad_cn=dcn), "--grad-cn", "dcn_rank2.npy",
                          "[1, 2, 4]", "[2, 4]")

    # ---- weights of a different model --------------------------------------------------

    def test_weights_of_another_hidden_size(self):
        self.assert_fails(self.forward(hidden_size="5", h0=None, c0=None), "lstm.npz",
                          "weight_ih_l0", "[20, 3]", "[16, 3]")

    def test_gru_weights_given_to_lstm(self):
        self.assert_fails(self.forward(weights=self.weights["gru"]), "gru.npz", "weight_ih_l0",
                          "[16, 3]", "[12, 3]", "gru")

    def test_lstm_weights_given_to_gru(self):
        self.assert_fails(self.forward("gru", weights=self.weights["lstm"]), "lstm.npz",
                          "weight_ih_l0", "[12, 3]", "[16, 3]", "lstm")

    def test_rnn_weights_given_to_lstm(self):
        self.assert_fails(self.backward(weights=self.weights["rnn_tanh"]), "rnn_tanh.npz",
                          "weight_ih_l0", "[16, 3]", "[4, 3]")

    def test_missing_key(self):
        params = state_dict("lstm")
        del params["bias_hh_l0"]
        weights = self.save_npz("lstm_no_bias_hh.npz", params)
        self.assert_fails(self.forward(weights=weights), "lstm_no_bias_hh.npz", "missing",
                          "bias_hh_l0", "[16]")

    def test_missing_second_layer(self):
        self.assert_fails(self.forward(layers="2", h0=None, c0=None), "lstm.npz", "missing",
                          "weight_ih_l1", "[16, 4]")

    def test_missing_reverse_direction(self):
        self.assert_fails(self.forward(bidirectional=True, h0=None, c0=None), "lstm.npz",
                          "missing", "weight_ih_l0_reverse", "[16, 3]")

    def test_extra_key_from_lstm_with_proj_size(self):
        weights = self.save_npz("lstm_proj2.npz", state_dict("lstm", proj_size=2))
        self.assert_fails(self.forward(weights=weights), "--weights", "lstm_proj2.npz",
                          "weight_hr_l0", "[2, 4]", "proj_size")

    def test_extra_key_from_deeper_model(self):
        weights = self.save_npz("lstm_l2.npz", state_dict("lstm", layers=2))
        self.assert_fails(self.forward(weights=weights), "lstm_l2.npz", "weight_ih_l1",
                          "[16, 4]")

    def test_extra_key_from_bidirectional_model(self):
        weights = self.save_npz("lstm_bi.npz", state_dict("lstm", bidirectional=True))
        self.assert_fails(self.forward(weights=weights), "lstm_bi.npz", "weight_ih_l0_reverse")

    def test_keys_with_a_module_prefix(self):
        params = {"rnn." + k: v for k, v in state_dict("lstm").items()}
        weights = self.save_npz("lstm_prefixed.npz", params)
        self.assert_fails(self.forward(weights=weights), "lstm_prefixed.npz", "rnn.weight_")

    def test_empty_archive(self):
        weights = self.save_npz("no_arrays.npz", {})
        self.assert_fails(self.forward(weights=weights), "no_arrays.npz", "missing",
                          "weight_ih_l0", "[16, 3]")

    def test_misshaped_weight(self):
        params = state_dict("lstm")
        params["weight_hh_l0"] = params["weight_hh_l0"][:, :3].copy()
        weights = self.save_npz("lstm_hh_misshaped.npz", params)
        self.assert_fails(self.forward(weights=weights), "lstm_hh_misshaped.npz",
                          "weight_hh_l0", "[16, 4]", "[16, 3]")

    def test_misshaped_bias(self):
        params = state_dict("lstm")
        params["bias_ih_l0"] = params["bias_ih_l0"].reshape(16, 1)
        weights = self.save_npz("lstm_bias_2d.npz", params)
        self.assert_fails(self.backward(weights=weights), "lstm_bias_2d.npz", "bias_ih_l0",
                          "[16]", "[16, 1]")

    # ---- lengths -----------------------------------------------------------------------

    def assert_bad_length(self, value):
        lengths = self.save_npy(f"lengths_{value}.npy", np.array([T, value], dtype=np.int64))
        for command in (self.forward, self.backward):
            self.assert_fails(command(lengths=lengths), "--lengths", f"lengths_{value}.npy",
                              f"lengths[1] = {value}", "[1, T]", f"T = {T}")

    def test_length_zero(self):
        self.assert_bad_length(0)

    def test_length_above_steps(self):
        self.assert_bad_length(T + 1)

    def test_length_negative(self):
        self.assert_bad_length(-1)

    def test_lengths_as_float(self):
        lengths = self.save_npy("lengths_f4.npy", np.array([T, 3], dtype=np.float32))
        self.assert_fails(self.forward(lengths=lengths), "lengths_f4.npy", "float32")

    def test_lengths_as_float64(self):
        lengths = self.save_npy("lengths_f8.npy", np.array([T, 3], dtype=np.float64))
        self.assert_fails(self.forward(lengths=lengths), "lengths_f8.npy", "float64")

    # ---- non-finite values -------------------------------------------------------------

    def with_value(self, name, array, index, value):
        array = array.copy()
        array[index] = value
        return self.save_npy(name, array)

    def test_nan_in_input(self):
        x = self.with_value("x_nan.npy", np.load(self.x), (2, 1, 0), np.nan)
        self.assert_fails(self.forward(input=x), "--input", "x_nan.npy", "NaN", "[2, 1, 0]")

    def test_inf_in_h0(self):
        h0 = self.with_value("h0_inf.npy", np.load(self.h0), (0, 1, 3), np.inf)
        self.assert_fails(self.forward(h0=h0), "--h0", "h0_inf.npy", "inf", "[0, 1, 3]")

    def test_negative_inf_in_c0(self):
        c0 = self.with_value("c0_ninf.npy", np.load(self.c0), (0, 0, 2), -np.inf)
        self.assert_fails(self.backward(c0=c0), "--c0", "c0_ninf.npy", "-inf", "[0, 0, 2]")

    def test_nan_in_grad_output(self):
        dy = self.with_value("dy_nan.npy", np.load(self.dy), (4, 0, 1), np.nan)
        self.assert_fails(self.backward(grad_output=dy), "--grad-output", "dy_nan.npy", "NaN",
                          "[4, 0, 1]", fast=True)

    def test_inf_in_grad_hn(self):
        dhn = self.with_value("dhn_inf.npy", np.load(self.dhn), (0, 1, 1), np.inf)
        self.assert_fails(self.backward(grad_hn=dhn), "--grad-hn", "dhn_inf.npy", "inf",
                          "[0, 1, 1]")

    def test_nan_in_grad_cn(self):
        dcn = self.with_value("dcn_nan.npy", np.load(self.dcn), (0, 0, 0), np.nan)
        self.assert_fails(self.backward(grad_cn=dcn), "--grad-cn", "dcn_nan.npy", "NaN",
                          "[0, 0, 0]")

    def test_nan_in_weights(self):
        params = state_dict("lstm")
        params["weight_hh_l0"][3, 2] = np.nan
        weights = self.save_npz("lstm_nan.npz", params)
        self.assert_fails(self.forward(weights=weights), "lstm_nan.npz", "weight_hh_l0", "NaN",
                          "[3, 2]")

    def test_inf_in_bias(self):
        params = state_dict("gru")
        params["bias_hh_l0"][7] = -np.inf
        weights = self.save_npz("gru_inf.npz", params)
        self.assert_fails(self.backward("gru", weights=weights), "gru_inf.npz", "bias_hh_l0",
                          "-inf", "[7]")

    def test_float64_input_beyond_float32_range(self):
        x = np.load(self.x).astype(np.float64)
        x[1, 0, 2] = 1e300
        x = self.save_npy("x_f8_huge.npy", x)
        self.assert_fails(self.forward(input=x), "x_f8_huge.npy", "float32", "1e+300")

    # ---- element types -----------------------------------------------------------------

    def assert_bad_dtype(self, flag, array, *words):
        name = f"{flag.strip('-')}_{array.dtype.str.strip('<>|=')}.npy"
        path = self.save_npy(name, array)
        command = self.backward if flag.startswith("grad") else self.forward
        self.assert_fails(command(**{flag: path}), name, *words)

    def test_input_int32(self):
        self.assert_bad_dtype("input", np.ones((T, N, I), np.int32), "int32")

    def test_input_bool(self):
        self.assert_bad_dtype("input", np.ones((T, N, I), bool), "bool")

    def test_input_float16(self):
        self.assert_bad_dtype("input", np.ones((T, N, I), np.float16), "float16")

    def test_input_complex(self):
        self.assert_bad_dtype("input", np.ones((T, N, I), np.complex64), "complex")

    def test_input_object(self):
        self.assert_bad_dtype("input", np.full((T, N, I), 1.0, dtype=object), "object")

    def test_input_strings(self):
        self.assert_bad_dtype("input", np.full((T, N, I), "1.0"), "string")

    def test_h0_float16(self):
        self.assert_bad_dtype("h0", np.zeros((1, N, H), np.float16), "float16")

    def test_grad_output_int64(self):
        self.assert_bad_dtype("grad_output", np.zeros((T, N, H), np.int64), "int64")

    def test_lengths_bool(self):
        self.assert_bad_dtype("lengths", np.ones(N, bool), "bool")

    def test_weights_int64(self):
        params = state_dict("lstm")
        params["weight_ih_l0"] = np.ones((16, I), np.int64)
        weights = self.save_npz("lstm_int.npz", params)
        self.assert_fails(self.forward(weights=weights), "lstm_int.npz", "weight_ih_l0", "int64")

    def test_weights_float16(self):
        weights = self.save_npz("lstm_f2.npz", state_dict("lstm", dtype=np.float16))
        self.assert_fails(self.forward(weights=weights), "lstm_f2.npz", "float16")

    # ---- truncated, corrupt and missing files ------------------------------------------

    def test_truncated_input(self):
        data = self.npy_bytes(np.load(self.x))
        header_end = data.index(b"\n", 10) + 1
        for cut in sorted({1, 5, 6, 8, 9, 10, 11, 30, header_end - 1, header_end,
                           header_end + 1, len(data) - 4, len(data) - 1}):
            with self.subTest(cut=cut):
                x = self.save_bytes(f"x_cut{cut}.npy", data[:cut])
                self.assert_fails(self.forward(input=x), f"x_cut{cut}.npy")

    def test_input_with_trailing_bytes(self):
        x = self.save_bytes("x_trailing.npy", self.npy_bytes(np.load(self.x)) + b"\0" * 4)
        self.assert_fails(self.forward(input=x), "x_trailing.npy", "trailing")

    def test_empty_input_file(self):
        x = self.save_bytes("x_empty.npy", b"")
        self.assert_fails(self.forward(input=x), "x_empty.npy")

    def test_random_bytes_as_input(self):
        x = self.save_bytes("x_random.npy", np.random.default_rng(8).bytes(200))
        self.assert_fails(self.forward(input=x), "x_random.npy", "not an .npy file")

    def test_text_file_as_input(self):
        x = self.save_bytes("x.txt", b"0.1 0.2 0.3\n" * 10)
        self.assert_fails(self.forward(input=x), "x.txt", "not an .npy file")

    def test_npz_as_input(self):
        self.assert_fails(self.forward(input=self.weights["lstm"]), "lstm.npz")

    def test_npy_as_weights(self):
        self.assert_fails(self.forward(weights=self.x), "x.npy")

    def test_corrupt_npy_header(self):
        data = self.npy_bytes(np.load(self.x))
        bad = data.replace(b"'fortran_order': False", b"'fortran_order': Fals ")
        x = self.save_bytes("x_bad_header.npy", bad)
        self.assert_fails(self.forward(input=x), "x_bad_header.npy", "fortran_order")

    def test_npy_header_claims_1e12_elements(self):
        data = npy_with_shape(self.npy_bytes(np.load(self.x)), b"(5, 2, 3)",
                              b"(1000000, 1000000, 3)")
        x = self.save_bytes("x_claims_1e12.npy", data)
        self.assert_fails(self.forward(input=x), "x_claims_1e12.npy", "[1000000, 1000000, 3]",
                          fast=True)

    def test_npy_header_shape_overflows_int64(self):
        data = npy_with_shape(self.npy_bytes(np.load(self.x)), b"(5, 2, 3)",
                              b"(4294967296, 4294967296, 3)")
        x = self.save_bytes("x_claims_overflow.npy", data)
        self.assert_fails(self.forward(input=x), "x_claims_overflow.npy", "4294967296",
                          fast=True)

    def test_truncated_weights(self):
        with open(self.weights["lstm"], "rb") as f:
            data = f.read()
        for cut in sorted({1, 4, 10, 30, 100, len(data) // 2, len(data) - 100, len(data) - 22,
                           len(data) - 1}):
            with self.subTest(cut=cut):
                weights = self.save_bytes(f"lstm_cut{cut}.npz", data[:cut])
                self.assert_fails(self.forward(weights=weights), f"lstm_cut{cut}.npz")

    def test_empty_weights_file(self):
        weights = self.save_bytes("empty.npz", b"")
        self.assert_fails(self.forward(weights=weights), "empty.npz")

    def test_random_bytes_as_weights(self):
        weights = self.save_bytes("random.npz", np.random.default_rng(9).bytes(1000))
        self.assert_fails(self.forward(weights=weights), "random.npz")

    def test_weights_with_a_flipped_data_byte(self):
        with open(self.weights["lstm"], "rb") as f:
            data = bytearray(f.read())
        member = data.index(b"\x93NUMPY", data.index(b"weight_hh_l0.npy"))
        data[member + 200] ^= 0x40  # inside the values: only the CRC can tell
        weights = self.save_bytes("lstm_flipped.npz", bytes(data))
        self.assert_fails(self.forward(weights=weights), "lstm_flipped.npz")

    def test_weights_with_a_corrupt_member(self):
        path = self.path("lstm_bad_member.npz")
        with zipfile.ZipFile(path, "w") as archive:
            for name, value in state_dict("lstm").items():
                data = self.npy_bytes(value)
                archive.writestr(name + ".npy", data[:-3] if name == "bias_ih_l0" else data)
        self.assert_fails(self.forward(weights=path), "lstm_bad_member.npz", "bias_ih_l0",
                          "truncated")

    def test_weights_member_claims_1e12_elements(self):
        path = self.path("lstm_huge_member.npz")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, value in state_dict("lstm").items():
                data = self.npy_bytes(value)
                if name == "weight_ih_l0":
                    data = npy_with_shape(data, b"(16, 3)", b"(1000000000000,)")
                archive.writestr(name + ".npy", data)
        self.assert_fails(self.forward(weights=path), "lstm_huge_member.npz", "weight_ih_l0",
                          fast=True)

    def test_directory_as_input(self):
        self.assert_fails(self.forward(input=self.root), self.root)

    def test_directory_as_weights(self):
        self.assert_fails(self.forward(weights=self.root), self.root)

    def test_missing_input_file(self):
        missing = self.path("no_such_x.npy")
        self.assert_fails(self.forward(input=missing), "no_such_x.npy", "No such file")

    def test_missing_weights_file(self):
        missing = self.path("no_such_weights.npz")
        self.assert_fails(self.backward(weights=missing), "no_such_weights.npz", "No such file")

    def test_missing_optional_files(self):
        for flag in ["lengths", "h0", "c0"]:
            with self.subTest(flag=flag):
                missing = self.path(f"no_such_{flag}.npy")
                self.assert_fails(self.forward(**{flag: missing}), f"no_such_{flag}.npy")
        for flag in ["grad_output", "grad_hn", "grad_cn"]:
            with self.subTest(flag=flag):
                missing = self.path(f"no_such_{flag}.npy")
                self.assert_fails(self.backward(**{flag: missing}), f"no_such_{flag}.npy")

    def test_fifo_as_input(self):
        fifo = self.path("x_fifo")
        if not os.path.exists(fifo):
            os.mkfifo(fifo)
        self.assert_fails(self.forward(input=fifo), "x_fifo", timeout=3)

    # ---- absurd sizes: refused at once, before allocating ------------------------------

    def test_hidden_size_1e9(self):
        self.assert_fails(self.forward(hidden_size="1000000000"), "1000000000", "memory",
                          fast=True)

    def test_layers_1e8(self):
        # 1.6e10 parameters: more than the memory of most machines; on the others it is the
        # weights file that has no second layer.
        too_big = 100000000 * 160 * 4 > available_memory_bytes()
        words = ["l100000000", "memory"] if too_big else ["missing", "weight_ih_l1"]
        self.assert_fails(self.forward(layers="100000000"), *words, fast=True)

    def test_output_to_a_device_is_written_not_replaced(self):
        # /dev/null must stay a device: the atomic write's rename would replace it.
        result, _ = self.run_tool(self.argv(self.forward(output="/dev/null", hn=None, cn=None),
                                            self.path("")))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(stat.S_ISCHR(os.stat("/dev/null").st_mode))

    def test_layers_at_the_limit(self):
        self.assert_fails(self.forward(layers=str(2**31)), "l2147483648", "memory", fast=True,
                          timeout=FAST_S)

    def test_hidden_size_that_fits_memory_but_not_the_file(self):
        # A model of about 1/8 of this machine's memory: allowed by the memory check, so
        # only comparing with the file (16 x 3 weights) can refuse it before allocating.
        hidden = int(np.sqrt(min(available_memory_bytes() / 8, 4 << 30) / 4 / 4))
        self.assert_fails(self.forward(hidden_size=str(hidden)), "lstm.npz", "weight_ih_l0",
                          f"[{4 * hidden}, 3]", "[16, 3]", fast=True)

    def test_layers_that_fit_memory_but_not_the_file(self):
        layers = int(min(available_memory_bytes() / 8, 4 << 30) / 4 / 160)
        self.assert_fails(self.forward(layers=str(layers)), "lstm.npz", "missing",
                          "weight_ih_l1", fast=True)

    def test_hidden_size_above_the_limit(self):
        self.assert_fails(self.forward(hidden_size="4294967296"), "--hidden-size", "4294967296",
                          "at most 2147483648", fast=True)

    def test_hidden_size_beyond_int64(self):
        self.assert_fails(self.forward(hidden_size="99999999999999999999"), "--hidden-size",
                          "99999999999999999999")

    def test_hidden_size_not_a_number(self):
        self.assert_fails(self.forward(hidden_size="four"), "--hidden-size", "four")

    def test_zero_and_negative_sizes(self):
        # The message names the flag ("--layers: must be at least 1, got 0"), not the
        # library's field with its [1, 2^31] range.
        for flag in ["input_size", "hidden_size", "layers"]:
            for value in ["0", "-3"]:
                with self.subTest(flag=flag, value=value):
                    self.assert_fails(self.forward(**{flag: value}),
                                      "--" + flag.replace("_", "-"), f"must be at least 1, got {value}")

    # ---- flags -------------------------------------------------------------------------

    def test_unknown_flag(self):
        command = self.forward(hidden=str(H))
        self.assert_fails(command, "--hidden")

    def test_unknown_command(self):
        result, _ = self.run_tool(["frobnicate", "--cell", "lstm"])
        self.assert_error_line(result, ["frobnicate"])

    def test_no_command(self):
        result, _ = self.run_tool([])
        self.assert_error_line(result, ["forward", "backward"])

    def test_stray_positional_argument(self):
        name, flags = self.forward()
        self.assert_fails((name, dict(flags, stray=True)), "stray")

    def test_missing_required_flags(self):
        for flag in ["cell", "input_size", "hidden_size", "weights", "input", "output"]:
            with self.subTest(command="forward", flag=flag):
                self.assert_fails(self.forward(**{flag: None}), "--" + flag.replace("_", "-"),
                                  "required")
        for flag in ["grad_output", "grads"]:
            with self.subTest(command="backward", flag=flag):
                self.assert_fails(self.backward(**{flag: None}), "--" + flag.replace("_", "-"),
                                  "required")

    def test_flag_without_value(self):
        name, flags = self.forward(weights=None)
        result, _ = self.run_tool(self.argv((name, flags), self.root) + ["--weights"])
        self.assert_error_line(result, ["--weights"])

    def test_unknown_cell(self):
        self.assert_fails(self.forward(cell="lstmm"), "lstmm", "rnn_tanh", "rnn_relu", "lstm",
                          "gru")

    def test_unknown_schedule(self):
        self.assert_fails(self.forward(schedule="fastest"), "fastest", "sequential", "wavefront")

    def test_unknown_precision(self):
        self.assert_fails(self.forward(precision="fp16"), "--precision", "'fp16'", "fp32, bf16",
                          fast=True)
        result, _ = self.run_tool(["bench", "--cell", "lstm", "--input-size", "3", "--hidden-size",
                                   "4", "--seq-len", "2", "--batch", "1", "--precision", "BF16"])
        self.assert_error_line(result, ["--precision", "'BF16'", "fp32, bf16"])

    def test_bf16_on_a_cpu_without_avx512_bf16(self):
        os.environ["RNNWAVE_PRETEND_NO_AVX512BF16"] = "1"
        try:
            self.assert_fails(self.forward(precision="bf16"), "bf16", "AVX512-BF16")
        finally:
            del os.environ["RNNWAVE_PRETEND_NO_AVX512BF16"]

    def test_bf16_bench_of_training_is_refused(self):
        result, _ = self.run_tool(["bench", "--cell", "lstm", "--input-size", "3", "--hidden-size",
                                   "4", "--seq-len", "2", "--batch", "1", "--mode", "training",
                                   "--precision", "bf16"])
        self.assert_error_line(result, ["bf16", "inference only"])

    def test_bench_reports_its_precision(self):
        with open("/proc/cpuinfo") as f:
            if "avx512_bf16" not in f.read():
                self.skipTest("this CPU lacks AVX512-BF16")
        for precision in ("fp32", "bf16"):
            result, _ = self.run_tool(["bench", "--cell", "gru", "--input-size", "3", "--hidden-size",
                                       "20", "--seq-len", "4", "--batch", "2", "--repeats", "1",
                                       "--warmup", "0", "--json", "--precision", precision])
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(json.loads(result.stdout)["precision"], precision)

    def test_bf16_forward_is_fp32_within_bf16_rounding(self):
        with open("/proc/cpuinfo") as f:
            if "avx512_bf16" not in f.read():
                self.skipTest("this CPU lacks AVX512-BF16")
        outputs = {}
        for precision in ("fp32", "bf16"):
            out = self.assert_succeeds(self.forward(precision=precision))
            outputs[precision] = [np.load(os.path.join(out, name)) for name in ("y.npy", "hn.npy", "cn.npy")]
        for exact, half in zip(outputs["fp32"], outputs["bf16"]):
            error = np.abs(exact.astype(np.float64) - half)
            # 8 significant bits: each rounded value is off by at most 2^-9 (see the bf16
            # tests of the library for the bound on outputs).
            self.assertLess(error.max(), 2.0 ** -5)
            self.assertGreater(error.max(), 0.0, "bf16 gave the bits of fp32")

    def test_negative_threads(self):
        self.assert_fails(self.forward(threads="-1"), "threads", "-1")

    def test_threads_beyond_any_machine(self):
        self.assert_fails(self.forward(threads="100000", schedule="wavefront"), "--threads",
                          "100000", fast=True)

    def test_threads_not_a_number(self):
        self.assert_fails(self.backward(threads="many"), "--threads", "many")

    def test_c0_for_gru(self):
        self.assert_fails(self.forward("gru", c0=self.c0), "--c0", "gru")

    def test_c0_for_rnn_tanh(self):
        self.assert_fails(self.backward("rnn_tanh", c0=self.c0), "--c0", "rnn_tanh")

    def test_cn_for_gru(self):
        self.assert_fails(self.forward("gru", cn=Out("cn.npy")), "--cn", "gru")

    def test_grad_cn_for_gru(self):
        self.assert_fails(self.backward("gru", grad_cn=self.dcn), "--grad-cn", "gru")

    # ---- outputs that cannot be written ------------------------------------------------

    def test_output_in_missing_directory(self):
        path = self.path("no_such_dir/y.npy")
        self.assert_fails(self.forward(output=path), "--output", "no_such_dir", "does not exist")
        self.assertFalse(os.path.exists(self.path("no_such_dir")))

    def test_hn_in_missing_directory(self):
        path = self.path("no_such_dir/hn.npy")
        self.assert_fails(self.forward(hn=path), "--hn", "no_such_dir", "does not exist")

    def test_grads_in_missing_directory(self):
        path = self.path("no_such_dir/g.npz")
        self.assert_fails(self.backward(grads=path), "--grads", "no_such_dir", "does not exist")

    def test_output_under_a_file(self):
        path = os.path.join(self.x, "y.npy")
        self.assert_fails(self.forward(output=path), "--output", "x.npy/y.npy",
                          "not a directory")

    def test_output_is_a_directory(self):
        directory = tempfile.mkdtemp(dir=self.root)
        self.assert_fails(self.forward(output=directory), "--output", directory, "directory")
        self.assertEqual(os.listdir(directory), [])

    def test_output_with_a_trailing_slash(self):
        path = self.path("y_dir/")
        self.assert_fails(self.forward(cn=path), "--cn", "y_dir/")
        self.assertFalse(os.path.exists(self.path("y_dir")))

    def test_grads_is_a_directory(self):
        directory = tempfile.mkdtemp(dir=self.root)
        self.assert_fails(self.backward(grads=directory), "--grads", directory, "directory")
        self.assertEqual(os.listdir(directory), [])

    def test_output_in_read_only_directory(self):
        # root ignores permissions: run the tool as an unprivileged user then.
        user = None
        if os.geteuid() == 0:
            user = 65534
            probe, _ = self.run_tool(["--help"], user=user)
            if probe.returncode != 0:
                self.skipTest("cannot run the tool as an unprivileged user")
        writable = tempfile.mkdtemp(dir=self.root)
        read_only = tempfile.mkdtemp(dir=self.root)
        os.chmod(writable, 0o777)
        os.chmod(read_only, 0o555)
        try:
            for flag, name in [("output", "y.npy"), ("hn", "hn.npy"), ("cn", "cn.npy")]:
                with self.subTest(flag=flag):
                    command = self.forward(**{flag: os.path.join(read_only, name)})
                    result, _ = self.run_tool(self.argv(command, writable), user=user)
                    self.assert_error_line(result, ["--" + flag, read_only])
                    self.assertEqual(os.listdir(read_only), [])
                    self.assertEqual(os.listdir(writable), [])
        finally:
            os.chmod(read_only, 0o755)

    # ---- an option given twice: one rule for every command ---------------------------

    def test_option_given_twice_is_named(self):
        name, flags = self.forward()
        for extra, flag in [(["--hidden-size", str(H)], "--hidden-size"),
                            (["--threads", "2"], "--threads"),
                            (["--bidirectional", "--bidirectional"], "--bidirectional")]:
            with self.subTest(flag=flag):
                result, _ = self.run_tool(self.argv((name, flags), self.root) + extra)
                line = self.assert_error_line(result, [flag + " given twice"])
                self.assertEqual(result.returncode, 2, line)
                self.assertNotIn("At Most", line)
        bench = ["bench", "--cell", "lstm", "--input-size", "3", "--hidden-size", "4", "--seq-len",
                 "2", "--batch", "1", "--repeats", "5"]
        for extra, flag in [(["--repeats", "1"], "--repeats"), (["--json", "--json"], "--json")]:
            with self.subTest(flag=flag):
                result, _ = self.run_tool(bench + extra)
                self.assert_error_line(result, [flag + " given twice"])
        result, _ = self.run_tool(["train", "--task", "synthetic", "--lr", "1", "--lr", "2",
                                   "--lr", "3", "--out", self.path("never")])
        self.assert_error_line(result, ["--lr given 3 times"])
        self.assertFalse(os.path.exists(self.path("never")))

    def test_bench_seed_must_not_be_negative(self):
        result, _ = self.run_tool(["bench", "--cell", "lstm", "--input-size", "3", "--hidden-size",
                                   "4", "--seq-len", "2", "--batch", "1", "--seed", "-1"])
        self.assert_error_line(result, ["--seed", "-1", "[0, 2^64)"])

    # ---- one file for two roles ---------------------------------------------------------

    def test_output_naming_an_input_is_refused(self):
        weights = self.path("w_copy.npz")
        shutil.copyfile(self.weights["lstm"], weights)
        with open(weights, "rb") as f:
            before = f.read()
        self.assert_fails(self.backward(weights=weights, grads=weights), "--grads", "--weights",
                          "same file", "overwrite an input")
        x = self.path("x_copy.npy")
        shutil.copyfile(self.x, x)
        link = self.path("x_link.npy")
        if not os.path.lexists(link):
            os.symlink(x, link)
        self.assert_fails(self.forward(input=x, output=link), "--output", "--input", "same file")
        hard = self.path("w_hard.npz")
        if not os.path.exists(hard):
            os.link(weights, hard)
        self.assert_fails(self.backward(weights=hard, grads=weights), "--grads", "--weights")
        with open(weights, "rb") as f:
            self.assertEqual(f.read(), before)

    def test_one_path_for_two_outputs_is_refused(self):
        out = tempfile.mkdtemp(dir=self.root)
        same = os.path.join(out, "s.npy")
        command = self.forward(output=same, hn=same, cn=same)
        result, _ = self.run_tool(self.argv(command, out))
        self.assert_error_line(result, ["--hn", "--output", "same file"])
        self.assertEqual(os.listdir(out), [])
        via_dots = os.path.join(out, "sub", "..", "s.npy")
        os.mkdir(os.path.join(out, "sub"))
        result, _ = self.run_tool(self.argv(self.forward(output=same, hn=via_dots), out))
        self.assert_error_line(result, ["--hn", "--output"])
        # /dev/null may take several outputs: nothing is replaced there.
        result, _ = self.run_tool(self.argv(self.forward(output="/dev/null", hn="/dev/null",
                                                         cn="/dev/null"), out))
        self.assertEqual(result.returncode, 0, result.stderr)

    # ---- all outputs or none --------------------------------------------------------------

    def test_failed_write_leaves_no_output(self):
        if not os.path.exists("/dev/full"):
            self.skipTest("no /dev/full")
        self.assert_fails(self.forward(hn="/dev/full"), "--hn", "/dev/full", "No space left")
        self.assert_fails(self.forward(cn=None, trace="/dev/full"), "--trace", "/dev/full")
        self.assert_fails(self.backward(trace="/dev/full"), "--trace", "/dev/full")

    # ---- .npz members: only what is needed, checked before inflating ---------------------

    def zip_with_size_field(self, path, member, size):
        """Rewrites the uncompressed size of `member` in its local header and central
        directory entry (both 32-bit fields: no zip64)."""
        with open(path, "rb") as f:
            data = bytearray(f.read())
        name = member.encode()
        for signature, size_at, name_at in [(b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)]:
            at = data.find(signature)
            while at >= 0:
                if data[at + name_at:at + name_at + len(name)] == name:
                    data[at + size_at:at + size_at + 4] = size.to_bytes(4, "little")
                    break
                at = data.find(signature, at + 4)
            else:
                self.fail(f"no {signature!r} entry for {member}")
        with open(path, "wb") as f:
            f.write(data)

    def test_member_declaring_1000_mib_is_refused_before_inflating(self):
        # A 1 MB file whose member claims 1000 MiB (deflate allows 1032:1) used to be
        # allocated at its declared size before the data ran out.
        path = self.path("lstm_lying_size.npz")
        noise = np.random.default_rng(3).bytes(1 << 20)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, value in state_dict("lstm").items():
                data = self.npy_bytes(value)
                archive.writestr(name + ".npy", data + noise if name == "weight_hh_l0" else data)
        self.zip_with_size_field(path, "weight_hh_l0.npy", 1000 << 20)
        self.assert_fails(self.forward(weights=path), "lstm_lying_size.npz", "weight_hh_l0",
                          "declares 1048576000 bytes", fast=True)

    def test_unused_member_is_not_inflated(self):
        # A 400 MB member of zeros (a 400 KB zip bomb) is refused by name from its header.
        path = self.path("lstm_bomb.npz")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, value in state_dict("lstm").items():
                archive.writestr(name + ".npy", self.npy_bytes(value))
            with archive.open("unused.npy", "w", force_zip64=True) as member:
                start = np.lib.format.header_data_from_array_1_0(np.zeros(1, np.float32))
                start["shape"] = (100 << 20,)
                buffer = io.BytesIO()
                np.lib.format.write_array_header_1_0(buffer, start)
                member.write(buffer.getvalue())
                zeros = bytes(1 << 20)
                for _ in range(400):
                    member.write(zeros)
        self.assertLess(os.path.getsize(path), 2 << 20)
        self.assert_fails(self.forward(weights=path), "lstm_bomb.npz", "unused", "[104857600]",
                          fast=True)


def main():
    global RNNWAVE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rnnwave", required=True, help="path of the rnnwave binary")
    args, rest = parser.parse_known_args()
    RNNWAVE = os.path.abspath(args.rnnwave)
    unittest.main(argv=[sys.argv[0]] + rest)


if __name__ == "__main__":
    main()
