#!/usr/bin/env python3
"""`rnnwave train`, `eval` and `predict` end to end, at tiny sizes (well under a minute on
two cores).

Checked:
  - a synthetic run of 2 epochs: the training loss falls; metrics.jsonl has one object per
    epoch with every field; curves.png is a PNG; config.json, initial.npz, model.npz exist;
  - a run stopped after epoch 1 (--stop-after 1) and continued with --resume (on one thread,
    sequential schedule) ends with the same metrics (every field but the timings) and a
    bit-identical model.npz and checkpoint.npz (but the history's timings) as the
    uninterrupted run;
  - refusals, each one line on stderr and a non-zero exit: an existing run directory without
    --resume, a truncated or corrupt checkpoint, settings changed on --resume, bad values;
  - --shards: --shards 1 gives the same checkpoint and metrics as no --shards (the whole
    batch, as before); --shards 3 trains (finite, falling loss) with "shards": 3 in
    config.json and the checkpoint, and resumes with the same count only; bad counts
    refused;
  - eval prints a score (text and --json); eval and predict of a run stopped in its first
    epoch say on stderr that they use the initial weights;
  - with torch: bench/train/pytorch_train.py, trained on --export-data's batches from the
    run's initial.npz, ends each epoch with rnnwave's losses (to float32 rounding);
  - with the FSDD data (--data-dir, else $RNNWAVE_DATA_DIR, else ../shared/data beside the
    source tree; skipped when absent): a short digits training on 300 utterances whose loss
    falls (the CI smoke training), then predict on a test recording.

    python3 train_cli_test.py --rnnwave build/rnnwave [--data-dir DIR] [unittest options]
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np

RNNWAVE = None  # from --rnnwave
SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA_DIR = None  # from --data-dir / the environment
TIMEOUT_S = 60
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
METRIC_FIELDS = {"task", "epoch", "train_loss", "valid_loss", "valid_accuracy",
                 "valid_perplexity", "learning_rate", "train_seconds", "items_per_second"}
TIMING_FIELDS = {"train_seconds", "items_per_second"}

# The adding problem at a tiny size: 16 batches of 16 sequences of 12 steps per epoch.
SYNTHETIC = ["--task", "synthetic", "--cell", "gru", "--hidden-size", "8", "--layers", "1",
             "--synthetic-steps", "12", "--synthetic-train", "256", "--synthetic-eval", "64",
             "--batch-size", "16", "--optimizer", "adam", "--lr", "0.01", "--seed", "5",
             "--threads", "2"]


def synthetic(**changes):
    """SYNTHETIC with flags changed: lr="-1" sets --lr -1 (as --lr=-1)."""
    args = list(SYNTHETIC)
    for name, value in changes.items():
        flag = "--" + name.replace("_", "-")
        if flag in args:
            i = args.index(flag)
            del args[i:i + 2]
        args.append(f"{flag}={value}")
    return args


def read_metrics(run_dir):
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f]


def npz_arrays(path):
    with np.load(path) as archive:
        return {key: archive[key] for key in archive.files}


def same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


class TrainCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="rnnwave-train-cli-")
        cls.full = os.path.join(cls.root, "full")
        cls.full_log = cls.run_ok([*SYNTHETIC, "--epochs", "2", "--out", cls.full]).stderr

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)

    # ---- helpers -----------------------------------------------------------------------

    @staticmethod
    def tool(command, args, timeout=TIMEOUT_S):
        return subprocess.run([RNNWAVE, command, *args], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=timeout)

    @classmethod
    def run_ok(cls, args, command="train"):
        result = cls.tool(command, args)
        if result.returncode != 0:
            raise AssertionError(f"rnnwave {command} {' '.join(args)} failed "
                                 f"({result.returncode}): {result.stderr}")
        return result

    def assert_refused(self, args, words, command="train"):
        """Exit status > 0, one line on stderr starting 'rnnwave: error:' and holding every
        one of `words`."""
        result = self.tool(command, args)
        self.assertGreater(result.returncode, 0, f"{args}: {result.stderr!r}")
        lines = result.stderr.splitlines()
        self.assertEqual(len(lines), 1, f"{args}: expected one line, got {result.stderr!r}")
        self.assertTrue(lines[0].startswith("rnnwave: error: "), lines[0])
        for word in words:
            self.assertIn(word, lines[0])
        return lines[0]

    def copy_run(self, name):
        path = os.path.join(self.root, name)
        shutil.copytree(self.full, path)
        return path

    # ---- training ----------------------------------------------------------------------

    def test_synthetic_run_files(self):
        metrics = read_metrics(self.full)
        self.assertEqual([m["epoch"] for m in metrics], [1, 2])
        for m in metrics:
            self.assertEqual(set(m), METRIC_FIELDS)
            self.assertEqual(m["task"], "synthetic")
            for key in ("train_loss", "valid_loss", "valid_accuracy", "learning_rate"):
                self.assertTrue(math.isfinite(m[key]), f"{key} = {m[key]}")
            self.assertIsNone(m["valid_perplexity"])  # NaN for this task
        self.assertLess(metrics[1]["train_loss"], metrics[0]["train_loss"])
        # Not a terminal: plain lines, one per epoch, no progress bar.
        self.assertNotIn("\r", self.full_log)
        self.assertRegex(self.full_log, r"(?m)^epoch 1/2: train loss [0-9.]+  valid loss ")
        self.assertRegex(self.full_log, r"(?m)^epoch 2/2: train loss [0-9.]+  valid loss ")
        with open(os.path.join(self.full, "curves.png"), "rb") as f:
            png = f.read()
        self.assertTrue(png.startswith(PNG_SIGNATURE))
        self.assertEqual(png[12:16], b"IHDR")
        with open(os.path.join(self.full, "config.json")) as f:
            config = json.load(f)
        self.assertEqual((config["task"], config["cell"], config["hidden_size"], config["epochs"]),
                         ("synthetic", "gru", 8, 2))
        initial = npz_arrays(os.path.join(self.full, "initial.npz"))
        final = npz_arrays(os.path.join(self.full, "model.npz"))
        self.assertEqual(sorted(initial), sorted(final))
        self.assertIn("rnn.weight_ih_l0", final)
        self.assertTrue(any(key.startswith("head.") for key in final))
        self.assertFalse(all(same_bits(initial[k], final[k]) for k in final))
        self.assertFalse([n for n in os.listdir(self.full) if n.startswith(".") or "tmp" in n])

    def test_resume_is_bit_exact(self):
        part = os.path.join(self.root, "part")
        self.run_ok([*SYNTHETIC, "--epochs", "2", "--stop-after", "1", "--out", part])
        self.assertEqual(len(read_metrics(part)), 1)
        # Resumed at another thread count and schedule: neither changes any number.
        self.run_ok(["--resume", part, "--threads", "1", "--schedule", "sequential"])
        full, resumed = read_metrics(self.full), read_metrics(part)
        self.assertEqual(len(resumed), 2)
        for a, b in zip(full, resumed):
            for key in METRIC_FIELDS - TIMING_FIELDS:
                self.assertEqual(repr(a[key]), repr(b[key]), f"epoch {a['epoch']} {key}")
        a = npz_arrays(os.path.join(self.full, "model.npz"))
        b = npz_arrays(os.path.join(part, "model.npz"))
        self.assertEqual(sorted(a), sorted(b))
        for key in a:
            self.assertTrue(same_bits(a[key], b[key]), f"model.npz {key} differs")
        # The checkpoints: parameters, optimizer and schedule state, config, counters bit for
        # bit; the history too, but for its timing columns (train_seconds, items_per_second).
        a = npz_arrays(os.path.join(self.full, "checkpoint.npz"))
        b = npz_arrays(os.path.join(part, "checkpoint.npz"))
        self.assertEqual(sorted(a), sorted(b))
        self.assertTrue(any(key.startswith("param/") for key in a))
        self.assertTrue(any(key.startswith("optimizer/") for key in a))
        for key in a:
            x, y = (a[key][:, :6], b[key][:, :6]) if key == "history" else (a[key], b[key])
            self.assertTrue(same_bits(np.ascontiguousarray(x), np.ascontiguousarray(y)),
                            f"checkpoint.npz {key} differs")
        # Asking for more epochs than done continues; the same total again does nothing.
        self.run_ok(["--resume", part, "--epochs", "3"])
        self.assertEqual([m["epoch"] for m in read_metrics(part)], [1, 2, 3])
        result = self.run_ok(["--resume", part, "--epochs", "3"])
        self.assertIn("already has 3 epochs", result.stderr)

    def assert_same_checkpoints(self, run_a, run_b):
        """Every member of the two checkpoints bit for bit, but the history's timings."""
        a = npz_arrays(os.path.join(run_a, "checkpoint.npz"))
        b = npz_arrays(os.path.join(run_b, "checkpoint.npz"))
        self.assertEqual(sorted(a), sorted(b))
        for key in a:
            x, y = (a[key][:, :6], b[key][:, :6]) if key == "history" else (a[key], b[key])
            self.assertTrue(same_bits(np.ascontiguousarray(x), np.ascontiguousarray(y)),
                            f"checkpoint.npz {key} differs")

    def test_one_shard_is_the_whole_batch(self):
        one = os.path.join(self.root, "one_shard")
        self.run_ok([*SYNTHETIC, "--epochs", "2", "--shards", "1", "--out", one])
        self.assert_same_checkpoints(self.full, one)
        for a, b in zip(read_metrics(self.full), read_metrics(one)):
            for key in METRIC_FIELDS - TIMING_FIELDS:
                self.assertEqual(repr(a[key]), repr(b[key]), f"epoch {a['epoch']} {key}")
        with open(os.path.join(one, "config.json")) as f:
            self.assertEqual(json.load(f)["shards"], 1)

    def test_sharded_run_and_resume(self):
        run = os.path.join(self.root, "three_shards")
        self.run_ok([*SYNTHETIC, "--epochs", "2", "--shards", "3", "--stop-after", "1", "--out", run])
        with open(os.path.join(run, "config.json")) as f:
            self.assertEqual(json.load(f)["shards"], 3)
        config = json.loads(npz_arrays(os.path.join(run, "checkpoint.npz"))["config"].tobytes())
        self.assertEqual(config["shards"], 3)
        self.assert_refused(["--resume", run, "--shards", "2"],
                            ["--shards 2", "--shards 3", "cannot change"])
        self.assertEqual(len(read_metrics(run)), 1)
        self.run_ok(["--resume", run, "--shards", "3"])
        metrics = read_metrics(run)
        self.assertEqual([m["epoch"] for m in metrics], [1, 2])
        for m in metrics:
            self.assertTrue(math.isfinite(m["train_loss"]) and math.isfinite(m["valid_loss"]))
        self.assertLess(metrics[1]["train_loss"], metrics[0]["train_loss"])
        # The same math as the whole batch, summed in another order: close, not equal.
        whole = read_metrics(self.full)
        self.assertAlmostEqual(metrics[0]["train_loss"], whole[0]["train_loss"], delta=1e-4)
        # And the same run again gives the same bits.
        again = os.path.join(self.root, "three_shards_again")
        self.run_ok([*SYNTHETIC, "--epochs", "2", "--shards", "3", "--out", again])
        self.assert_same_checkpoints(run, again)

    def test_bad_shards_refused(self):
        out = os.path.join(self.root, "never_sharded")
        self.assert_refused([*SYNTHETIC, "--shards", "0", "--out", out], ["--shards", "0"])
        self.assert_refused([*SYNTHETIC, "--shards", "17", "--out", out],
                            ["shards (17)", "batch_size (16)"])
        self.assert_refused([*SYNTHETIC, "--shards", "two", "--out", out], ["--shards", "two"])
        self.assert_refused([*SYNTHETIC, "--shards", "2", "--shards", "2", "--out", out],
                            ["--shards given twice"])
        # --rank-timeout is for runs under mpirun, and a positive number of seconds.
        self.assert_refused([*SYNTHETIC, "--rank-timeout", "5", "--out", out], ["--rank-timeout", "mpirun"])
        self.assert_refused([*SYNTHETIC, "--rank-timeout", "0", "--out", out], ["--rank-timeout", "0"])
        self.assert_refused([*SYNTHETIC, "--rank-timeout", "nan", "--out", out], ["--rank-timeout", "nan"])
        self.assertFalse(os.path.exists(out))

    # ---- refusals ----------------------------------------------------------------------

    def test_existing_run_dir_refused(self):
        before = read_metrics(self.full)
        self.assert_refused([*SYNTHETIC, "--epochs", "1", "--out", self.full],
                            ["already holds a run", "--resume"])
        self.assertEqual(read_metrics(self.full), before)

    def test_truncated_checkpoint_refused(self):
        run = self.copy_run("truncated")
        checkpoint = os.path.join(run, "checkpoint.npz")
        with open(checkpoint, "rb") as f:
            data = f.read()
        with open(checkpoint, "wb") as f:
            f.write(data[:len(data) // 2])
        self.assert_refused(["--resume", run, "--epochs", "3"], ["checkpoint.npz"])
        self.assert_refused(["--model", run], ["checkpoint.npz"], command="eval")
        with open(checkpoint, "wb") as f:
            f.write(b"not a checkpoint at all" * 10)
        self.assert_refused(["--resume", run, "--epochs", "3"], ["checkpoint.npz"])
        self.assertEqual(len(read_metrics(run)), 2)  # nothing was rewritten

    def test_bad_commands_refused(self):
        out = os.path.join(self.root, "never")
        self.assert_refused(["--task", "chess", "--out", out], ["--task", "chess"])
        self.assert_refused([*synthetic(lr=-1), "--out", out], ["learning_rate", "-1"])
        self.assert_refused([*synthetic(cell="lstmx"), "--out", out], ["--cell", "lstmx"])
        self.assert_refused([*synthetic(epochs="two"), "--out", out], ["--epochs", "two"])
        self.assert_refused([*synthetic(threads=-3), "--out", out], ["--threads", "-3"])
        self.assert_refused([*synthetic(hidden_size=0), "--out", out], ["--hidden-size", "0"])
        self.assert_refused([*synthetic(seed=-1), "--out", out], ["--seed"])
        self.assert_refused([*synthetic(lr_schedule="sometimes"), "--out", out],
                            ["--lr-schedule", "sometimes"])
        self.assert_refused([*SYNTHETIC, "--out", out, "--resume", self.full], ["--resume"])
        self.assert_refused([*SYNTHETIC], ["--out"])
        self.assert_refused(["--out", out], ["--task"])
        self.assert_refused(["--resume", self.full, "--lr", "0.1"], ["--lr", "--resume"])
        self.assert_refused(["--resume", self.full, "--epochs", "1"], ["--epochs 1", "below"])
        self.assert_refused(["--resume", os.path.join(self.root, "nothing")], ["nothing"])
        self.assertFalse(os.path.exists(out))
        self.assert_refused(["--model", self.full, "--split", "train"], ["--split"],
                            command="eval")
        self.assert_refused(["--model", self.full, "x.wav"], ["synthetic", "digits"],
                            command="predict")

    # ---- eval --------------------------------------------------------------------------

    def test_eval_prints_score(self):
        text = self.run_ok(["--model", self.full, "--threads", "1"], command="eval").stdout
        self.assertRegex(text, r"^synthetic test: accuracy [0-9.]+% \(loss [0-9.]+, 64 sequences\)\n$")
        line = self.run_ok(["--model", self.full, "--split", "validation", "--json"],
                           command="eval").stdout
        score = json.loads(line)
        self.assertEqual((score["task"], score["split"], score["epochs"], score["items"]),
                         ("synthetic", "validation", 2, 64))
        self.assertTrue(math.isfinite(score["loss"]) and 0 <= score["accuracy"] <= 1)
        # The validation score is the one of the last epoch.
        self.assertAlmostEqual(score["loss"], read_metrics(self.full)[-1]["valid_loss"], places=5)

    def test_eval_of_a_run_stopped_in_its_first_epoch_says_so(self):
        """A run writes its checkpoint before epoch 1; one killed in epoch 1 is scored (on
        its initial weights) with a note saying so, not as if it were trained."""
        run = os.path.join(self.root, "stopped-in-epoch-1")
        # Large enough that epoch 1 lasts well beyond the checkpoint written before it.
        train = subprocess.Popen([RNNWAVE, "train", *synthetic(synthetic_train="400000"),
                                  "--epochs", "1", "--out", run],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            checkpoint = os.path.join(run, "checkpoint.npz")
            deadline = time.monotonic() + TIMEOUT_S
            while not os.path.exists(checkpoint) and train.poll() is None:
                self.assertLess(time.monotonic(), deadline, "no checkpoint before epoch 1")
                time.sleep(0.02)
            self.assertIsNone(train.poll(), "the run ended before it could be stopped")
        finally:
            train.kill()
            train.wait()
        result = self.run_ok(["--model", run, "--json"], command="eval")
        self.assertEqual(json.loads(result.stdout)["epochs"], 0)
        self.assertRegex(result.stderr, r"^rnnwave: note: .*stopped-in-epoch-1 has not finished "
                                        r"an epoch: this scores its initial, untrained weights")
        self.assertEqual(len(result.stderr.splitlines()), 1)
        trained = self.run_ok(["--model", self.full, "--json"], command="eval")
        self.assertEqual(trained.stderr, "")

    def test_eval_in_bf16_scores_close_to_fp32(self):
        self.assert_refused(["--model", self.full, "--precision", "half"],
                            ["--precision", "'half'", "fp32, bf16"], command="eval")
        with open("/proc/cpuinfo") as f:
            if "avx512_bf16" not in f.read():
                self.skipTest("this CPU lacks AVX512-BF16")
        scores = {p: json.loads(self.run_ok(["--model", self.full, "--json", "--precision", p],
                                            command="eval").stdout)
                  for p in ("fp32", "bf16")}
        # bf16 rounds every product input to 8 significant bits: the mean loss moves by
        # about that relative amount, not more.
        self.assertNotEqual(scores["bf16"]["loss"], scores["fp32"]["loss"])
        self.assertLess(abs(scores["bf16"]["loss"] - scores["fp32"]["loss"]),
                        0.02 * abs(scores["fp32"]["loss"]))
        self.assertEqual(scores["bf16"]["items"], scores["fp32"]["items"])

    # ---- the PyTorch twin (needs torch) -------------------------------------------------

    def test_pytorch_twin_agrees(self):
        """--export-data and bench/train/pytorch_train.py: the same model trained in PyTorch
        on the same batches ends each epoch with the same losses (to float32 rounding), which
        also checks that the export follows the Trainer's data order."""
        try:
            import torch  # noqa: F401
        except ImportError:
            self.skipTest("no torch")
        run = os.path.join(self.root, "twin")
        data = os.path.join(self.root, "twin-data.npz")
        self.run_ok([*synthetic(bidirectional="true", pooling="mean"), "--epochs", "2",
                     "--out", run, "--export-data", data])
        script = os.path.join(SOURCE_DIR, "bench", "train", "pytorch_train.py")
        result = subprocess.run([sys.executable, script, "--run", run, "--data", data,
                                 "--threads", "2", "--test"], capture_output=True, text=True,
                                timeout=TIMEOUT_S)
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        test = lines.pop()
        self.assertEqual([line["epoch"] for line in lines], [1, 2])
        # --test scores the test split as `rnnwave eval` does, after the last epoch.
        score = json.loads(self.run_ok(["--model", run, "--json"], command="eval").stdout)
        self.assertEqual((test["split"], score["split"], test["epochs"]), ("test", "test", 2))
        self.assertLess(abs(test["loss"] - score["loss"]), 1e-5 * abs(score["loss"]),
                        f"test loss: torch {test['loss']}, rnnwave {score['loss']}")
        for line in lines:
            for key in ("train_loss", "valid_loss"):
                ours = line["rnnwave"][key]
                self.assertLess(abs(line[key] - ours), 1e-5 * abs(ours),
                                f"epoch {line['epoch']} {key}: torch {line[key]}, rnnwave {ours}")

    # ---- digits (needs the FSDD data) --------------------------------------------------

    def test_digits_smoke_training_and_predict(self):
        fsdd = os.path.join(DATA_DIR, "fsdd", "recordings")
        if not os.path.isdir(fsdd):
            self.skipTest(f"no FSDD data in {DATA_DIR}")
        run = os.path.join(self.root, "digits")
        self.run_ok(["--task", "digits", "--data", DATA_DIR, "--max-train", "300",
                     "--max-eval", "100", "--cell", "gru", "--hidden-size", "32",
                     "--layers", "1", "--batch-size", "16", "--lr", "0.005", "--epochs", "3",
                     "--threads", "2", "--out", run])
        metrics = read_metrics(run)
        self.assertEqual(len(metrics), 3)
        self.assertLess(metrics[-1]["train_loss"], metrics[0]["train_loss"])
        wav = os.path.join(fsdd, "3_jackson_0.wav")  # take 0: a test recording
        text = self.run_ok(["--model", run, wav], command="predict").stdout
        self.assertRegex(text, r"^[0-9] \(probability [01]\.[0-9]{3}\)\n$")
        prediction = json.loads(self.run_ok(["--model", run, "--json", wav],
                                            command="predict").stdout)
        self.assertEqual(len(prediction["probabilities"]), 10)
        self.assertAlmostEqual(sum(prediction["probabilities"]), 1.0, places=5)
        self.assertEqual(prediction["digit"], int(np.argmax(prediction["probabilities"])))
        self.assert_refused(["--model", run, os.path.join(self.root, "missing.wav")],
                            ["missing.wav"], command="predict")


def main():
    global RNNWAVE, DATA_DIR
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rnnwave", required=True, help="path of the rnnwave binary")
    parser.add_argument("--data-dir", help="folder holding fsdd/ (default: $RNNWAVE_DATA_DIR, "
                                           "else ../shared/data beside the source tree)")
    args, rest = parser.parse_known_args()
    RNNWAVE = os.path.abspath(args.rnnwave)
    DATA_DIR = (args.data_dir or os.environ.get("RNNWAVE_DATA_DIR")
                or os.path.join(os.path.dirname(SOURCE_DIR), "shared", "data"))
    unittest.main(argv=[sys.argv[0]] + rest)


if __name__ == "__main__":
    main()
