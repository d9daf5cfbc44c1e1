#!/usr/bin/env python3
"""rnnwave bench --plan default|auto|search and rnnwave calibrate --key.

No calibration runs here: each test writes a calibration file by hand under the key the
binary reports (`rnnwave calibrate --key`) into a temporary $XDG_CACHE_HOME, so `--plan
auto` must read it and must not measure (it would say so on stderr).

    python3 plan_cli_test.py --rnnwave build/rnnwave [unittest options]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import unittest

RNNWAVE = None
SMALL = ["--cell", "lstm", "--layers", "2", "--hidden-size", "32", "--input-size", "12",
         "--seq-len", "20", "--batch", "3", "--threads", "2"]
LARGE = ["--cell", "lstm", "--layers", "2", "--hidden-size", "256", "--input-size", "256",
         "--seq-len", "100", "--batch", "64", "--threads", "2", "--bidirectional",
         "--mode", "training"]


def calibration_text(key, task_ns_inline, task_ns_threads):
    lines = ["rnnwave calibration 2", "key " + key, "pointwise_ns 1",
             "task_ns_inline %g" % task_ns_inline, "runtime 2 %g %g" % (task_ns_threads, task_ns_threads)]
    for k in (64, 1024):
        for rows in (1, 256):
            lines.append("kernel %d %d %d 50" % (rows, k, 4 * k))
    return "\n".join(lines + ["end"]) + "\n"


def plan_of(result):
    return (result["schedule"], result["threads"], json.dumps(result["decomposition"], sort_keys=True))


class PlanFlag(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.env = dict(os.environ, XDG_CACHE_HOME=self.tmp.name, OMP_WAIT_POLICY="passive")

    def tearDown(self):
        self.tmp.cleanup()

    def run_tool(self, *args, ok=True):
        p = subprocess.run([RNNWAVE, *args], capture_output=True, text=True, env=self.env, timeout=300)
        if ok:
            self.assertEqual(p.returncode, 0, p.stderr)
        return p

    def write_calibration(self, task_ns_inline, task_ns_threads):
        key = self.run_tool("calibrate", "--key").stdout.strip()
        self.assertIn("cpu=", key)
        folder = os.path.join(self.tmp.name, "rnnwave")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "calibration.txt"), "w") as f:
            f.write(calibration_text(key, task_ns_inline, task_ns_threads))

    def candidates(self, flags):
        out = self.run_tool("bench", *flags, "--plan", "search", "--plan-only").stdout
        return [plan_of(json.loads(line)) for line in out.splitlines()]

    def auto_plan(self, flags):
        p = self.run_tool("bench", *flags, "--plan", "auto", "--plan-only")
        self.assertNotIn("calibrating", p.stderr, "the cached calibration must be used")
        self.assertNotIn("note", p.stderr)
        result = json.loads(p.stdout)
        self.assertEqual(result["plan"], "auto")
        self.assertGreater(result["predicted_ms"], 0)
        return result

    def test_auto_reads_the_cache_and_picks_a_candidate(self):
        # Per-task costs that dwarf a small problem's work: one thread, fewest tasks.
        self.write_calibration(1e5, 1e6)
        small = self.auto_plan(SMALL)
        self.assertIn(plan_of(small), self.candidates(SMALL))
        self.assertEqual(small["threads"], 1)
        # Free tasks and large work: both threads.
        self.write_calibration(1, 1)
        large = self.auto_plan(LARGE)
        self.assertIn(plan_of(large), self.candidates(LARGE))
        self.assertEqual(large["threads"], 2)

    def test_default_is_todays_plan(self):
        fixed = json.loads(self.run_tool("bench", *SMALL, "--plan-only").stdout)
        default = json.loads(self.run_tool("bench", *SMALL, "--plan", "default", "--plan-only").stdout)
        self.assertEqual(plan_of(fixed), plan_of(default))
        self.assertEqual(plan_of(fixed), self.candidates(SMALL)[0], "the default plan is the first candidate")

    def test_search_times_every_candidate_and_runs_the_best(self):
        self.write_calibration(1e5, 1e6)
        p = self.run_tool("bench", *SMALL, "--plan", "search", "--search-repeats", "1",
                          "--repeats", "1", "--warmup", "0", "--json")
        self.assertNotIn("calibrating", p.stderr, "the cached calibration must be used")
        result = json.loads(p.stdout)
        self.assertEqual(result["plan"], "search")
        table = result["search"]
        self.assertEqual(sorted(plan_of(r) for r in table), sorted(self.candidates(SMALL)))
        times = [r["median_ms"] for r in table]
        self.assertEqual(times, sorted(times))
        self.assertTrue(all(t > 0 for t in times))
        self.assertEqual(plan_of(result), plan_of(table[0]), "the final run uses the fastest candidate")
        # Beside each measured time, the model's prediction for that plan, as --plan auto
        # would make it: the same number for the plan auto picks.
        predicted = {plan_of(r): r["predicted_ms"] for r in table}
        self.assertTrue(all(ms > 0 for ms in predicted.values()))
        auto = self.auto_plan(SMALL)
        self.assertAlmostEqual(predicted[plan_of(auto)], auto["predicted_ms"], places=6)
        text = self.run_tool("bench", *SMALL, "--plan", "search", "--search-repeats", "1",
                             "--repeats", "1", "--warmup", "0").stdout.splitlines()
        self.assertTrue(text[0].startswith("schedule"))
        self.assertIn("predicted_ms", text[0])
        self.assertEqual(len(text), 1 + len(table) + 1)

    def test_bad_plan_flags_are_refused_in_one_line(self):
        for args in (["--plan", "auto", "--step-block", "4"], ["--plan", "search", "--batch-splits", "2"],
                     ["--plan", "fastest"], ["--plan", "search", "--search-repeats", "0"]):
            p = self.run_tool("bench", *SMALL, *args, ok=False)
            self.assertNotEqual(p.returncode, 0, args)
            self.assertGreater(p.returncode, 0, "an exit, not a signal")
            lines = p.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, p.stderr)
            self.assertIn("--", lines[0])


class BenchMemory(unittest.TestCase):
    def test_the_memory_a_run_adds_is_reported_by_kind(self):
        p = subprocess.run([RNNWAVE, "bench", *LARGE, "--repeats", "1", "--warmup", "0", "--json"],
                           capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, OMP_WAIT_POLICY="passive"))
        self.assertEqual(p.returncode, 0, p.stderr)
        result = json.loads(p.stdout)
        before, after = result["resident_before_setup_bytes"], result["resident_after_bytes"]
        self.assertEqual(sorted(before), ["anonymous", "file"])
        self.assertEqual(sorted(after), ["anonymous", "file"])
        # LARGE's weights: per direction 4H x (I + H) + 8H, I = 256 in layer 0, 512 in layer 1.
        h = 256
        weights = 2 * sum(4 * h * (i + h) + 8 * h for i in (256, 512))
        self.assertGreater(after["anonymous"] - before["anonymous"], 4 * weights,
                           "the model's packed weights, gradients and workspace are still held")
        self.assertGreater(after["file"], 0)

    def test_one_weight_copy_adds_less_memory_and_says_so(self):
        """--single-weight-copy: the packed copy it does not keep, less the spare buffer of
        the largest weight, is missing from the memory a training run adds."""
        def added(*extra):
            flags = [f if f != "64" else "1" for f in LARGE]  # batch 1: mostly weights
            p = subprocess.run([RNNWAVE, "bench", *flags, "--repeats", "2", "--warmup", "1",
                                "--json", *extra], capture_output=True, text=True, timeout=300,
                               env=dict(os.environ, OMP_WAIT_POLICY="passive"))
            self.assertEqual(p.returncode, 0, p.stderr)
            result = json.loads(p.stdout)
            self.assertEqual(result["single_weight_copy"], "--single-weight-copy" in extra)
            self.assertEqual(result["set_weights"], "--set-weights" in extra)
            return result["peak_rss_bytes"] - result["rss_before_setup_bytes"]
        h = 256
        copy = 4 * 2 * sum(4 * h * i + 4 * h * h for i in (256, 512))  # bytes of W_ih and W_hh
        largest = 4 * 4 * h * 512  # layer 1's W_ih
        self.assertGreater(added() - added("--single-weight-copy"), 0.8 * (copy - largest))
        added("--single-weight-copy", "--set-weights")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rnnwave", required=True)
    args, rest = parser.parse_known_args()
    RNNWAVE = os.path.abspath(args.rnnwave)
    unittest.main(argv=[sys.argv[0], *rest])
