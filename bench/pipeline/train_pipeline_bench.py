#!/usr/bin/env python3
"""Times `rnnwave train` four ways on 2 cores: one process of 1 and of 2 threads, the layer pipeline over 2 ranks x 1 thread (`--pipeline`), and data-parallel
training over 2 ranks x 1 thread (`--shards 2`, each rank half of every batch, the
gradients combined). Prints one JSON line per (batch, mode) and a table of ratios.

    /usr/bin/python3 bench/pipeline/train_pipeline_bench.py --rnnwave build/rnnwave \\
        [--launcher mpirun] [--task synthetic] [--cell lstm] [--layers 4] [--hidden 256] \\
        [--steps 100] [--batches 2 32] [--sequences 64] [--epochs 3]
    /usr/bin/python3 bench/pipeline/train_pipeline_bench.py --rnnwave build/rnnwave \\
        --task wikitext2 --sequences 20000 --batches 20    # the task's own model, a subset

The synthetic task (the adding problem) is a stack of --layers x --hidden of --cell over
--steps steps and --sequences sequences; digits and wikitext2 train their own models (the
task's defaults, or --cell/--layers/--hidden when given) on --sequences recordings or
tokens of the data set (--data, else the default data folder).

Each time is the trainer's own time per epoch (metrics.jsonl's train_seconds: the
batches' forward, backward and optimizer steps, without start-up or evaluation), the
median over the epochs of a run. The pipeline's checkpoint is checked to hold the bits of
the one-process run (the same shards), so the figures compare the same computation.
Give each rank a core of its own and a quiet machine: on a loaded one the figures say
little.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "tests", "dist"))
import mpi_cases  # noqa: E402  (the launcher's flags)

MODES = {  # name: (ranks, threads per rank, extra flags)
    "1 process x 1 thread": (1, 1, []),
    "1 process x 2 threads": (1, 2, []),
    "pipeline 2 ranks x 1 thread": (2, 1, ["--pipeline"]),
    "data-parallel 2 ranks x 1 thread": (2, 1, ["--shards", "2"]),
}


def task_flags(options, batch):
    """The flags of the task and its model."""
    model = []
    for flag, value in (("--cell", options.cell), ("--layers", options.layers), ("--hidden-size", options.hidden)):
        if value is not None:
            model += [flag, str(value)]
    if options.task == "synthetic":
        return ["--task", "synthetic", *model, "--synthetic-steps", str(options.steps),
                "--synthetic-train", str(options.sequences), "--synthetic-eval", str(batch)]
    data = ["--data", options.data] if options.data else []
    evaluated = batch if options.task == "digits" else 2 * batch
    return ["--task", options.task, *model, "--max-train", str(options.sequences), "--max-eval", str(evaluated), *data]


def train(options, folder, batch, mode):
    """Runs one mode; returns (run directory, the median seconds per epoch)."""
    ranks, threads, extra = MODES[mode]
    out = os.path.join(folder, f"b{batch}-{mode.split()[0]}-{ranks}x{threads}")
    args = ["train", *task_flags(options, batch), "--batch-size", str(batch), "--epochs", str(options.epochs),
            "--seed", "1", "--threads", str(threads), "--out", out, *extra]
    command = [options.rnnwave, *args]
    if ranks > 1:
        command = mpi_cases.launch_command(options.launcher, ranks, options.rnnwave, args)
    env = dict(os.environ, OMP_WAIT_POLICY="passive", TMPDIR=folder)
    result = subprocess.run(command, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        sys.exit(f"{mode}, batch {batch} failed: {result.stderr[-2000:]}")
    with open(os.path.join(out, "metrics.jsonl")) as f:
        seconds = [json.loads(line)["train_seconds"] for line in f]
    return out, statistics.median(seconds)


def same_model(a, b):
    with np.load(os.path.join(a, "model.npz")) as x, np.load(os.path.join(b, "model.npz")) as y:
        return sorted(x.files) == sorted(y.files) and all(x[k].tobytes() == y[k].tobytes() for k in x.files)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rnnwave", required=True)
    parser.add_argument("--launcher", default="mpirun")
    parser.add_argument("--task", choices=["synthetic", "digits", "wikitext2"], default="synthetic")
    parser.add_argument("--data", help="the data folder of digits and wikitext2")
    parser.add_argument("--cell")
    parser.add_argument("--layers", type=int)
    parser.add_argument("--hidden", type=int)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batches", type=int, nargs="+", default=[2, 32])
    parser.add_argument("--sequences", type=int, default=64, help="training sequences (tokens for wikitext2) per epoch")
    parser.add_argument("--epochs", type=int, default=3)
    options = parser.parse_args()
    if options.task == "synthetic":  # a deep stack by default
        options.cell = options.cell or "lstm"
        options.layers = options.layers or 4
        options.hidden = options.hidden or 256
    options.rnnwave = os.path.abspath(options.rnnwave)
    folder = tempfile.mkdtemp(prefix="rnnwave-train-pipeline-bench-")
    rows = []
    try:
        for batch in options.batches:
            times, runs = {}, {}
            for mode in MODES:
                runs[mode], times[mode] = train(options, folder, batch, mode)
                print(json.dumps({"batch": batch, "mode": mode, "seconds_per_epoch": round(times[mode], 4),
                                  "task": options.task, "cell": options.cell, "layers": options.layers,
                                  "hidden": options.hidden, "steps": options.steps,
                                  "sequences": options.sequences}), flush=True)
            if not same_model(runs["1 process x 1 thread"], runs["pipeline 2 ranks x 1 thread"]):
                sys.exit(f"batch {batch}: the pipeline's model differs from one process's")
            rows.append((batch, times))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    model = f"{options.cell} L{options.layers} H{options.hidden} T{options.steps}" if options.task == "synthetic" \
        else f"{options.task} ({options.sequences} items)"
    print(f"\n{model}, seconds per epoch (speed-up over 1 process x 1 thread)")
    print("| N | " + " | ".join(MODES) + " | pipeline / data-parallel time |")
    print("|---:|" + "---:|" * (len(MODES) + 1))
    for batch, times in rows:
        base = times["1 process x 1 thread"]
        cells = [f"{times[m]:.2f} s ({base / times[m]:.2f}x)" for m in MODES]
        ratio = times["pipeline 2 ranks x 1 thread"] / times["data-parallel 2 ranks x 1 thread"]
        print(f"| {batch} | " + " | ".join(cells) + f" | {ratio:.2f} |")


if __name__ == "__main__":
    main()
