#!/usr/bin/python3
"""bench/scaling_model.py: the list schedule on small graphs whose makespans are known by
hand, the bound, reading a trace, and (with --rnnwave) the graph of a real trace.

    /usr/bin/python3 tests/bench/scaling_model_test.py --source DIR [--rnnwave BIN]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import unittest

ARGS = None


def model():
    sys.path.insert(0, os.path.join(ARGS.source, "bench"))
    import scaling_model

    return scaling_model


def chain(n, cost):
    return [cost] * n, [[i - 1] if i > 0 else [] for i in range(n)]


def grid(layers, steps):
    """The wavefront: cell (l, t) after (l, t-1) and (l-1, t); index l*steps + t."""
    preds = []
    for l in range(layers):
        for t in range(steps):
            preds.append(([l * steps + t - 1] if t > 0 else []) + ([(l - 1) * steps + t] if l > 0 else []))
    return [1.0] * (layers * steps), preds


class ListSchedule(unittest.TestCase):
    def setUp(self):
        self.m = model()

    def span(self, costs, preds, cores, overhead=0.0):
        return self.m.makespan(self.m.Graph("g", costs, preds), cores, overhead)

    def test_a_chain_takes_its_sum_on_any_number_of_cores(self):
        costs, preds = chain(5, 3.0)
        for cores in (1, 2, 8):
            self.assertEqual(self.span(costs, preds, cores), 15.0)
        self.assertEqual(self.span(costs, preds, 4, overhead=0.5), 17.5)

    def test_a_fan_out_fills_the_cores_in_rounds(self):
        # a root of cost 2, then 7 independent tasks of cost 3: 2 + ceil(7 / P) * 3
        costs = [2.0] + [3.0] * 7
        preds = [[]] + [[0]] * 7
        for cores, expected in ((1, 23.0), (2, 14.0), (3, 11.0), (4, 8.0), (7, 5.0), (64, 5.0)):
            self.assertEqual(self.span(costs, preds, cores), expected, cores)

    def test_a_diamond_runs_its_two_sides_together(self):
        costs = [1.0, 4.0, 2.0, 1.0]  # a -> (b, c) -> d
        preds = [[], [0], [0], [1, 2]]
        self.assertEqual(self.span(costs, preds, 1), 8.0)
        self.assertEqual(self.span(costs, preds, 2), 6.0)
        self.assertEqual(self.span(costs, preds, 3), 6.0)

    def test_a_wavefront_grid_takes_its_anti_diagonals(self):
        # L layers x T steps of unit cost: L*T on one core; L + T - 1 on L cores or more.
        costs, preds = grid(4, 10)
        self.assertEqual(self.span(costs, preds, 1), 40.0)
        self.assertEqual(self.span(costs, preds, 4), 13.0)
        self.assertEqual(self.span(costs, preds, 64), 13.0)
        # Two layers on two cores: the second layer trails the first by one step.
        costs, preds = grid(2, 10)
        self.assertEqual(self.span(costs, preds, 2), 11.0)
        g = self.m.Graph("g", *grid(4, 10))
        self.assertEqual(g.critical_path(), 13.0)
        self.assertEqual(g.work(), 40.0)

    def test_the_task_ready_first_runs_first(self):
        # 0 (cost 1), 1 (cost 5) and 3 (cost 4) are ready at 0; 2 (cost 4) after 0; 4
        # (cost 10) after 2. On 2 cores: 0 and 1 start; at 1, 3 (ready since 0) goes
        # before 2 (ready at 1), so 2 runs at [5, 9] and 4 at [9, 19]. Taking the lower
        # index first would run 2 at 1 and end at 15.
        costs = [1.0, 5.0, 4.0, 4.0, 10.0]
        preds = [[], [], [0], [], [2]]
        self.assertEqual(self.span(costs, preds, 2), 19.0)

    def test_the_chain_runtime_keeps_each_chain_on_its_core(self):
        # 3 layers x 4 unit steps, chain = layer. On 2 cores chains 0 and 2 share core 0,
        # which runs their 8 tasks one after the other: 8, where the list schedule,
        # handing each core whichever task is ready, takes 7. On 3 cores each chain has
        # its core: the wavefront's L + T - 1 = 6.
        g = self.m.Graph("g", *grid(3, 4))
        g.chains = [i // 4 for i in range(12)]
        order = sorted(range(12), key=lambda i: (i // 4 + i % 4, i // 4))  # by anti-diagonal
        self.assertEqual(self.m.chains_makespan(g, 2, order), 8.0)
        self.assertEqual(self.span(*grid(3, 4), 2), 7.0)
        self.assertEqual(self.m.chains_makespan(g, 3, order), 6.0)
        self.assertEqual(self.m.chains_makespan(g, 3, order, overhead_us=0.5), 9.0)

    def test_a_graph_out_of_order_is_refused(self):
        with self.assertRaises(self.m.ModelError):
            self.m.Graph("g", [1.0, 1.0], [[1], []])


def write_trace(path, passes):
    """passes: {name: [(ts, dur, tid, preds[, layer])]}."""
    events = []
    for name, tasks in passes.items():
        for i, (ts, dur, tid, preds, *layer) in enumerate(tasks):
            args = {"pass": name, "kind": "forward", "task": i, "preds": preds}
            if layer:
                args.update(layer=layer[0], direction=0)
            events.append({"ph": "X", "ts": ts, "dur": dur, "tid": tid, "args": args})
    with open(path, "w") as f:
        json.dump({"traceEvents": events}, f)


class FromFiles(unittest.TestCase):
    def setUp(self):
        self.m = model()
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def run_model(self, *argv):
        out = subprocess.run([sys.executable, os.path.join(ARGS.source, "bench", "scaling_model.py"), *argv],
                             capture_output=True, text=True, timeout=120)
        return out

    def test_serial_time_gaps_and_dispatch_come_from_the_files(self):
        # A diamond of 10 µs tasks run inline with 3 µs of gaps (span 43 µs) in a pass of
        # 100 µs: 57 µs outside the graph. On 2 cores with 5 µs per task: 57 + 3 * 15.
        write_trace(self.path("t1.json"), {"forward": [(0, 10, 0, []), (11, 10, 0, [0]),
                                                       (22, 10, 0, [0]), (33, 10, 0, [1, 2])]})
        bench = {"threads": 1, "median_ms": 0.1, "times_ms": [0.2, 0.1], "decomposition": {"batch_splits": 1}}
        with open(self.path("b1.json"), "w") as f:
            json.dump(bench, f)
        with open(self.path("b2.json"), "w") as f:
            json.dump(dict(bench, threads=2, median_ms=0.1, times_ms=[0.1]), f)
        out = self.run_model(self.path("t1.json"), "--bench", self.path("b1.json"), "--measured",
                             "2=" + self.path("b2.json"), "--dispatch-us", "5", "--cores", "1,2,4", "--json")
        self.assertEqual(out.returncode, 0, out.stderr)
        r = json.loads(out.stdout)
        self.assertAlmostEqual(r["serial_ms"], 0.057)
        self.assertAlmostEqual(r["predicted"][0]["predicted_ms"], 0.1)
        self.assertAlmostEqual(r["predicted"][1]["predicted_ms"], 0.057 + 0.045)
        self.assertAlmostEqual(r["predicted"][1]["speedup"], 0.1 / 0.102)
        self.assertAlmostEqual(r["measured"][1]["error"], 0.102 / 0.1 - 1)
        # The row of the docs' table: on 4 cores the diamond is no faster than on 2 (0.98x),
        # and its bound is 57 + the critical path of 30 µs (0.1 / 0.087 = 1.15x).
        out = self.run_model(self.path("t1.json"), "--bench", self.path("b1.json"), "--measured",
                             "2=" + self.path("b2.json"), "--dispatch-us", "5", "--cores", "1,2,4", "--row", "x")
        self.assertEqual(out.stdout.strip().splitlines()[-1], "| x | 0.1 | 0.1 | 0.1 | 0.1 | +2.0% | 0.98 | 1.15 |")
        # The dispatch cost of a 2-thread trace: the gap before a task already ready.
        write_trace(self.path("t2.json"), {"forward": [(0, 10, 0, []), (13, 10, 0, [0]),
                                                       (14, 10, 1, [0]), (27, 10, 0, [1, 2])]})
        self.assertAlmostEqual(self.m.dispatch_from_trace(self.m.trace_passes(self.path("t2.json"))), 3.0)

    def test_a_trace_of_the_chain_runtime_gives_its_order(self):
        # Two layers of two steps; the 2-thread trace ran each layer on its own thread.
        one = [(0, 10, 0, [], 0), (10, 10, 0, [0], 0), (20, 10, 0, [0], 1), (30, 10, 0, [1, 2], 1)]
        two = [(0, 10, 0, [], 0), (10, 10, 0, [0], 0), (11, 10, 1, [0], 1), (21, 10, 1, [1, 2], 1)]
        write_trace(self.path("t1.json"), {"forward": one})
        write_trace(self.path("t2.json"), {"forward": two})
        self.assertEqual(self.m.chain_orders(self.m.trace_passes(self.path("t2.json"))), {"forward": [0, 1, 2, 3]})
        # Run on one thread, or a chain on two threads: not the chain runtime.
        self.assertIsNone(self.m.chain_orders(self.m.trace_passes(self.path("t1.json"))))
        write_trace(self.path("mixed.json"), {"forward": [two[0], two[1], two[2], (21, 10, 0, [1, 2], 1)]})
        self.assertIsNone(self.m.chain_orders(self.m.trace_passes(self.path("mixed.json"))))
        # Predicted on 2 cores with that order: task 3 after task 1 (20), no gap: 30 µs.
        out = self.run_model(self.path("t1.json"), "--dispatch-trace", self.path("t2.json"), "--cores", "1,2,4",
                             "--json")
        self.assertEqual(out.returncode, 0, out.stderr)
        rows = json.loads(out.stdout)["predicted"]
        self.assertEqual([r["runtime"] for r in rows], ["inline", "chains", "dataflow"])
        self.assertAlmostEqual(rows[1]["predicted_ms"], 0.030)

    def test_bad_input_gets_one_line(self):
        write_trace(self.path("t1.json"), {"forward": [(0, 10, 0, []), (11, 10, 0, [0])]})
        with open(self.path("b2.json"), "w") as f:
            json.dump({"threads": 2, "median_ms": 1, "times_ms": [1], "decomposition": {"batch_splits": 2}}, f)
        with open(self.path("b1.json"), "w") as f:
            json.dump({"threads": 1, "median_ms": 1, "times_ms": [1], "decomposition": {"batch_splits": 1}}, f)
        with open(self.path("junk.json"), "w") as f:
            f.write("{" + "x" * 500)
        write_trace(self.path("gap.json"), {"forward": [(0, 10, 0, []), (11, 10, 0, [0])]})
        with open(self.path("gap.json")) as f:
            doc = json.load(f)
        doc["traceEvents"].pop(0)
        with open(self.path("gap.json"), "w") as f:
            json.dump(doc, f)
        write_trace(self.path("layerwise.json"), {"forward": [(0, 10, 0, [])]})
        with open(self.path("layerwise.json")) as f:
            doc = json.load(f)
        doc["traceEvents"][0]["args"]["task"] = -1
        with open(self.path("layerwise.json"), "w") as f:
            json.dump(doc, f)
        cases = [
            ([self.path("missing.json")], "missing.json"),
            ([self.path("junk.json")], "not JSON"),
            ([self.path("gap.json")], "misses tasks"),
            ([self.path("t1.json"), "--bench", self.path("b1.json"), "--measured", "2=" + self.path("b2.json")],
             "decomposition"),
            ([self.path("t1.json"), "--measured", "two=" + self.path("b2.json")], "THREADS=FILE"),
            ([self.path("t1.json"), "--cores", "2,4"], "--cores"),
            ([self.path("t1.json"), "--dispatch-us", "-1"], "--dispatch-us"),
            ([self.path("t1.json"), "--bench", self.path("junk.json")], "not JSON"),
            ([self.path("t1.json"), "--bench", self.path("t1.json")], "not the JSON of `rnnwave bench"),
            ([self.path("layerwise.json")], "layerwise"),
            ([self.path("t1.json"), "--plan-per-cores"], "--plan-per-cores needs --rnnwave"),
            (["--rnnwave", "/nonexistent/rnnwave", "--out", self.path("o")], "bench flags after --"),
            (["--rnnwave", "/nonexistent/rnnwave", "--out", self.path("o"), "--", "--cell", "gru"], "cannot run"),
        ]
        for argv, words in cases:
            out = self.run_model(*argv)
            self.assertNotEqual(out.returncode, 0, argv)
            lines = out.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, out.stderr)
            self.assertIn(words, lines[0])
            self.assertLess(len(lines[0]), 400)


class RealTrace(unittest.TestCase):
    """The graph of a real 1-thread training trace: every task once, acyclic, and a
    prediction that reproduces the traced pass on one core."""

    def test_a_real_trace_replays(self):
        if not ARGS.rnnwave:
            self.skipTest("no --rnnwave binary given")
        m = model()
        with tempfile.TemporaryDirectory() as d:
            trace, bench = os.path.join(d, "t.json"), os.path.join(d, "b.json")
            with open(bench, "w") as f:
                subprocess.run([ARGS.rnnwave, "bench", "--cell", "gru", "--layers", "2", "--hidden-size", "32",
                                "--input-size", "8", "--seq-len", "12", "--batch", "4", "--mode", "training",
                                "--threads", "1", "--step-block", "4", "--repeats", "2", "--warmup", "0",
                                "--trace", trace, "--json"], check=True, stdout=f, timeout=120)
            passes = m.trace_passes(trace)
            # forward: 2 layers x 3 blocks of projections + 2 x 12 steps + 3 output blocks
            self.assertEqual(len(passes["forward"]), 6 + 24 + 3)
            graphs = m.graphs_of(passes)
            for g in graphs:
                self.assertLessEqual(g.critical_path(), g.work())
                self.assertGreater(g.critical_path(), 0)
            out = subprocess.run([sys.executable, os.path.join(ARGS.source, "bench", "scaling_model.py"), trace,
                                  "--bench", bench, "--json"], capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            r = json.loads(out.stdout)
            with open(bench) as f:
                traced_ms = json.load(f)["times_ms"][-1]
            self.assertAlmostEqual(r["predicted"][0]["predicted_ms"], traced_ms, delta=1e-6 + 1e-9 * traced_ms)
            for row in r["predicted"]:
                self.assertGreaterEqual(row["predicted_ms"], row["bound_ms"] - 1e-9)
                self.assertLessEqual(row["speedup"], row["cores"] + 1e-9)

    def test_a_chain_runtime_run_is_modelled_as_one(self):
        # A 2-layer stack at N = 1 runs by chains on 2 threads (docs/design.md §4), where
        # its blocks (16 steps) are shorter than the sequence.
        if not ARGS.rnnwave:
            self.skipTest("no --rnnwave binary given")
        flags = ["--cell", "gru", "--layers", "2", "--hidden-size", "32", "--input-size", "8", "--seq-len", "40",
                 "--batch", "1", "--mode", "training", "--repeats", "2", "--warmup", "0"]
        with tempfile.TemporaryDirectory() as d:
            out = subprocess.run([sys.executable, os.path.join(ARGS.source, "bench", "scaling_model.py"),
                                  "--rnnwave", ARGS.rnnwave, "--out", d, "--cores", "1,2,4", "--json", "--", *flags],
                                 capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            rows = json.loads(out.stdout)["predicted"]
            self.assertEqual([r["runtime"] for r in rows], ["inline", "chains", "dataflow"])

    def test_measure_pins_the_compared_runs_plan(self):
        if not ARGS.rnnwave:
            self.skipTest("no --rnnwave binary given")
        m = model()
        flags = ["--cell", "lstm", "--layers", "1", "--hidden-size", "32", "--input-size", "8", "--seq-len", "10",
                 "--batch", "16", "--repeats", "2", "--warmup", "0"]
        with tempfile.TemporaryDirectory() as d:
            out = subprocess.run([sys.executable, os.path.join(ARGS.source, "bench", "scaling_model.py"),
                                  "--rnnwave", ARGS.rnnwave, "--out", d, "--cores", "1,2,4", "--plan-per-cores",
                                  "--json", "--", *flags], capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            r = json.loads(out.stdout)
            with open(os.path.join(d, "bench_1t.json")) as f:
                one = json.load(f)
            with open(os.path.join(d, "bench_2t.json")) as f:
                two = json.load(f)
            self.assertEqual((one["threads"], two["threads"]), (1, 2))
            self.assertEqual(one["decomposition"], two["decomposition"])
            self.assertEqual([m["threads"] for m in r["measured"]], [1, 2])
            self.assertEqual(r["dispatch_from"], "dispatch trace")
            # The 1-thread trace holds the 2-thread plan's graph: a step task per step,
            # sub-batch and part (one layer, one direction: the default plan at 2 threads
            # splits the 16 rows in two, which 1 thread alone would not).
            plan = one["decomposition"]
            self.assertEqual(plan["batch_splits"], 2)
            with open(os.path.join(d, "trace_1t.json")) as f:
                events = json.load(f)["traceEvents"]
            self.assertEqual(sum(1 for e in events if e["args"]["kind"] == "forward"),
                             10 * plan["batch_splits"] * plan["hidden_splits"])
            # --plan-only reports the plan a run uses.
            self.assertEqual(m.plan_of(ARGS.rnnwave, flags, 2), two["decomposition"])
            # Each core count is predicted with its own plan's graph: one thread alone does
            # not split the batch, 4 threads split it as 2 do (16 rows, at least 8 each).
            self.assertEqual([row["plan"]["batch_splits"] for row in r["predicted"]], [1, 2, 2])
            name = "step_block4_batch_splits1_hidden_splits1"
            with open(os.path.join(d, f"bench_1t_{name}.json")) as f:
                alone = json.load(f)
            self.assertEqual(alone["decomposition"], r["predicted"][0]["plan"])
            self.assertAlmostEqual(r["predicted"][0]["predicted_ms"], alone["times_ms"][-1], delta=1e-6)
            # Bench flags the model sets itself are refused.
            bad = subprocess.run([sys.executable, os.path.join(ARGS.source, "bench", "scaling_model.py"),
                                  "--rnnwave", ARGS.rnnwave, "--out", d, "--", "--cell", "gru", "--threads", "4"],
                                 capture_output=True, text=True, timeout=60)
            self.assertNotEqual(bad.returncode, 0)
            self.assertIn("--threads", bad.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True, help="the source tree")
    parser.add_argument("--rnnwave", help="the rnnwave binary, for the real-trace test")
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], *rest])
