#!/usr/bin/env python3
"""`rnnwave train`, `eval` and `predict` against a hostile or unlucky run directory and
data: two runs on one directory, killed writers, edited or damaged run files, a resume
from elsewhere, missing data, bad recordings and text, and divergence. Every refusal is
one line on stderr and a non-zero exit, and leaves the run's files as they were.

The data sets are made by the test (a handful of WAV files in the FSDD layout, a tiny
WikiText-2), so nothing here needs the real data. Well under a minute on two cores.

    python3 run_dir_test.py --rnnwave build/rnnwave [unittest options]
"""
import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import wave

import numpy as np

RNNWAVE = None  # from --rnnwave
TIMEOUT_S = 60

# The adding problem at a tiny size: 16 batches of 16 sequences of 12 steps per epoch.
SYNTHETIC = ["--task", "synthetic", "--cell", "gru", "--hidden-size", "8", "--layers", "1",
             "--synthetic-steps", "12", "--synthetic-train", "256", "--synthetic-eval", "64",
             "--batch-size", "16", "--seed", "5", "--threads", "2"]
RUN_FILES = ["checkpoint.npz", "config.json", "metrics.jsonl", "curves.png", "initial.npz",
             "model.npz"]


def synthetic(**changes):
    """SYNTHETIC with flags changed: layers="0" sets --layers 0 (as --layers=0)."""
    args = list(SYNTHETIC)
    for name, value in changes.items():
        flag = "--" + name.replace("_", "-")
        if flag in args:
            i = args.index(flag)
            del args[i:i + 2]
        args.append(f"{flag}={value}")
    return args


def write_wav(path, samples, rate=8000):
    with wave.open(path, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(np.asarray(samples, dtype="<i2").tobytes())


def tone(hz, count, seed):
    t = np.arange(count) / 8000.0
    noise = np.random.default_rng(seed).uniform(-0.05, 0.05, count)
    return (8000 * (np.sin(2 * np.pi * hz * t) + noise)).astype(np.int16)


def snapshot(directory):
    """Every file's bytes and modification time."""
    state = {}
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                state[name] = (f.read(), os.stat(path).st_mtime_ns)
    return state


class RunDirTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="rnnwave-run-dir-")
        cls.finished = os.path.join(cls.root, "finished")
        cls.run_ok([*SYNTHETIC, "--epochs", "2", "--out", cls.finished])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)

    # ---- helpers -------------------------------------------------------------------------

    @staticmethod
    def tool(command, args, cwd=None, timeout=TIMEOUT_S, preexec_fn=None):
        return subprocess.run([RNNWAVE, command, *args], capture_output=True,
                              stdin=subprocess.DEVNULL, timeout=timeout, cwd=cwd,
                              preexec_fn=preexec_fn)

    @classmethod
    def run_ok(cls, args, command="train", cwd=None):
        result = cls.tool(command, args, cwd=cwd)
        if result.returncode != 0:
            raise AssertionError(f"rnnwave {command} {' '.join(args)} failed "
                                 f"({result.returncode}): {result.stderr.decode(errors='replace')}")
        return result

    def assert_refused(self, args, words, command="train", cwd=None, timeout=TIMEOUT_S):
        """Exit status 1 or 2 (not a signal), one line on stderr starting 'rnnwave: error:'
        and holding every one of `words`, nothing on stdout. Returns the line."""
        result = self.tool(command, args, cwd=cwd, timeout=timeout)
        stderr = result.stderr.decode("utf-8", "replace")
        self.assertIn(result.returncode, (1, 2), f"{args}: exit {result.returncode}: {stderr!r}")
        lines = stderr.splitlines()
        self.assertEqual(len(lines), 1, f"{args}: expected one line, got {stderr[:500]!r}")
        self.assertTrue(lines[0].startswith("rnnwave: error: "), lines[0][:500])
        for word in words:
            self.assertIn(word, lines[0])
        self.assertEqual(result.stdout, b"")
        return lines[0]

    def copy_run(self, name):
        path = os.path.join(self.root, name)
        shutil.copytree(self.finished, path)
        return path

    def checkpoint_arrays(self, run):
        with np.load(os.path.join(run, "checkpoint.npz")) as archive:
            return {key: archive[key] for key in archive.files}

    def write_checkpoint(self, run, arrays):
        with open(os.path.join(run, "checkpoint.npz"), "wb") as f:
            np.savez(f, **arrays)

    # ---- 2. one run directory, one writer -----------------------------------------------

    def test_second_train_on_a_running_directory_is_refused_naming_the_pid(self):
        run = os.path.join(self.root, "busy")
        args = [*synthetic(synthetic_train=4096), "--epochs", "1000", "--out", run]
        first = subprocess.Popen([RNNWAVE, "train", *args], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + TIMEOUT_S
            while not os.path.exists(os.path.join(run, "config.json")):
                self.assertIsNone(first.poll(), "the first run ended early")
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.02)
            before = {name: os.stat(os.path.join(run, name)).st_ino
                      for name in os.listdir(run) if name in RUN_FILES}
            self.assert_refused(["--resume", run], ["in use", f"pid {first.pid}"])
            self.assert_refused([*SYNTHETIC, "--out", run], [run])
            self.assertIsNone(first.poll(), "the first run must still be running")
            after = {name: os.stat(os.path.join(run, name)).st_ino
                     for name in os.listdir(run) if name in before}
            # Only the first run renamed files in (a file may have been replaced by it).
            self.assertEqual(set(after), set(before))
        finally:
            first.kill()
            first.wait()

    # ---- 4. temporary files of killed writers -------------------------------------------

    def test_stale_temporaries_of_the_run_are_removed(self):
        run = self.copy_run("temporaries")
        stale = [".model.npz.tmp.AbC123", ".curves.png.tmp.x1y2z3", ".checkpoint.npz.tmp.Q1w2E3"]
        kept = [".notes.tmp.abcdef", ".model.npz.tmp.toolong1", "model.npz.tmp.AbC123"]
        for name in stale + kept:
            with open(os.path.join(run, name), "wb") as f:
                f.write(b"x" * 1000)
        self.run_ok(["--resume", run, "--epochs", "3"])
        names = os.listdir(run)
        for name in stale:
            self.assertNotIn(name, names)
        for name in kept:
            self.assertIn(name, names)
        # A new run in a directory that holds only leftovers.
        fresh = os.path.join(self.root, "fresh-leftovers")
        os.mkdir(fresh)
        with open(os.path.join(fresh, ".initial.npz.tmp.zzzzzz"), "wb") as f:
            f.write(b"x")
        self.run_ok([*SYNTHETIC, "--epochs", "1", "--out", fresh])
        self.assertNotIn(".initial.npz.tmp.zzzzzz", os.listdir(fresh))

    # ---- 8. the checkpoint is the source of truth ---------------------------------------

    def test_config_json_does_not_steer_a_resume(self):
        run = self.copy_run("edited-config")
        path = os.path.join(run, "config.json")
        with open(path) as f:
            config = json.load(f)
        config["epochs"] = 10**15
        with open(path, "w") as f:
            json.dump(config, f)
        result = self.run_ok(["--resume", run])
        self.assertIn(b"already has 2 epochs", result.stderr)
        # Without config.json at all, a resume continues to the total last aimed at.
        part = os.path.join(self.root, "aim")
        self.run_ok([*SYNTHETIC, "--epochs", "2", "--stop-after", "1", "--out", part])
        self.run_ok(["--resume", part, "--epochs", "3", "--stop-after", "1"])
        os.remove(os.path.join(part, "config.json"))
        self.run_ok(["--resume", part])
        with open(os.path.join(part, "metrics.jsonl")) as f:
            self.assertEqual([json.loads(line)["epoch"] for line in f], [1, 2, 3])
        with open(os.path.join(part, "config.json")) as f:
            self.assertEqual(json.load(f)["epochs"], 3)

    def test_a_directory_named_config_json_is_named(self):
        run = self.copy_run("config-dir")
        os.remove(os.path.join(run, "config.json"))
        os.mkdir(os.path.join(run, "config.json"))
        before = snapshot(run)
        line = self.assert_refused(["--resume", run, "--epochs", "3"], ["config.json",
                                                                         "not a regular file"])
        self.assertNotIn("basic_filebuf", line)
        self.assertEqual(snapshot(run), before)

    # ---- 9. a resume loads everything before it writes ----------------------------------

    def make_wikitext(self, root):
        corpus = os.path.join(root, "wikitext-2")
        os.makedirs(corpus)
        words = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "far"]
        rng = np.random.default_rng(1)
        for split, lines in [("train", 60), ("valid", 20), ("test", 20)]:
            with open(os.path.join(corpus, f"wiki.{split}.tokens"), "w") as f:
                for _ in range(lines):
                    f.write(" ".join(rng.choice(words, 6)) + "\n")
        return corpus

    def test_resume_from_elsewhere_and_a_failed_resume_writes_nothing(self):
        work = os.path.join(self.root, "lm-work")
        os.makedirs(work)
        self.make_wikitext(os.path.join(work, "data"))
        args = ["--task", "wikitext2", "--data", "data", "--hidden-size", "8",
                "--embedding-size", "8", "--layers", "1", "--bptt", "5", "--batch-size", "4",
                "--threads", "2", "--epochs", "3", "--stop-after", "1", "--out", "lm"]
        self.run_ok(args, cwd=work)
        run = os.path.join(work, "lm")
        # The data folder was given relative to `work`: eval and --resume from elsewhere
        # find it.
        self.run_ok(["--model", run], command="eval", cwd=self.root)
        self.run_ok(["--resume", run, "--stop-after", "1"], cwd=self.root)
        # Without the data, the resume fails before it rewrites anything.
        os.rename(os.path.join(work, "data"), os.path.join(work, "moved"))
        before = snapshot(run)
        self.assert_refused(["--resume", run], ["wikitext-2", "not a directory"], cwd=self.root)
        self.assertEqual(snapshot(run), before)

    # ---- 12. a run stopped in its first epoch, and divergence ----------------------------

    def test_run_failing_in_its_first_epoch_resumes(self):
        # A disk that fills up when the first epoch's checkpoint is written: the file size
        # limit sits just below that checkpoint's size (Adam's state makes it the largest
        # file so far).
        reference = os.path.join(self.root, "one-epoch")
        self.run_ok([*SYNTHETIC, "--epochs", "1", "--out", reference])
        limit = os.path.getsize(os.path.join(reference, "checkpoint.npz")) - 1
        run = os.path.join(self.root, "full-disk")

        def limit_file_size():
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

        result = self.tool("train", [*SYNTHETIC, "--epochs", "1", "--out", run],
                           preexec_fn=limit_file_size)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(b"checkpoint.npz", result.stderr)
        self.assert_refused([*SYNTHETIC, "--epochs", "1", "--out", run], ["--resume"])
        self.run_ok(["--resume", run])
        with open(os.path.join(reference, "metrics.jsonl")) as f:
            expected = [json.loads(line) for line in f]
        with open(os.path.join(run, "metrics.jsonl")) as f:
            resumed = [json.loads(line) for line in f]
        self.assertEqual([m["train_loss"] for m in resumed], [m["train_loss"] for m in expected])
        self.assertEqual([m["valid_loss"] for m in resumed], [m["valid_loss"] for m in expected])

    def test_divergence_says_where_and_what_to_change(self):
        out = os.path.join(self.root, "diverged")
        line = self.assert_refused([*SYNTHETIC, "--optimizer", "sgd", "--lr", "1e30", "--clip", "0",
                                    "--out", out], ["training diverged at epoch 1, batch ",
                                                    "lower learning rate", "--clip"])
        self.assertNotIn("see README", line)

    # ---- 1 and 11: damaged checkpoints --------------------------------------------------

    def test_checkpoint_with_deeply_nested_config_is_refused(self):
        run = self.copy_run("nested")
        arrays = self.checkpoint_arrays(run)
        nested = '{"task": ' * 100000 + "1" + "}" * 100000
        arrays["config"] = np.frombuffer(nested.encode(), dtype=np.uint8)
        self.write_checkpoint(run, arrays)
        for command, args in [("eval", ["--model", run]), ("train", ["--resume", run]),
                              ("predict", ["--model", run, "x.wav"])]:
            with self.subTest(command=command):
                line = self.assert_refused(args, ["checkpoint.npz", "nested deeper than"],
                                           command=command)
                self.assertLess(len(line), 400)

    def test_checkpoint_with_negative_adam_state_is_refused(self):
        run = self.copy_run("negative-adam")
        arrays = self.checkpoint_arrays(run)
        key = next(k for k in arrays if k.endswith("/exp_avg_sq"))
        arrays[key] = arrays[key].copy()
        arrays[key][0] = -1.0
        self.write_checkpoint(run, arrays)
        entry = key[len("optimizer/"):]
        for command, args in [("eval", ["--model", run]), ("train", ["--resume", run, "--epochs", "3"])]:
            with self.subTest(command=command):
                self.assert_refused(args, [f"'{entry}'", "negative"], command=command)

    # ---- 3. memory: what is available, for the whole training state --------------------

    def test_training_state_beyond_available_memory_is_refused_at_once(self):
        # A 1-layer LSTM whose parameters alone take 40% of the memory available: the
        # parameter check of the model passes, the training state (values, gradients, a
        # packed copy, Adam's two buffers: 5x) cannot fit.
        with open("/proc/meminfo") as f:
            available = next(int(line.split()[1]) * 1024 for line in f
                             if line.startswith("MemAvailable:"))
        hidden = int(np.sqrt(0.4 * available / 16))
        out = os.path.join(self.root, "too-big")
        start = time.monotonic()
        self.assert_refused([*synthetic(hidden_size=hidden, cell="lstm"), "--out", out],
                            [f"h{hidden}", "of memory is available", "MemAvailable"])
        self.assertLess(time.monotonic() - start, 10)
        self.assertFalse(os.path.exists(out))

    # ---- 13. messages -------------------------------------------------------------------

    def test_flags_that_do_not_apply_to_the_task_are_refused(self):
        out = os.path.join(self.root, "never")
        self.assert_refused([*SYNTHETIC, "--embedding-size", "5", "--out", out],
                            ["--embedding-size", "--task synthetic", "--task wikitext2"])
        self.assert_refused([*SYNTHETIC, "--bptt", "5", "--out", out], ["--bptt"])
        self.assert_refused([*SYNTHETIC, "--momentum", "0.9", "--out", out],
                            ["--momentum", "--optimizer adam", "--optimizer sgd"])
        self.assert_refused([*SYNTHETIC, "--lr-period", "3", "--out", out],
                            ["--lr-period", "--lr-schedule constant"])
        self.assert_refused([*SYNTHETIC, "--skip-bad-recordings", "--out", out],
                            ["--skip-bad-recordings", "--task digits"])
        self.assert_refused([*synthetic(layers=0), "--out", out], ["--layers", "at least 1"])
        self.assertFalse(os.path.exists(out))

    def test_dangling_symlink_as_out_is_named(self):
        link = os.path.join(self.root, "dangling")
        os.symlink(os.path.join(self.root, "nowhere", "run"), link)
        self.assert_refused([*SYNTHETIC, "--out", link], ["symbolic link", "nowhere/run",
                                                          "does not exist"])

    # ---- 5 and 13: WikiText files -------------------------------------------------------

    def test_wikitext_messages_are_escaped_short_and_name_the_right_file(self):
        data = os.path.join(self.root, "wiki-data")
        corpus = self.make_wikitext(data)
        args = ["--task", "wikitext2", "--data", data, "--hidden-size", "8", "--layers", "1",
                "--bptt", "5", "--batch-size", "4", "--epochs", "1",
                "--out", os.path.join(self.root, "never-lm")]
        valid = os.path.join(corpus, "wiki.valid.tokens")
        with open(valid, "wb") as f:
            f.write(b"the \x1b]0;PWNED\x07 cat\n")
        result = self.tool("train", args)
        self.assertNotIn(b"\x1b", result.stderr)
        self.assertNotIn(b"\x07", result.stderr)
        self.assert_refused(args, ["wiki.valid.tokens line 1", "'\\x1b]0;PWNED\\x07'"])
        with open(valid, "wb") as f:
            f.write(b"the " + b"x" * (30 << 20) + b"\n")
        line = self.assert_refused(args, ["wiki.valid.tokens line 1", "(31457280 bytes)"])
        self.assertLess(len(line), 1000)
        with open(os.path.join(corpus, "wiki.train.tokens"), "wb") as f:
            f.write(b"")
        self.assert_refused(args, ["wiki.train.tokens is empty"])

    def test_data_folder_from_a_checkpoint_is_quoted_escaped(self):
        data = os.path.join(self.root, "wiki-for-eval")
        self.make_wikitext(data)
        run = os.path.join(self.root, "lm-escaped")
        self.run_ok(["--task", "wikitext2", "--data", data, "--hidden-size", "8", "--layers", "1",
                     "--bptt", "5", "--batch-size", "4", "--epochs", "1", "--out", run])
        arrays = self.checkpoint_arrays(run)
        config = json.loads(arrays["config"].tobytes())
        config["data_dir"] = "\x1b]0;PWNED\x07"
        arrays["config"] = np.frombuffer(json.dumps(config).encode(), dtype=np.uint8)
        self.write_checkpoint(run, arrays)
        result = self.tool("eval", ["--model", run])
        self.assertNotIn(b"\x1b", result.stderr)
        self.assert_refused(["--model", run], ["'\\x1b]0;PWNED\\x07/wikitext-2' is not a directory"],
                            command="eval")

    # ---- 10 and 13: recordings ----------------------------------------------------------

    def make_fsdd(self, name, extra=()):
        """A recordings/ folder in the FSDD layout: digits 0-2, two speakers, takes 0 (test)
        and 5-7 (training), 0.2 s tones; `extra` adds (file name, samples)."""
        data = os.path.join(self.root, name)
        recordings = os.path.join(data, "fsdd", "recordings")
        os.makedirs(recordings)
        k = 0
        for digit in range(3):
            for speaker in ("ann", "bob"):
                for take in (0, 5, 6, 7):
                    write_wav(os.path.join(recordings, f"{digit}_{speaker}_{take}.wav"),
                              tone(300 + 400 * digit, 1600, k))
                    k += 1
        for file_name, samples in extra:
            write_wav(os.path.join(recordings, file_name), samples)
        return data

    DIGITS = ["--task", "digits", "--cell", "gru", "--hidden-size", "4", "--layers", "1",
              "--no-bidirectional", "--batch-size", "4", "--epochs", "1", "--threads", "2"]

    def test_short_recordings_are_refused_or_skipped_on_request(self):
        data = self.make_fsdd("fsdd-bad", [("0_cy_8.wav", np.zeros(10, np.int16)),
                                           ("1_cy_8.wav", np.zeros(0, np.int16))])
        out = os.path.join(self.root, "digits-bad")
        line = self.assert_refused([*self.DIGITS, "--data", data, "--out", out],
                                   ["2 of 26 recordings", "0_cy_8.wav' is too short: 10 samples",
                                    "1_cy_8.wav' is too short: 0 samples",
                                    "--skip-bad-recordings"])
        self.assertFalse(os.path.exists(out), line)
        result = self.run_ok([*self.DIGITS, "--data", data, "--skip-bad-recordings", "--out", out])
        self.assertIn(b"left out: FSDD: 2 of 26 recordings", result.stderr)

    def test_predict_refuses_short_and_bad_recordings_naming_each(self):
        data = self.make_fsdd("fsdd-good")
        run = os.path.join(self.root, "digits")
        self.run_ok([*self.DIGITS, "--data", data, "--out", run])
        wavs = os.path.join(self.root, "wavs")
        os.makedirs(wavs)
        good = os.path.join(wavs, "good.wav")
        write_wav(good, tone(700, 1600, 99))
        self.run_ok(["--model", run, good], command="predict")
        short = []
        for samples in (0, 1, 10):
            path = os.path.join(wavs, f"short{samples}.wav")
            write_wav(path, np.zeros(samples, np.int16))
            short.append(path)
            self.assert_refused(["--model", run, path],
                                [f"short{samples}.wav' is too short: {samples} samples"],
                                command="predict")
        rate0 = os.path.join(wavs, "rate0.wav")
        write_wav(rate0, tone(700, 1600, 98))
        with open(rate0, "r+b") as f:
            f.seek(24)  # the format chunk's sample rate
            f.write(b"\0\0\0\0")
        line = self.assert_refused(["--model", run, rate0], ["rate0.wav", "sample rate of 0 Hz"],
                                   command="predict")
        self.assertNotIn("SF_INFO", line)
        # A list with bad files: every bad file named, no prediction printed.
        self.assert_refused(["--model", run, good, short[0], rate0, short[2]],
                            ["3 of 4 files cannot be used", "short0.wav", "rate0.wav",
                             "short10.wav"], command="predict")


def main():
    global RNNWAVE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rnnwave", required=True, help="path of the rnnwave binary")
    args, rest = parser.parse_known_args()
    RNNWAVE = os.path.abspath(args.rnnwave)
    unittest.main(argv=[sys.argv[0]] + rest)


if __name__ == "__main__":
    main()
