#!/usr/bin/env python3
"""ONNX's own operator tests for RNN, LSTM and GRU, run through the importer and the CLI.

Debian's libonnx-testdata ships ONNX's backend node tests: a model.onnx holding one node and
test_data_set_0 with its inputs and expected outputs (computed by ONNX's reference
implementation). For each of the 12 tests below the node is imported
(python/rnnwave/onnx.py), `rnnwave forward` runs on the imported weights and inputs under
every schedule at 1 and 2 threads, and each output the test expects (Y, Y_h, Y_c) must
agree to float32 precision.

Usage: onnx_node_test.py --rnnwave build/rnnwave [--data DIR]
DIR defaults to /usr/share/libonnx-testdata/data/node. Needs numpy and onnx
(python3-onnx) and the data (libonnx-testdata); scripts/install_deps.sh installs both.
"""

import argparse
import glob
import os
import sys

from onnx_support import (DEFAULT_DATA, NODE_TESTS, TOLERANCE, load_importer, load_node_test,
                          max_error, run_forward)

RUNS = (("wavefront", 1), ("wavefront", 2), ("sequential", 1), ("layerwise", 2))


def run_test(rnnwave, importer, directory):
    """Returns (worst error, problems) of one node test."""
    model, feeds, expected = load_node_test(directory)
    node = importer.from_model(model, feeds)
    roles = dict(zip(node.outputs, ("Y", "Y_h", "Y_c")))  # output name -> role
    worst, problems = 0.0, []
    for schedule, threads in RUNS:
        outputs = run_forward(rnnwave, node, feeds, threads, schedule)
        for name, value in expected.items():
            error = max_error(outputs[roles[name]], value)
            worst = max(worst, error)
            if not error <= TOLERANCE:
                problems.append(f"{os.path.basename(directory)} {name} ({schedule}, {threads} "
                                f"threads): error {error:.3g}, shape {outputs[roles[name]].shape} "
                                f"vs {value.shape}")
    return node, worst, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rnnwave", required=True)
    parser.add_argument("--data", default=DEFAULT_DATA)
    args = parser.parse_args()
    try:
        import onnx  # noqa: F401
    except ImportError:
        sys.exit("onnx_node_test.py: the onnx Python package is missing "
                 "(apt-get install python3-onnx, or scripts/install_deps.sh)")
    missing = [t for t in NODE_TESTS if not os.path.isfile(os.path.join(args.data, t, "model.onnx"))]
    if missing:
        sys.exit(f"onnx_node_test.py: {args.data} lacks {', '.join(missing)} "
                 f"(apt-get install libonnx-testdata, or scripts/install_deps.sh)")
    # Every recurrent test ONNX ships is one of the twelve: a new one must be looked at.
    shipped = {os.path.basename(p) for p in glob.glob(os.path.join(args.data, "test_*"))
               if any(k in os.path.basename(p) for k in ("rnn", "lstm", "gru"))}
    unknown = sorted(shipped - set(NODE_TESTS))
    importer = load_importer()
    problems = []
    for test in NODE_TESTS:
        try:
            node, worst, test_problems = run_test(args.rnnwave, importer, os.path.join(args.data, test))
        except Exception as error:  # reported per test, the others still run
            problems.append(f"{test}: {type(error).__name__}: {error}")
            print(f"  {test:36} FAILED: {error}")
            continue
        problems += test_problems
        print(f"  {test:36} {node.op:4} -> {node.cell:8} {'ok' if not test_problems else 'FAILED'}"
              f"  worst error {worst:.2e}")
    if unknown:
        print(f"note: recurrent node tests not run here: {', '.join(unknown)}")
    if problems:
        print(f"{len(problems)} problems:", file=sys.stderr)
        for problem in problems:
            print("  " + problem, file=sys.stderr)
        sys.exit(1)
    print(f"all {len(NODE_TESTS)} ONNX node tests pass")


if __name__ == "__main__":
    main()
