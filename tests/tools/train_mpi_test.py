#!/usr/bin/env python3
"""`rnnwave train --shards S` under an MPI launcher: data-parallel training whose results do
not depend on the number of ranks (the CI smoke of the distributed trainer; seconds).

Checked, on the adding problem at a tiny size with dropout (masks per shard) and a last
batch smaller than S (empty shards), S = 4:
  - one process, mpirun -np 1, 2 and 4 (oversubscribed, --bind-to none) give
    bit-identical checkpoints (every member; the history but for its timing columns),
    model.npz and initial.npz, and the same metrics (every field but the timings);
  - rank 0 alone writes: the run directory holds the run's files and nothing else, and
    each epoch's line is printed once;
  - another S gives other bits (the comparison can fail);
  - with torch: PyTorch's DistributedDataParallel on 2 ranks (gloo), each taking one
    shard's rows, ends each epoch with the losses of the 2-shard run (float32 rounding);
  - with the data (--data-dir, else $RNNWAVE_DATA_DIR, else ../shared/data beside the
    source tree; skipped when absent): digits (dropout, length-bucketed batches) and
    wikitext2 (dropout, a hidden state per shard) on 2 ranks give the bits of one process;
  - a run stopped after epoch 1 on 2 ranks and resumed in one process ends as the others,
    and so does one stopped in one process and resumed on 4 ranks;
  - eval under mpirun (the split's S parts divided over 2 and 4 ranks) prints the score
    of one process, once;
  - an existing run directory is refused by rank 0 (the job ends; the run is untouched);
  - refusals, each one line from rank 0 with every rank ending non-zero and no run
    directory made: --shards not a multiple of the rank count, more shards than the batch
    has rows, ranks started with different flags;
  - faults: a rank stopped mid-training (SIGSTOP) ends the job within --rank-timeout with
    rank 0's line naming it; a rank killed mid-training ends the job.

    python3 train_mpi_test.py --rnnwave build/rnnwave --launcher mpiexec [--data-dir DIR]
"""
import argparse
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "dist"))
import mpi_cases  # noqa: E402  (the launcher's flags: mpi_cases.launch_command)

RNNWAVE = None  # from --rnnwave
LAUNCHER = None  # from --launcher
DATA_DIR = None  # from --data-dir / the environment
SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMEOUT_S = 90

# 100 sequences in batches of 16: 7 batches, the last of 4 rows (one per shard); with
# dropout, so that each shard's masks matter.
SYNTHETIC = ["--task", "synthetic", "--cell", "lstm", "--hidden-size", "8", "--layers", "2",
             "--synthetic-steps", "10", "--synthetic-train", "100", "--synthetic-eval", "32",
             "--batch-size", "16", "--dropout", "0.2", "--optimizer", "adam", "--lr", "0.01",
             "--seed", "3", "--threads", "1", "--epochs", "2"]
RUN_FILES = {"checkpoint.npz", "config.json", "metrics.jsonl", "curves.png", "initial.npz", "model.npz"}
TIMING_FIELDS = {"train_seconds", "items_per_second"}


def changed(args, **flags):
    """args with the values of some flags replaced: changed(SYNTHETIC, lr="0.02")."""
    args = list(args)
    for name, value in flags.items():
        args[args.index("--" + name.replace("_", "-")) + 1] = value
    return args


def npz_arrays(path):
    with np.load(path) as archive:
        return {key: archive[key] for key in archive.files}


def read_metrics(run_dir):
    import json
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        return [{k: v for k, v in json.loads(line).items() if k not in TIMING_FIELDS} for line in f]


class TrainRuns:
    """Runs of rnnwave train, alone or under the launcher, and how they are compared (a
    mixin: train_pipeline_mpi_test.py uses it too). A test class sets ROOT_PREFIX and
    ONE_ARGS: its folder's prefix, and the flags of the one-process run every test
    compares with, made once as cls.one."""
    ROOT_PREFIX = "rnnwave-train-"
    ONE_ARGS = []

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix=cls.ROOT_PREFIX)
        cls.one = os.path.join(cls.root, "one")
        cls.run_ok(1, [*cls.ONE_ARGS, "--out", cls.one])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)

    @classmethod
    def launch(cls, ranks, args):
        """rnnwave train under the launcher with `ranks` ranks; 1 = an ordinary process,
        "1 rank" = a launcher job of one."""
        command = [RNNWAVE, "train", *args]
        if ranks == "1 rank":
            command = mpi_cases.launch_command(LAUNCHER, 1, RNNWAVE, ["train", *args])
        elif ranks > 1:
            command = mpi_cases.launch_command(LAUNCHER, ranks, RNNWAVE, ["train", *args])
        # A session directory of its own per launcher (see mpi_cases.py).
        with tempfile.TemporaryDirectory(prefix="rnnwave-mpi-") as tmp:
            env = dict(os.environ, TMPDIR=tmp, OMP_NUM_THREADS="1")
            return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S,
                                  stdin=subprocess.DEVNULL, env=env)

    @classmethod
    def run_ok(cls, ranks, args):
        result = cls.launch(ranks, args)
        if result.returncode != 0:
            raise AssertionError(f"{ranks} ranks: rnnwave train {' '.join(args)} failed "
                                 f"({result.returncode}): {result.stderr[-3000:]}")
        return result

    def assert_same_run(self, a, b):
        ca, cb = npz_arrays(os.path.join(a, "checkpoint.npz")), npz_arrays(os.path.join(b, "checkpoint.npz"))
        self.assertEqual(sorted(ca), sorted(cb))
        self.assertTrue(any(key.startswith("param/") for key in ca))
        for key in ca:
            x, y = (ca[key][:, :6], cb[key][:, :6]) if key == "history" else (ca[key], cb[key])
            self.assertEqual(x.dtype, y.dtype, key)
            self.assertEqual(np.ascontiguousarray(x).tobytes(), np.ascontiguousarray(y).tobytes(),
                             f"checkpoint.npz {key} differs between {a} and {b}")
        for name in ("model.npz", "initial.npz"):
            ma, mb = npz_arrays(os.path.join(a, name)), npz_arrays(os.path.join(b, name))
            self.assertEqual(sorted(ma), sorted(mb))
            for key in ma:
                self.assertEqual(ma[key].tobytes(), mb[key].tobytes(), f"{name} {key} differs")
        self.assertEqual(read_metrics(a), read_metrics(b))

    def assert_refused(self, ranks, args, words, out):
        result = self.launch(ranks, args)
        self.assertNotEqual(result.returncode, 0, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.startswith("rnnwave:")]
        self.assertEqual(len(lines), 1, f"expected one line from rank 0, got {result.stderr!r}")
        self.assertTrue(lines[0].startswith("rnnwave: error: "), lines[0])
        for word in words:
            self.assertIn(word, lines[0])
        self.assertFalse(os.path.exists(out))


class TrainMpiTest(TrainRuns, unittest.TestCase):
    ROOT_PREFIX = "rnnwave-train-mpi-"
    ONE_ARGS = [*SYNTHETIC, "--shards", "4"]

    def test_rank_counts_give_the_same_bits(self):
        metrics = read_metrics(self.one)
        self.assertEqual([m["epoch"] for m in metrics], [1, 2])
        self.assertLess(metrics[1]["train_loss"], metrics[0]["train_loss"])
        for ranks in (2, 4):
            out = os.path.join(self.root, f"ranks{ranks}")
            result = self.run_ok(ranks, [*SYNTHETIC, "--shards", "4", "--out", out])
            self.assert_same_run(self.one, out)
            checkpoint = npz_arrays(os.path.join(out, "checkpoint.npz"))
            self.assertTrue(any(key.startswith("optimizer/") for key in checkpoint))  # Adam's moments
            self.assertEqual(set(os.listdir(out)), RUN_FILES)  # nothing of the other ranks'
            for epoch in (1, 2):
                self.assertEqual(result.stderr.count(f"epoch {epoch}/2:"), 1, result.stderr)

    def test_launcher_job_of_one_is_the_plain_run(self):
        # With one shard too: the whole-batch path, not a tree of one.
        for shards in ("4", "1"):
            plain, launched = (os.path.join(self.root, f"{name}_s{shards}") for name in ("plain", "launched"))
            if shards != "4":
                self.run_ok(1, [*SYNTHETIC, "--shards", shards, "--out", plain])
            self.run_ok("1 rank", [*SYNTHETIC, "--shards", shards, "--out", launched])
            self.assert_same_run(self.one if shards == "4" else plain, launched)

    def test_eval_under_mpirun_prints_the_score_once(self):
        alone = subprocess.run([RNNWAVE, "eval", "--model", self.one, "--json"], capture_output=True,
                               text=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
        self.assertEqual(alone.returncode, 0, alone.stderr)
        for count in (2, 4):
            command = mpi_cases.launch_command(LAUNCHER, count, RNNWAVE, ["eval", "--model", self.one, "--json"])
            with tempfile.TemporaryDirectory(prefix="rnnwave-mpi-") as tmp:
                ranks = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S,
                                       stdin=subprocess.DEVNULL, env=dict(os.environ, TMPDIR=tmp))
            self.assertEqual(ranks.returncode, 0, ranks.stderr)
            self.assertEqual(ranks.stdout, alone.stdout)  # one line, the same score

    def test_eval_ranks_with_another_precision_are_refused(self):
        # The handshake of eval names every flag that decides the score, --precision too
        # (refused before any rank evaluates, so no bf16 instructions are needed).
        eval_args = ["eval", "--model", self.one, "--json"]
        result = self.assert_disagreement([*eval_args, "--precision", "bf16"], eval_args,
                                          "'--precision': 'bf16' on rank 0, 'fp32' on rank 1")
        self.assertEqual(result.stdout, "")

    def test_another_shard_count_gives_other_bits(self):
        # What the comparison above can tell apart: S is part of the run's identity.
        out = os.path.join(self.root, "two_shards")
        self.run_ok(1, [*SYNTHETIC, "--shards", "2", "--out", out])
        a = npz_arrays(os.path.join(self.one, "model.npz"))
        b = npz_arrays(os.path.join(out, "model.npz"))
        self.assertTrue(any(a[key].tobytes() != b[key].tobytes() for key in a))

    def test_pytorch_ddp_twin_agrees(self):
        """The independent oracle of the sharded gradient: PyTorch's DistributedDataParallel
        on 2 ranks over gloo (bench/train/pytorch_train.py --ranks 2), each rank taking the
        rows of one shard, trains the same model on the same batches to the losses of
        rnnwave's 2-rank run (to float32 rounding; dropout off, so the two compute one
        function)."""
        try:
            import torch.distributed as torch_distributed
        except ImportError:
            self.skipTest("no torch")
        if not torch_distributed.is_available() or not torch_distributed.is_gloo_available():
            self.skipTest("torch lacks the gloo backend")
        run, data = os.path.join(self.root, "ddp_twin"), os.path.join(self.root, "ddp_twin.npz")
        # The same bits on any rank count (above): one process writes the export.
        self.run_ok(1, [*changed(SYNTHETIC, dropout="0"), "--shards", "2", "--out", run,
                        "--export-data", data])
        script = os.path.join(SOURCE_DIR, "bench", "train", "pytorch_train.py")
        with tempfile.TemporaryDirectory(prefix="rnnwave-ddp-") as tmp:
            result = subprocess.run([sys.executable, script, "--run", run, "--data", data,
                                     "--threads", "1", "--ranks", "2"],
                                    capture_output=True, text=True, timeout=TIMEOUT_S,
                                    stdin=subprocess.DEVNULL, env=dict(os.environ, TMPDIR=tmp))
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        import json
        lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        self.assertEqual([line["epoch"] for line in lines], [1, 2])  # rank 0 alone prints
        for line in lines:
            self.assertEqual(line["ranks"], 2)
            for key in ("train_loss", "valid_loss"):
                ours, theirs = line["rnnwave"][key], line[key]
                self.assertLess(abs(ours - theirs), 1e-5 * abs(ours), f"epoch {line['epoch']} {key}")

    def check_real_task(self, name, probe, args):
        if not os.path.exists(os.path.join(DATA_DIR, probe)):
            self.skipTest(f"no {probe} in {DATA_DIR}")
        runs = []
        for ranks in (1, 2):
            out = os.path.join(self.root, f"{name}{ranks}")
            self.run_ok(ranks, [*args, "--data", DATA_DIR, "--shards", "4", "--epochs", "2",
                                "--threads", "1", "--out", out])
            runs.append(out)
        self.assert_same_run(*runs)

    def test_digits_on_two_ranks_gives_the_same_bits(self):
        self.check_real_task("digits", os.path.join("fsdd", "recordings"),
                             ["--task", "digits", "--hidden-size", "12", "--layers", "1",
                              "--max-train", "96", "--max-eval", "30", "--batch-size", "16"])

    def test_wikitext2_on_two_ranks_gives_the_same_bits(self):
        self.check_real_task("wikitext2", os.path.join("wikitext-2", "wiki.train.tokens"),
                             ["--task", "wikitext2", "--hidden-size", "12", "--embedding-size", "12",
                              "--layers", "1", "--max-train", "3000", "--max-eval", "500",
                              "--batch-size", "8", "--bptt", "10"])

    def test_two_rank_checkpoint_resumes_in_one_process(self):
        out = os.path.join(self.root, "resumed")
        self.run_ok(2, [*SYNTHETIC, "--shards", "4", "--stop-after", "1", "--out", out])
        self.assertEqual(len(read_metrics(out)), 1)
        self.run_ok(1, ["--resume", out, "--threads", "2"])
        self.assert_same_run(self.one, out)

    def test_one_process_checkpoint_resumes_on_four_ranks(self):
        out = os.path.join(self.root, "resumed_on_4")
        self.run_ok(1, [*SYNTHETIC, "--shards", "4", "--stop-after", "1", "--out", out])
        self.run_ok(4, ["--resume", out, "--shards", "4"])
        self.assert_same_run(self.one, out)

    def test_existing_run_refused_by_rank_0(self):
        before = read_metrics(self.one)
        result = self.launch(2, [*SYNTHETIC, "--shards", "4", "--out", self.one])
        self.assertNotEqual(result.returncode, 0)
        lines = [line for line in result.stderr.splitlines() if line.startswith("rnnwave:")]
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertIn("rnnwave: error: rank 0: ", lines[0])
        self.assertIn("already holds a run", lines[0])
        self.assertEqual(read_metrics(self.one), before)

    def test_bad_shard_counts_and_differing_ranks_refused(self):
        out = os.path.join(self.root, "never")
        self.assert_refused(2, [*SYNTHETIC, "--shards", "3", "--out", out],
                            ["--shards 3 is not a multiple of the 2 ranks"], out)
        self.assert_refused(2, [*SYNTHETIC, "--out", out],
                            ["--shards 1 is not a multiple of the 2 ranks"], out)
        self.assert_refused(2, [*SYNTHETIC, "--shards", "18", "--out", out],
                            ["shards (18)", "batch_size (16)"], out)
        # Two ranks with different learning rates: the handshake names the flags.
        args = [*SYNTHETIC, "--shards", "2", "--out", out]
        self.assert_disagreement(["train", *args], ["train", *changed(args, lr="0.02")],
                                 "'--lr': '0.01' on rank 0, '0.02' on rank 1")
        self.assertFalse(os.path.exists(out))

    def assert_disagreement(self, first, second, names):
        """Rank 0 runs `first`, rank 1 `second`: one line from rank 0, "ranks disagree on
        <names>", and a non-zero exit. Returns the run."""
        command = mpi_cases.launch_command(LAUNCHER, 1, RNNWAVE, first)
        command += [":", "-np", "1", RNNWAVE, *second]
        with tempfile.TemporaryDirectory(prefix="rnnwave-mpi-") as tmp:
            result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S,
                                    stdin=subprocess.DEVNULL, env=dict(os.environ, TMPDIR=tmp))
        self.assertNotEqual(result.returncode, 0)
        lines = [line for line in result.stderr.splitlines() if line.startswith("rnnwave:")]
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertIn("ranks disagree on " + names, lines[0])
        return result


def rank_pid(tag, rank):
    """The pid of rank `rank` of the job whose environment holds RNNWAVE_TEST_TAG=tag."""
    tag_variable = f"RNNWAVE_TEST_TAG={tag}".encode()
    ranks = {f"OMPI_COMM_WORLD_RANK={rank}".encode(), f"PMI_RANK={rank}".encode()}  # Open MPI, MPICH
    for path in glob.glob("/proc/[0-9]*/environ"):
        try:
            with open(path, "rb") as f:
                variables = set(f.read().split(b"\0"))
            with open(path.replace("environ", "comm"), "rb") as f:
                name = f.read().strip()
        except OSError:
            continue
        if name == b"rnnwave" and tag_variable in variables and ranks & variables:
            return int(path.split("/")[2])
    return None


class TrainMpiFaultTest(unittest.TestCase):
    """A long run on 2 ranks, one of which is stopped or killed once training has begun."""

    def run_with_fault(self, fault):
        root = tempfile.mkdtemp(prefix="rnnwave-train-mpi-fault-")
        out = os.path.join(root, "run")
        tag = uuid.uuid4().hex
        args = [*changed(SYNTHETIC, synthetic_train="2000", epochs="1000"), "--shards", "2",
                "--rank-timeout", "5", "--out", out]
        command = mpi_cases.launch_command(LAUNCHER, 2, RNNWAVE, ["train", *args])
        env = dict(os.environ, TMPDIR=root, OMP_NUM_THREADS="1", RNNWAVE_TEST_TAG=tag)
        job = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        try:
            # Training has begun once the first epoch's checkpoint is there.
            deadline = time.monotonic() + TIMEOUT_S
            while not os.path.exists(os.path.join(out, "metrics.jsonl")) or \
                    os.path.getsize(os.path.join(out, "metrics.jsonl")) == 0:
                self.assertIsNone(job.poll(), "the job ended before its first epoch")
                self.assertLess(time.monotonic(), deadline, "no epoch finished")
                time.sleep(0.1)
            pid = rank_pid(tag, 1)
            self.assertIsNotNone(pid, "rank 1's process not found")
            os.kill(pid, fault)
            faulted = time.monotonic()
            _, stderr = job.communicate(timeout=TIMEOUT_S)
            return job.returncode, stderr, time.monotonic() - faulted
        finally:
            if job.poll() is None:
                os.killpg(job.pid, signal.SIGKILL)
                job.wait()
            shutil.rmtree(root, ignore_errors=True)

    def test_rank_that_stops_answering_ends_the_job(self):
        status, stderr, seconds = self.run_with_fault(signal.SIGSTOP)
        self.assertNotEqual(status, 0)
        self.assertIn("rnnwave: error: rank 0: no answer from rank 1 for 5 s while combining bucket", stderr)
        self.assertLess(seconds, 30, "the job outlived the deadline by far")

    def test_rank_that_dies_ends_the_job(self):
        status, _, seconds = self.run_with_fault(signal.SIGKILL)
        self.assertNotEqual(status, 0)  # the launcher reports it in its own words
        self.assertLess(seconds, 30)


def parse_options():
    """Sets RNNWAVE, LAUNCHER and DATA_DIR from the command line; returns the arguments
    left for unittest."""
    global RNNWAVE, LAUNCHER, DATA_DIR
    parser = argparse.ArgumentParser()
    parser.add_argument("--rnnwave", required=True)
    parser.add_argument("--launcher", required=True)
    parser.add_argument("--data-dir", help="folder holding fsdd/ and wikitext-2/ (default: "
                                           "$RNNWAVE_DATA_DIR, else ../shared/data beside the source tree)")
    options, rest = parser.parse_known_args()
    RNNWAVE = os.path.abspath(options.rnnwave)
    LAUNCHER = options.launcher
    DATA_DIR = os.path.abspath(options.data_dir or os.environ.get("RNNWAVE_DATA_DIR")
                               or os.path.join(os.path.dirname(SOURCE_DIR), "shared", "data"))
    return rest


def main():
    rest = parse_options()
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
