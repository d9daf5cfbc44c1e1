#!/usr/bin/python3
"""bench/report.py and bench/run_grid.py's selection: rounds of a grid compared round by
round, a re-run replacing its configurations of an earlier file, the memory table's split
by kind, and --only's names checked.

    /usr/bin/python3 tests/bench/report_test.py --source DIR
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import unittest

ARGS = None

CONFIG = dict(cell="lstm", layers=4, bidirectional=True, hidden=1024, batch=64, mode="inference")
KEY = ("inference", "lstm", True, 4, 1024, 64)


def bench_module(name):
    sys.path.insert(0, os.path.join(ARGS.source, "bench"))
    return __import__(name)


def record(runner, threads, ms, round_=None, config=CONFIG):
    r = {"runner": runner, "requested_threads": threads, "median_ms": ms, "config": config}
    if round_ is not None:
        r["round"] = round_
    return r


def write(directory, name, rows):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    return path


class InTemporaryDirectory(unittest.TestCase):
    def setUp(self):
        self.report = bench_module("report")
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()


class Rounds(InTemporaryDirectory):
    def test_onednn_takes_the_better_propagation_within_each_round(self):
        path = write(self.dir.name, "g.jsonl", [
            record("onednn", 1, 10.0, 1), record("onednn_fwdtrain", 1, 8.0, 1),
            record("onednn", 1, 7.0, 2), record("onednn_fwdtrain", 1, 9.0, 2)])
        self.assertEqual(self.report.load([path])[KEY][("onednn", 1)], {1: 8.0, 2: 7.0})

    def test_records_without_a_round_are_round_one(self):
        path = write(self.dir.name, "g.jsonl", [record("rnnwave_wavefront", 1, 5.0)])
        self.assertEqual(self.report.load([path])[KEY][("rnnwave_wavefront", 1)], {1: 5.0})

    def test_a_later_file_replaces_its_runs_only(self):
        other = dict(CONFIG, cell="gru")
        first = write(self.dir.name, "a.jsonl", [
            record("rnnwave_wavefront", 1, 50.0), record("rnnwave_wavefront", 2, 30.0),
            record("rnnwave_wavefront", 1, 60.0, config=other)])
        rerun = write(self.dir.name, "b.jsonl", [
            record("rnnwave_wavefront", 1, 40.0, 1), record("rnnwave_wavefront", 1, 44.0, 2)])
        rounds = self.report.load([first, rerun])
        self.assertEqual(rounds[KEY][("rnnwave_wavefront", 1)], {1: 40.0, 2: 44.0})
        self.assertEqual(rounds[KEY][("rnnwave_wavefront", 2)], {1: 30.0}, "not re-run: kept")
        self.assertEqual(rounds[("inference", "gru", True, 4, 1024, 64)][("rnnwave_wavefront", 1)],
                         {1: 60.0})
        self.assertEqual(self.report.medians(rounds)[KEY][("rnnwave_wavefront", 1)], 42.0)

    def test_ratios_pair_the_runs_of_one_round_against_the_best_peer(self):
        slots = {("rnnwave_wavefront", 2): {1: 10.0, 2: 20.0, 3: 5.0},
                 ("onednn", 2): {1: 12.0, 2: 18.0},
                 ("pytorch", 2): {1: 11.0}}
        ratios = self.report.round_ratios(slots, [("onednn", 2), ("pytorch", 2)],
                                          ("rnnwave_wavefront", 2))
        self.assertEqual(ratios, [1.1, 0.9])  # round 3 has no peer

    def test_a_tie_counts_as_met_in_every_round_only_when_the_rounds_agree(self):
        rows = [record("rnnwave_wavefront", 1, 10.0, 1), record("onednn", 1, 11.0, 1),
                record("rnnwave_wavefront", 1, 10.0, 2), record("onednn", 1, 9.8, 2)]
        path = write(self.dir.name, "g.jsonl", rows)
        markdown = os.path.join(self.dir.name, "g.md")
        subprocess.run(["/usr/bin/python3", os.path.join(ARGS.source, "bench", "report.py"), path,
                        "--markdown", markdown], check=True)
        with open(markdown) as f:
            text = f.read()
        self.assertIn("| 1T >= oneDNN | 1 of 1 |", text)  # medians: 10.4 against 10.0
        self.assertIn("| 1T >= oneDNN in every round | 0 of 1 |", text)
        self.assertIn("1.04x (0.98-1.10)", text)


TARGET = "training memory <= oneDNN workspace + weights + grads"


class Memory(InTemporaryDirectory):
    def test_the_added_memory_is_split_by_kind_where_the_run_says(self):
        mib = 1 << 20
        ours = {"tool": "rnnwave", "config": CONFIG, "peak_rss_bytes": 14 * mib,
                "rss_before_setup_bytes": 10 * mib,
                "resident_before_setup_bytes": {"anonymous": 2 * mib, "file": 8 * mib},
                "resident_after_bytes": {"anonymous": 5 * mib, "file": 9 * mib}}
        dnnl = {"tool": "onednn", "config": CONFIG, "peak_rss_bytes": 20 * mib,
                "rss_before_setup_bytes": 10 * mib, "workspace_bytes": mib,
                "weights_bytes": 2 * mib, "grad_bytes": 2 * mib}
        lines, met, total = self.report.memory_table(write(self.dir.name, "m.jsonl", [ours, dnnl]))
        self.assertEqual((met, total), ({TARGET: 1}, 1))
        self.assertIn("| 4.0 | 3.0 / 1.0 | 10.0 | 5.0 | 0.80 |", lines[-1])

    def test_runs_with_one_weight_copy_get_their_own_columns_and_count(self):
        mib = 1 << 20
        run = lambda runner, peak: {"tool": "rnnwave", "runner": runner, "config": CONFIG,  # noqa: E731
                                    "peak_rss_bytes": peak * mib, "rss_before_setup_bytes": 10 * mib}
        dnnl = {"tool": "onednn", "runner": "onednn", "config": CONFIG, "peak_rss_bytes": 20 * mib,
                "rss_before_setup_bytes": 10 * mib, "workspace_bytes": mib,
                "weights_bytes": 2 * mib, "grad_bytes": 2 * mib}
        # Two copies over oneDNN's 5 MiB, one copy within it; the order of the file's
        # records does not matter.
        path = write(self.dir.name, "m.jsonl", [run("rnnwave_single_copy", 14), dnnl,
                                                 run("rnnwave_wavefront", 16)])
        lines, met, total = self.report.memory_table(path)
        self.assertEqual((met, total), ({TARGET: 0, TARGET + ", one weight copy": 1}, 1))
        self.assertIn("one weight copy", lines[0])
        self.assertIn("| 6.0 |  | 10.0 | 5.0 | 1.20 | 4.0 | 0.80 |", lines[-1])


class Scaling(InTemporaryDirectory):
    def test_each_thread_count_is_the_median_of_its_rounds(self):
        path = write(self.dir.name, "s.jsonl", [
            record("rnnwave_wavefront", 1, 80.0, 1), record("rnnwave_wavefront", 1, 100.0, 2),
            record("rnnwave_wavefront", 4, 20.0, 1), record("rnnwave_wavefront", 4, 30.0, 2),
            record("onednn", 1, 90.0, 1), record("onednn", 4, 45.0, 1)])
        lines = self.report.scaling_table(path)
        self.assertIn("wave 4T", lines[0])
        # wave: 90 ms at 1T, 25 ms at 4T (medians); oneDNN's best 45 ms.
        self.assertEqual(lines[-1], "| infer lstm bi L4 H1024 N64 | 90.0 | 25.0 | 90.0 | 45.0 | 3.6x | 1.80x |")


class Only(InTemporaryDirectory):
    def run_grid(self, text):
        path = os.path.join(self.dir.name, "only.txt")
        with open(path, "w") as f:
            f.write(text)
        return subprocess.run(["/usr/bin/python3", os.path.join(ARGS.source, "bench", "run_grid.py"),
                               "--out", os.path.join(self.dir.name, "out.jsonl"), "--only", path,
                               "--build", self.dir.name],
                              capture_output=True, text=True)

    def test_names_are_read_with_comments_and_spacing(self):
        run_grid = bench_module("run_grid")
        path = os.path.join(self.dir.name, "only.txt")
        with open(path, "w") as f:
            f.write("# close ones\n\ntraining  lstm bi L4 H1024 N64  # a comment\n")
        self.assertEqual(run_grid.read_only(path, False), {"training lstm bi L4 H1024 N64"})

    def test_runners_leave_out_the_callers_wait_policy(self):
        run_grid = bench_module("run_grid")
        saved = os.environ.get("OMP_WAIT_POLICY")
        os.environ["OMP_WAIT_POLICY"] = "passive"
        try:
            for name in ("rnnwave_wavefront", "onednn", "pytorch"):
                self.assertNotIn("OMP_WAIT_POLICY", run_grid.runner_env(name, ""), name)
            self.assertEqual(run_grid.runner_env("pytorch", "SkylakeX")["OPENBLAS_CORETYPE"], "SkylakeX")
            self.assertEqual(run_grid.runner_env("onednn", "SkylakeX").get("OPENBLAS_CORETYPE"),
                             os.environ.get("OPENBLAS_CORETYPE"))
        finally:
            if saved is None:
                del os.environ["OMP_WAIT_POLICY"]
            else:
                os.environ["OMP_WAIT_POLICY"] = saved

    def test_an_unknown_configuration_is_an_error_before_anything_runs(self):
        result = self.run_grid("training lstm bi L3 H1024 N64\n")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("not a configuration of this grid: 'training lstm bi L3 H1024 N64'",
                      result.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir.name, "out.jsonl")))


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest)


if __name__ == "__main__":
    main()
