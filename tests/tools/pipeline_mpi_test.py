#!/usr/bin/env python3
"""`rnnwave forward --pipeline` and `rnnwave backward --pipeline` under an MPI launcher: the
layers of a stack split over the ranks, each boundary layer's step blocks (and, backward,
their gradients) sent on as they become final (seconds).

Checked, against `rnnwave forward` in one process (the oracle: the engine's own forward,
itself tested against the double-precision reference and PyTorch), bit for bit — output,
h_n and c_n:
  - 2 and 3 ranks (oversubscribed, --bind-to none), uni- and bidirectional stacks, the
    cells rnn_tanh, lstm, gru, gru_rb, the LSTM with a projection and with peepholes,
    variable lengths in any order, given h0/c0, batch sizes 1 and 5;
  - ranks with different --threads and --schedule (layerwise, sequential, wavefront) on
    the same job, and ranks whose own layers alone would take other automatic step
    blocks (a model whose upper layer alone has input weights of more than 4 MiB);
  - rank 0 alone writes: the outputs, nothing from the other ranks;
  - uneven splits (5 layers on 2 and 3 ranks) and one layer per rank;
  - the comparison can fail: other weights give other bits;
  - backward: the gradients with respect to the input, h0, c0 and every weight (G.npz),
    bit for bit against `rnnwave backward` in one process, on 2 and 3 ranks, uni- and
    bidirectional, lstm, gru, rnn_tanh, the LSTM with a projection, variable lengths, ranks
    with other threads and schedules;
  - refusals, one line from rank 0 and every rank ending non-zero, no output written:
    more ranks than layers; forward under mpirun as several processes without
    --pipeline; --pipeline in a single process.

    python3 forward_pipeline_test.py --rnnwave build/rnnwave --launcher mpiexec
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "dist"))
import mpi_cases  # noqa: E402  (the launcher's flags: mpi_cases.launch_command)

RNNWAVE = None  # from --rnnwave
LAUNCHER = None  # from --launcher
TIMEOUT_S = 120
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3, "gru_rb": 3}


class Model:
    """A model's flags and random weights, written as the .npz PyTorch's state_dict makes."""

    def __init__(self, cell, layers, hidden, inputs, bidirectional=False, proj=0, peepholes=False, seed=0):
        self.cell, self.layers, self.hidden, self.inputs = cell, layers, hidden, inputs
        self.bidirectional, self.proj, self.peepholes, self.seed = bidirectional, proj, peepholes, seed
        self.width = proj or hidden  # of h
        self.dirs = 2 if bidirectional else 1

    def flags(self):
        flags = ["--cell", self.cell, "--input-size", str(self.inputs), "--hidden-size", str(self.hidden),
                 "--layers", str(self.layers)]
        if self.bidirectional:
            flags.append("--bidirectional")
        if self.proj:
            flags += ["--proj-size", str(self.proj)]
        if self.peepholes:
            flags.append("--peepholes")
        return flags

    def write_weights(self, path):
        rng = np.random.default_rng(self.seed)
        g, h = GATES[self.cell], self.hidden
        arrays = {}
        for layer in range(self.layers):
            for d in range(self.dirs):
                sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
                in_size = self.inputs if layer == 0 else self.dirs * self.width

                def draw(*shape):
                    return rng.uniform(-0.5, 0.5, shape).astype(np.float32)
                arrays["weight_ih" + sfx] = draw(g * h, in_size)
                arrays["weight_hh" + sfx] = draw(g * h, self.width)
                arrays["bias_ih" + sfx] = draw(g * h)
                arrays["bias_hh" + sfx] = draw(g * h)
                if self.peepholes:
                    arrays["weight_ph" + sfx] = draw(3, h)
                if self.proj:
                    arrays["weight_hr" + sfx] = draw(self.proj, h)
        np.savez(path, **arrays)


class ForwardPipelineTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="rnnwave_pipeline_")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def problem(self, model, steps, batch, lengths=True, states=True, seed=1):
        """Writes the weights and inputs; returns the input flags."""
        rng = np.random.default_rng(seed)
        model.write_weights(self.path("w.npz"))
        np.save(self.path("x.npy"), rng.standard_normal((steps, batch, model.inputs)).astype(np.float32))
        flags = ["--weights", self.path("w.npz"), "--input", self.path("x.npy")]
        if lengths:
            np.save(self.path("len.npy"), rng.integers(1, steps + 1, batch).astype(np.int64))
            flags += ["--lengths", self.path("len.npy")]
        if states:
            shape = (model.layers * model.dirs, batch)
            np.save(self.path("h0.npy"), rng.standard_normal((*shape, model.width)).astype(np.float32))
            flags += ["--h0", self.path("h0.npy")]
            if model.cell == "lstm":
                np.save(self.path("c0.npy"), rng.standard_normal((*shape, model.hidden)).astype(np.float32))
                flags += ["--c0", self.path("c0.npy")]
        return flags

    def outputs(self, model, tag):
        flags = ["--output", self.path(f"y_{tag}.npy"), "--hn", self.path(f"hn_{tag}.npy")]
        if model.cell == "lstm":
            flags += ["--cn", self.path(f"cn_{tag}.npy")]
        return flags

    def results(self, model, tag):
        names = ["y", "hn"] + (["cn"] if model.cell == "lstm" else [])
        return {name: np.load(self.path(f"{name}_{tag}.npy")) for name in names}

    def run_one(self, model, inputs, tag, extra=()):
        command = [RNNWAVE, "forward", *model.flags(), *inputs, *self.outputs(model, tag), *extra]
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
        self.assertEqual(done.returncode, 0, done.stderr)
        return self.results(model, tag)

    def run_pipeline(self, ranks, model, inputs, tag, extra=(), per_rank=None):
        args = ["forward", *model.flags(), *inputs, *self.outputs(model, tag), "--pipeline", *extra]
        if per_rank is None:
            command = mpi_cases.launch_command(LAUNCHER, ranks, RNNWAVE, args)
        else:  # an MPMD job: rank r gets per_rank[r] appended
            command = mpi_cases.launch_command(LAUNCHER, 1, RNNWAVE, args + per_rank[0])
            for r in range(1, ranks):
                command += [":", "-np", "1", RNNWAVE, *args, *per_rank[r]]
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
        self.assertEqual(done.returncode, 0, done.stderr)
        return self.results(model, tag)

    def assert_same_bits(self, a, b):
        self.assertEqual(a.keys(), b.keys())
        for name in a:
            self.assertEqual(a[name].shape, b[name].shape, name)
            self.assertEqual(a[name].tobytes(), b[name].tobytes(), f"{name} differs")

    def check(self, model, steps=9, batch=5, ranks=(2, 3), extra=(), **problem):
        inputs = self.problem(model, steps, batch, **problem)
        one = self.run_one(model, inputs, "one", ["--threads", "1"])
        for k in ranks:
            with self.subTest(ranks=k):
                piped = self.run_pipeline(k, model, inputs, f"k{k}", ["--threads", "1", *extra])
                self.assert_same_bits(one, piped)

    def test_lstm_unidirectional(self):
        self.check(Model("lstm", 3, 16, 5))

    def test_lstm_bidirectional(self):
        self.check(Model("lstm", 3, 16, 5, bidirectional=True))

    def test_gru_bidirectional_uneven_split(self):
        self.check(Model("gru", 5, 16, 3, bidirectional=True), steps=7)

    def test_rnn_tanh_one_sequence(self):
        self.check(Model("rnn_tanh", 4, 32, 4), steps=20, batch=1, lengths=False)

    def test_gru_rb_and_long_sequences(self):
        # Several step blocks per sequence (the automatic block is 13 steps at N = 5).
        self.check(Model("gru_rb", 3, 16, 4), steps=40)

    def test_lstm_projection_bidirectional(self):
        self.check(Model("lstm", 3, 16, 4, bidirectional=True, proj=8), ranks=(3,))

    def test_ranks_cut_the_steps_alike_whatever_their_layers_and_threads(self):
        # At N = 64 the automatic block is one step, but four where a layer's input weights
        # exceed 4 MiB: here layer 1's (4 x 640 x 640 floats, 6.25 MiB), not layer 0's. The
        # pipe's blocks must not follow the plan of a rank's own layers.
        model = Model("lstm", 2, 640, 4)
        inputs = self.problem(model, 8, 64)
        one = self.run_one(model, inputs, "one", ["--threads", "1"])
        for threads in (["1", "2"], ["2", "1"], ["2", "2"]):
            with self.subTest(threads=threads):
                piped = self.run_pipeline(2, model, inputs, "k2_" + "_".join(threads),
                                          per_rank=[["--threads", t] for t in threads])
                self.assert_same_bits(one, piped)

    def test_lstm_peepholes_without_states(self):
        self.check(Model("lstm", 2, 16, 4, peepholes=True), ranks=(2,), states=False)

    def test_ranks_with_other_threads_and_schedules(self):
        model = Model("lstm", 4, 16, 5, bidirectional=True)
        inputs = self.problem(model, 30, 4)
        one = self.run_one(model, inputs, "one")
        piped = self.run_pipeline(3, model, inputs, "mixed", per_rank=[
            ["--threads", "2"], ["--schedule", "layerwise", "--threads", "1"], ["--schedule", "sequential"]])
        self.assert_same_bits(one, piped)

    def test_other_weights_give_other_bits(self):
        model = Model("lstm", 2, 16, 5)
        inputs = self.problem(model, 9, 5)
        one = self.run_one(model, inputs, "one")
        Model("lstm", 2, 16, 5, seed=7).write_weights(self.path("w.npz"))
        piped = self.run_pipeline(2, model, inputs, "other")
        self.assertNotEqual(one["y"].tobytes(), piped["y"].tobytes())

    def test_rank_zero_alone_writes(self):
        model = Model("gru", 2, 8, 3)
        inputs = self.problem(model, 5, 2)
        before = set(os.listdir(self.dir))
        self.run_pipeline(2, model, inputs, "w")
        self.assertEqual(set(os.listdir(self.dir)) - before, {"y_w.npy", "hn_w.npy"})

    def check_backward(self, model, steps=9, batch=5, ranks=(2, 3), per_rank=None, **problem):
        inputs = self.problem(model, steps, batch, **problem)
        rng = np.random.default_rng(5)
        dy = rng.standard_normal((steps, batch, model.dirs * model.width)).astype(np.float32)
        np.save(self.path("dy.npy"), dy)
        shape = (model.layers * model.dirs, batch)
        np.save(self.path("dhn.npy"), rng.standard_normal((*shape, model.width)).astype(np.float32))
        grads = ["--grad-output", self.path("dy.npy"), "--grad-hn", self.path("dhn.npy")]
        if model.cell == "lstm":
            np.save(self.path("dcn.npy"), rng.standard_normal((*shape, model.hidden)).astype(np.float32))
            grads += ["--grad-cn", self.path("dcn.npy")]
        args = ["backward", *model.flags(), *inputs, *grads]
        done = subprocess.run([RNNWAVE, *args, "--grads", self.path("g_one.npz"), "--threads", "1"],
                              capture_output=True, text=True, timeout=TIMEOUT_S)
        self.assertEqual(done.returncode, 0, done.stderr)
        with np.load(self.path("g_one.npz")) as archive:
            one = {k: archive[k] for k in archive.files}
        for k in ranks:
            with self.subTest(ranks=k):
                out = ["--grads", self.path(f"g_k{k}.npz"), "--pipeline"]
                if per_rank is None:
                    command = mpi_cases.launch_command(LAUNCHER, k, RNNWAVE, args + out + ["--threads", "1"])
                else:
                    command = mpi_cases.launch_command(LAUNCHER, 1, RNNWAVE, args + out + per_rank[0])
                    for r in range(1, k):
                        command += [":", "-np", "1", RNNWAVE, *args, *out, *per_rank[r]]
                done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
                self.assertEqual(done.returncode, 0, done.stderr)
                with np.load(self.path(f"g_k{k}.npz")) as archive:
                    piped = {k: archive[k] for k in archive.files}
                self.assert_same_bits(one, piped)

    def test_backward_lstm_unidirectional(self):
        self.check_backward(Model("lstm", 3, 16, 5))

    def test_backward_gru_bidirectional(self):
        self.check_backward(Model("gru", 4, 16, 3, bidirectional=True), steps=20)

    def test_backward_rnn_tanh_long_sequences_equal_lengths(self):
        self.check_backward(Model("rnn_tanh", 3, 32, 4), steps=40, lengths=False, states=False)

    def test_backward_lstm_projection_bidirectional(self):
        self.check_backward(Model("lstm", 3, 16, 4, bidirectional=True, proj=8), ranks=(3,))

    def test_backward_ranks_with_other_threads_and_schedules(self):
        self.check_backward(Model("lstm", 4, 16, 5), steps=30, ranks=(3,), per_rank=[
            ["--threads", "2"], ["--schedule", "layerwise", "--threads", "1"], ["--schedule", "sequential"]])

    def assert_refused(self, command, line):
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
        self.assertNotEqual(done.returncode, 0)
        errors = [x for x in done.stderr.splitlines() if "error" in x]
        self.assertEqual(errors, [line], done.stderr)
        self.assertFalse(os.path.exists(self.path("y_bad.npy")))

    def test_more_ranks_than_layers_refused(self):
        model = Model("lstm", 2, 8, 3)
        inputs = self.problem(model, 5, 2)
        args = ["forward", *model.flags(), *inputs, *self.outputs(model, "bad"), "--pipeline"]
        self.assert_refused(mpi_cases.launch_command(LAUNCHER, 3, RNNWAVE, args),
                            "rnnwave: error: a pipeline of 3 ranks needs at least 3 layers (one per rank), "
                            "the model has 2; start at most 2 ranks")

    def test_several_ranks_without_pipeline_refused(self):
        model = Model("lstm", 2, 8, 3)
        inputs = self.problem(model, 5, 2)
        args = ["forward", *model.flags(), *inputs, *self.outputs(model, "bad")]
        self.assert_refused(mpi_cases.launch_command(LAUNCHER, 2, RNNWAVE, args),
                            "rnnwave: error: rnnwave forward was started by an MPI launcher as one of 2 "
                            "processes: give --pipeline to split the layers over them, or run it without mpirun")

    def test_pipeline_in_one_process_refused(self):
        model = Model("lstm", 2, 8, 3)
        inputs = self.problem(model, 5, 2)
        self.assert_refused([RNNWAVE, "forward", *model.flags(), *inputs, *self.outputs(model, "bad"), "--pipeline"],
                            "rnnwave: error: --pipeline is for a run started by mpirun (or srun); "
                            "this is a single process")


def main():
    global RNNWAVE, LAUNCHER
    parser = argparse.ArgumentParser()
    parser.add_argument("--rnnwave", required=True)
    parser.add_argument("--launcher", required=True)
    options, rest = parser.parse_known_args()
    RNNWAVE = os.path.abspath(options.rnnwave)
    LAUNCHER = options.launcher
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
