#!/usr/bin/python3
"""bench/trace_summary.py: kinds, totals, medians, spans and the time between the passes of
a hand-made trace, a one-line error for a bad one, and (with --rnnwave) a real trace whose
tasks all land in the table.

    /usr/bin/python3 tests/bench/trace_summary_test.py --source DIR [--rnnwave BIN]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import unittest

ARGS = None


def event(pass_name, task, kind, ts, dur, preds=()):
    return {"ph": "X", "pid": 1, "tid": 0, "ts": ts, "dur": dur, "name": f"{kind} {task}",
            "args": {"pass": pass_name, "task": task, "preds": list(preds), "kind": kind,
                     "layer": 0, "direction": 0}}


# Forward: two projections (10, 30 µs) and one step (20 µs), from 0 to 70 µs. Backward
# starts 1000 µs after the forward pass's last task ends.
EVENTS = [event("forward", 0, "project", 0, 10), event("forward", 1, "project", 10, 30),
          event("forward", 2, "forward", 50, 20, [0, 1]),
          event("backward", 0, "backward", 1070, 40), event("backward", 1, "weight_grad", 1110, 90, [0])]


class TraceSummary(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def write(self, name, doc):
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            f.write(doc if isinstance(doc, str) else json.dumps(doc))
        return path

    def run_tool(self, *argv):
        return subprocess.run([sys.executable, os.path.join(ARGS.source, "bench", "trace_summary.py"),
                               *argv], capture_output=True, text=True)

    def test_kinds_totals_spans_and_the_time_between_passes(self):
        path = self.write("t.json", {"traceEvents": EVENTS})
        done = self.run_tool(path, "--json")
        self.assertEqual(done.returncode, 0, done.stderr)
        s = json.loads(done.stdout)
        project = s["passes"]["forward"]["kinds"]["project"]
        self.assertEqual(project["tasks"], 2)
        self.assertAlmostEqual(project["total_ms"], 0.040)
        self.assertAlmostEqual(project["median_us"], 20.0)
        self.assertAlmostEqual(s["passes"]["forward"]["span_ms"], 0.070)
        self.assertAlmostEqual(s["passes"]["backward"]["span_ms"], 0.130)
        self.assertAlmostEqual(s["between_ms"], 1.0)

    def test_table_has_a_column_per_trace(self):
        a = self.write("a.json", {"traceEvents": EVENTS})
        b = self.write("b.json", {"traceEvents": EVENTS[:3]})
        done = self.run_tool(a, b)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("| forward | project | 2, 0.0 (20) | 2, 0.0 (20) |", done.stdout)
        self.assertIn("| backward | weight_grad | 1, 0.1 (90) | - |", done.stdout)
        self.assertIn("| forward → backward | ms between | 1.0 | - |", done.stdout)

    def test_bad_traces_are_one_line_errors(self):
        cases = [(self.write("junk.json", "not json {" + "x" * 500), "not JSON"),
                 (self.write("empty.json", {"traceEvents": []}), "no traceEvents"),
                 (os.path.join(self.dir.name, "missing.json"), "No such file")]
        for path, expected in cases:
            done = self.run_tool(path)
            self.assertEqual(done.returncode, 1)
            self.assertIn(expected, done.stderr)
            self.assertEqual(len(done.stderr.strip().splitlines()), 1, done.stderr)
            self.assertLess(len(done.stderr), 400)

    def test_a_real_trace(self):
        if not ARGS.rnnwave:
            self.skipTest("needs --rnnwave")
        trace = os.path.join(self.dir.name, "real.json")
        subprocess.run([ARGS.rnnwave, "bench", "--cell", "lstm", "--input-size", "8", "--hidden-size", "8",
                        "--layers", "2", "--bidirectional", "--seq-len", "5", "--batch", "2", "--mode",
                        "training", "--threads", "1", "--repeats", "1", "--warmup", "0", "--trace", trace],
                       check=True, capture_output=True)
        with open(trace) as f:
            tasks = sum(1 for e in json.load(f)["traceEvents"] if e.get("ph") == "X")
        done = self.run_tool(trace, "--json")
        self.assertEqual(done.returncode, 0, done.stderr)
        s = json.loads(done.stdout)
        counted = sum(k["tasks"] for p in s["passes"].values() for k in p["kinds"].values())
        self.assertEqual(counted, tasks)
        self.assertEqual(set(s["passes"]), {"forward", "backward"})
        self.assertGreaterEqual(s["between_ms"], 0.0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    parser.add_argument("--rnnwave")
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest)
