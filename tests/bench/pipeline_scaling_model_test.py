#!/usr/bin/python3
"""bench/pipeline/pipeline_scaling_model.py: the replay of a pass split over nodes on
graphs whose times are known by hand, the layer split, the gather, reading a trainer's
trace, and (with --rnnwave) a real trace replayed on one node to its own span.

    /usr/bin/python3 tests/bench/pipeline_scaling_model_test.py --source DIR [--rnnwave BIN]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import unittest

ARGS = None


def model():
    sys.path.insert(0, os.path.join(ARGS.source, "bench", "pipeline"))
    import pipeline_scaling_model

    return pipeline_scaling_model


def stack(m, layers, blocks, cost=1.0, head=None, block_bytes=10):
    """A wavefront of `layers` x `blocks` step tasks (index l * blocks + b, after (l, b-1)
    and (l-1, b)) and, with head = its cost, an output task per block of the top layer."""
    costs, preds, owners, kinds = [], [], [], []
    for l in range(layers):
        for b in range(blocks):
            costs.append(cost)
            preds.append(([l * blocks + b - 1] if b > 0 else []) + ([(l - 1) * blocks + b] if l > 0 else []))
            owners.append(l)
            kinds.append("forward")
    if head is not None:
        for b in range(blocks):
            costs.append(head)
            preds.append([(layers - 1) * blocks + b])
            owners.append(layers - 1)
            kinds.append("output")
    return m.Pass("forward", costs, preds, owners, kinds, [block_bytes] * len(costs))


class Replay(unittest.TestCase):
    def setUp(self):
        self.m = model()

    def replay(self, p, owner, cores=1, message=lambda b: 0.0):
        return self.m.replay(p, owner, cores, 0.0, message)

    def test_one_node_runs_the_graph_as_the_list_schedule(self):
        p = stack(self.m, 2, 4)
        self.assertEqual(self.replay(p, [0, 0]), 8.0)
        self.assertEqual(self.replay(p, [0, 0], cores=2), 5.0)  # the wavefront's anti-diagonals

    def test_two_nodes_overlap_their_layers_after_the_fill(self):
        p = stack(self.m, 2, 4)
        self.assertEqual(self.replay(p, [0, 1]), 5.0)
        # Each block up costs 0.5: the top layer starts later and waits again at its last
        # block (layer 0 ends at 4, + 0.5).
        self.assertEqual(self.replay(p, [0, 1], message=lambda b: 0.5), 5.5)
        # A message as long as a block: every block of the top layer waits for it.
        self.assertEqual(self.replay(p, [0, 1], message=lambda b: 1.0), 6.0)

    def test_the_head_runs_in_the_graph_on_one_node_and_on_every_node_of_a_pipeline(self):
        p = stack(self.m, 2, 2, head=3.0)
        # One node, one core: 4 steps and 2 heads, in the graph.
        self.assertEqual(self.replay(p, [0, 0]), 10.0)
        # Two nodes: node 1 (the top) ends its layer at 3 (fill 1), then its two heads: 9.
        # Node 0 ends its layer at 2, receives the output blocks at 2 and 3 (the top's output
        # tasks only send), runs its heads from 2 to 8. The batch ends with the slowest.
        self.assertEqual(self.replay(p, [0, 1]), 9.0)
        # With messages of 2: the top layer's blocks run 3-4 and 4-5, its output tasks (the
        # sends) at 5 (ready with block 1, taken after it, the lower index), so the top node's
        # heads end at 5 + 3 + 3 = 11, and node 0 receives both outputs at 7: 7 + 3 + 3 = 13.
        self.assertEqual(self.replay(p, [0, 1], message=lambda b: 2.0), 13.0)

    def test_messages_are_priced_by_the_predecessors_block(self):
        p = stack(self.m, 2, 1)
        p.block_bytes = [7, 99]
        seen = []
        self.replay(p, [0, 1], message=lambda b: seen.append(b) or 0.0)
        self.assertEqual(seen, [7])

    def test_a_graph_out_of_order_is_refused(self):
        with self.assertRaises(self.m.ModelError):
            self.m.Pass("forward", [1.0, 1.0], [[1], []], [0, 0], ["forward"] * 2, [1, 1])

    def test_the_layers_split_as_the_pipeline_splits_them(self):
        self.assertEqual(self.m.node_of_layers(5, 2), [0, 0, 0, 1, 1])
        self.assertEqual(self.m.node_of_layers(8, 8), list(range(8)))
        self.assertEqual(self.m.node_of_layers(7, 3), [0, 0, 0, 1, 1, 2, 2])
        self.assertEqual(self.m.node_counts(8), [1, 2, 4, 8])
        self.assertEqual(self.m.node_counts(6), [1, 2, 4, 6])

    def test_the_gather_is_the_slowest_nodes_receives(self):
        # Node 0 owns 200 bytes, node 1 100: node 0 receives 100, node 1 receives 200.
        self.assertEqual(self.m.gather_us([100, 100, 100], [0, 0, 1], lambda b: b + 1.0), 201.0)
        self.assertEqual(self.m.gather_us([100, 100, 100, 100], [0, 1, 2, 3], lambda b: b), 300.0)


class RealTrace(unittest.TestCase):
    def test_a_trainers_trace_replays_on_one_node_to_its_own_span(self):
        if not ARGS.rnnwave:
            self.skipTest("no --rnnwave binary given")
        m = model()
        with tempfile.TemporaryDirectory() as d:
            out, trace = os.path.join(d, "run"), os.path.join(d, "t.json")
            subprocess.run([ARGS.rnnwave, "train", "--task", "synthetic", "--cell", "gru", "--layers", "3",
                            "--hidden-size", "16", "--synthetic-steps", "20", "--synthetic-train", "8",
                            "--synthetic-eval", "4", "--batch-size", "4", "--epochs", "2", "--threads", "1",
                            "--out", out, "--trace", trace], check=True, capture_output=True, timeout=120)
            layer_bytes, row_bytes = m.stack_shape(os.path.join(out, "model.npz"))
            # Three layers of a GRU of 16 over the adding problem's 2 inputs (layer 0) and 16:
            # 3H x (I + H + 2) floats each.
            self.assertEqual(layer_bytes, [4 * 48 * (2 + 16 + 2), 4 * 48 * (16 + 16 + 2), 4 * 48 * (16 + 16 + 2)])
            self.assertEqual(row_bytes, 4 * 16)
            profile = m.Profile(out, trace, row_bytes)
            self.assertEqual(len(profile.batches), 2)  # 8 sequences in batches of 4; eval left out
            for forward, backward in profile.batches:
                self.assertEqual((forward.name, backward.name), ("forward", "backward"))
                self.assertEqual(set(forward.layers) - {-1}, {0, 1, 2})
                # On one node of one core the replay is the trace: its tasks plus its gaps.
                self.assertAlmostEqual(m.replay(forward, [0, 0, 0], 1, forward.gap_us, lambda b: 0.0),
                                       sum(forward.costs) + forward.gap_us * len(forward.costs), delta=1e-3)
            # Split over 3 nodes with free messages it can only be faster.
            one = m.batch_us(profile.batches[0], layer_bytes, 1, 1, 0.0, 0.0, lambda b: 0.0)
            three = m.batch_us(profile.batches[0], layer_bytes, 3, 1, 0.0, 0.0, lambda b: 0.0)
            self.assertLess(three, one)

    def test_bad_input_gets_one_line(self):
        script = os.path.join(ARGS.source, "bench", "pipeline", "pipeline_scaling_model.py")
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "bad.json")
            with open(bad, "w") as f:
                f.write('{"batches": 3}')
            for argv, text in ((["predict", bad], "not the file of `pipeline_scaling_model.py measure`"),
                               (["predict", os.path.join(d, "none.json")], "No such file"),
                               (["measure", "--rnnwave", "x", "--out", bad, "--", "--threads", "2"],
                                "--threads: set by the model itself"),
                               (["measure", "--rnnwave", "x", "--out", bad], "give rnnwave train's flags")):
                r = subprocess.run([sys.executable, script, *argv], capture_output=True, text=True, timeout=60)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn(text, r.stderr)
                self.assertEqual(len(r.stderr.strip().splitlines()[-1:]), 1)
                self.assertNotIn("Traceback", r.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True, help="the source tree")
    parser.add_argument("--rnnwave", help="the rnnwave binary, for the real-trace test")
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], *rest])
