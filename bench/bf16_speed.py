#!/usr/bin/env python3
"""bf16 inference against fp32 and against oneDNN's bf16 RNN: `rnnwave bench` in both
precisions and `bench_onednn_rnn` in both, interleaved on each configuration (so that a
change in the machine's load hits every runner alike), inference only.

The configurations: cells {lstm, gru, rnn_tanh} x L {1, 4} x H {256, 1024} x N {1, 64},
one direction, T = 100, input size = H (the grid of docs/benchmarks.md, inference).
Prints one JSON line per measurement (rnnwave's or oneDNN's own JSON plus "runner"), and
with --summary a Markdown table per thread count: bf16's speed-up over fp32 for each tool,
and rnnwave bf16's over oneDNN bf16 (the ratios of median times; above 1 = faster).
Measure on a quiet machine: the ratios are only as good as the medians.

    /usr/bin/python3 bench/bf16_speed.py --build build [--threads 1,2] [--batches 1]
        [--cells lstm] [--repeats 10] [--summary]
"""
import argparse
import itertools
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNERS = ["rnnwave_fp32", "rnnwave_bf16", "onednn_fp32", "onednn_bf16"]


def command(build, runner, c, threads, repeats):
    flags = ["--cell", c["cell"], "--layers", str(c["layers"]), "--hidden-size", str(c["hidden"]),
             "--input-size", str(c["hidden"]), "--seq-len", "100", "--batch", str(c["batch"]),
             "--mode", "inference", "--threads", str(threads), "--repeats", str(repeats),
             "--warmup", "1", "--json", "--precision", runner.split("_")[1]]
    if runner.startswith("rnnwave"):
        return [os.path.join(build, "rnnwave"), "bench", *flags]
    return [os.path.join(build, "bench_onednn_rnn"), *flags]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--cells", default="lstm,gru,rnn_tanh")
    parser.add_argument("--layers", default="1,4")
    parser.add_argument("--hidden", default="256,1024")
    parser.add_argument("--batches", default="1,64")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--summary", action="store_true", help="print Markdown tables at the end")
    args = parser.parse_args()
    numbers = lambda text: [int(x) for x in text.split(",")]
    medians = {}
    for cell, layers, hidden, batch in itertools.product(
            args.cells.split(","), numbers(args.layers), numbers(args.hidden), numbers(args.batches)):
        c = dict(cell=cell, layers=layers, hidden=hidden, batch=batch)
        for threads in numbers(args.threads):
            for runner in RUNNERS:
                result = subprocess.run(command(args.build, runner, c, threads, args.repeats),
                                        capture_output=True, text=True)
                if result.returncode != 0:
                    record = {"runner": runner, "error": result.stderr.strip()[-500:]}
                else:
                    record = json.loads(result.stdout.strip().splitlines()[-1])
                    record["runner"] = runner
                    medians[(cell, layers, hidden, batch, threads, runner)] = record["median_ms"]
                record["config"] = c
                record["requested_threads"] = threads
                print(json.dumps(record), flush=True)
    if not args.summary:
        return 0
    ratio = lambda a, b: f"{a / b:.2f}" if a and b else "-"
    for threads in numbers(args.threads):
        print(f"\n{threads} thread(s): median-time ratios (above 1 = the second is faster)\n")
        print("| cell | L | H | N | rnnwave fp32/bf16 | oneDNN fp32/bf16 | oneDNN bf16 / rnnwave bf16 |")
        print("|---|---|---|---|---|---|---|")
        for cell, layers, hidden, batch in itertools.product(
                args.cells.split(","), numbers(args.layers), numbers(args.hidden), numbers(args.batches)):
            m = {r: medians.get((cell, layers, hidden, batch, threads, r)) for r in RUNNERS}
            print(f"| {cell} | {layers} | {hidden} | {batch} | "
                  f"{ratio(m['rnnwave_fp32'], m['rnnwave_bf16'])} | "
                  f"{ratio(m['onednn_fp32'], m['onednn_bf16'])} | "
                  f"{ratio(m['onednn_bf16'], m['rnnwave_bf16'])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
