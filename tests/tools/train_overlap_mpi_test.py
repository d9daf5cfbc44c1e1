#!/usr/bin/python3
"""rnnwave train under mpirun: the overlap of the gradient combination, seen from outside.

  - rank 0 prints one "communication hidden: X% (...)" line per epoch, X in [0, 100], the
    in-flight time at least the waited time;
  - --trace T.json writes T.rank0.json and T.rank1.json, each starting with the common
    start event, holding the engine's tasks and, per batch, one "combine <group>" event
    per bucket (head, layer 1, layer 0) on track 1000 and a "combine_wait" on thread 0;
    the top layer's bucket starts before the rank's last task of layer 0's weight
    gradients ends (the overlap);
  - a single process prints no such line.

    /usr/bin/python3 tests/tools/train_overlap_mpi_test.py --rnnwave build/rnnwave --launcher mpirun
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "dist"))
import mpi_cases  # noqa: E402  (the launcher's flags: mpi_cases.launch_command)

RNNWAVE = None
LAUNCHER = None
TIMEOUT_S = 120
# 64 sequences in batches of 16: 4 batches of 2 shards, one per rank.
SYNTHETIC = ["--task", "synthetic", "--cell", "lstm", "--hidden-size", "16", "--layers", "2",
             "--synthetic-steps", "12", "--synthetic-train", "64", "--synthetic-eval", "16",
             "--batch-size", "16", "--seed", "5", "--threads", "1", "--epochs", "2", "--shards", "2"]
LINE = re.compile(r"^communication hidden: (\d+)% \(gradients in flight ([0-9.]+) s, waited ([0-9.]+) s; rank 0\)$")


def run(command):
    env = dict(os.environ, OMP_WAIT_POLICY="passive")
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, env=env, check=False)


class TrainOverlapTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="rnnwave-overlap-")
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_two_ranks_report_the_share_and_write_traces_on_a_common_start(self):
        trace = os.path.join(self.dir, "t.json")
        args = ["train"] + SYNTHETIC + ["--out", os.path.join(self.dir, "run"), "--trace", trace]
        result = run(mpi_cases.launch_command(LAUNCHER, 2, RNNWAVE, args))
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        lines = [LINE.match(line) for line in result.stderr.splitlines() if line.startswith("communication")]
        self.assertEqual(len(lines), 2, result.stderr)
        for match in lines:
            self.assertIsNotNone(match, result.stderr)
            share, flight, waited = int(match.group(1)), float(match.group(2)), float(match.group(3))
            self.assertTrue(0 <= share <= 100)
            self.assertGreater(flight, 0)
            # waited counts the trainer's wake-up after the last completion too, so on a
            # busy machine it may exceed the time in flight (then the share is 0).
            self.assertGreaterEqual(waited, 0)
            if waited > flight + 1e-3:  # beyond the printed rounding
                self.assertEqual(share, 0)
        self.assertFalse(os.path.exists(trace))
        for rank in (0, 1):
            with open(os.path.join(self.dir, f"t.rank{rank}.json"), encoding="utf-8") as f:
                data = json.load(f)
            events = data["traceEvents"] if isinstance(data, dict) else data
            events = [e for e in events if e.get("ph") == "X"]
            first = min(events, key=lambda e: e["ts"])
            self.assertTrue(first["name"].startswith("ranks_start"), first)
            combine = [e for e in events if e["name"].startswith("combine")]
            names = [re.sub(r" l-?\d+( .*)?$", "", e["name"]) for e in combine]
            per_batch = ["combine head", "combine layer 1", "combine layer 0", "combine_wait"]
            self.assertEqual(names, per_batch * 8, names)  # 2 epochs of 4 batches
            self.assertEqual([e["tid"] for e in combine], [1000, 1000, 1000, 0] * 8)
            # The overlap: in each batch the top layer's bucket starts before the last
            # layer-0 weight-gradient task that started before layer 0's bucket ends.
            weight_grads = [e for e in events if e["name"].startswith("weight_grad l0 ")]
            self.assertTrue(weight_grads)
            for b in range(8):
                top, bottom = combine[4 * b + 1], combine[4 * b + 2]
                ends = [e["ts"] + e["dur"] for e in weight_grads if e["ts"] <= bottom["ts"]]
                self.assertLess(top["ts"], max(ends), f"rank {rank}, batch {b}")

    def test_one_process_prints_no_share(self):
        result = run([RNNWAVE, "train"] + SYNTHETIC + ["--out", os.path.join(self.dir, "alone")])
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        self.assertNotIn("communication hidden", result.stderr)


def main():
    global RNNWAVE, LAUNCHER
    parser = argparse.ArgumentParser()
    parser.add_argument("--rnnwave", required=True)
    parser.add_argument("--launcher", default="mpirun")
    args, rest = parser.parse_known_args()
    RNNWAVE, LAUNCHER = args.rnnwave, args.launcher
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
