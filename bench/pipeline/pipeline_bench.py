#!/usr/bin/env python3
"""Times `rnnwave forward` (or, with --command backward, `rnnwave backward`: a training
forward and the backward pass) on a deep stack: the layer pipeline over 2 ranks x 1 thread
against one process (1 and 2 threads) and against data-parallel (2 processes of 1 thread,
each on half the batch: what splitting the batch over 2 ranks costs, without the
all-reduce of the weight gradients that training would add; at N = 1 there is nothing to
split and it is the one-process run). Prints one JSON line per (batch, mode) and the
ratios.

    /usr/bin/python3 bench/pipeline/pipeline_bench.py --rnnwave build/rnnwave \\
        [--command forward|backward] [--launcher mpirun] [--layers 8] [--hidden 256] \\
        [--steps 512] [--batches 1 64] [--repeats 5]

Every time is the wall time of whole commands (start, reading the files, the pass,
writing the output), the median of --repeats; `launch` is the same command on a problem
of one step, which is mostly start-up, so that `pass = total - launch` estimates the pass
itself. Give every rank a core of its own and a quiet machine: on a loaded machine the
figures say little.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "tests", "dist"))
import mpi_cases  # noqa: E402  (the launcher's flags)


def write_problem(folder, layers, hidden, inputs, steps, batch, seed=0):
    """W.npz, X.npy and DY.npy (the gradient of the output), and their halves by rows."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for layer in range(layers):
        in_size = inputs if layer == 0 else hidden
        arrays[f"weight_ih_l{layer}"] = rng.uniform(-0.1, 0.1, (4 * hidden, in_size)).astype(np.float32)
        arrays[f"weight_hh_l{layer}"] = rng.uniform(-0.1, 0.1, (4 * hidden, hidden)).astype(np.float32)
        arrays[f"bias_ih_l{layer}"] = rng.uniform(-0.1, 0.1, 4 * hidden).astype(np.float32)
        arrays[f"bias_hh_l{layer}"] = rng.uniform(-0.1, 0.1, 4 * hidden).astype(np.float32)
    np.savez(os.path.join(folder, "w.npz"), **arrays)
    x = rng.standard_normal((steps, batch, inputs)).astype(np.float32)
    dy = rng.standard_normal((steps, batch, hidden)).astype(np.float32)
    np.save(os.path.join(folder, "x.npy"), x)
    np.save(os.path.join(folder, "dy.npy"), dy)
    for half in (0, 1):  # the two halves of the batch, for data-parallel
        rows = slice(0, batch // 2) if half == 0 else slice(batch // 2, batch)
        if batch > 1:
            np.save(os.path.join(folder, f"x{half}.npy"), x[:, rows])
            np.save(os.path.join(folder, f"dy{half}.npy"), dy[:, rows])


def same_arrays(a, b, command):
    """Whether two runs' results (Y.npy, or G.npz for backward) hold the same bits."""
    if command == "forward":
        return np.load(a + ".npy").tobytes() == np.load(b + ".npy").tobytes()
    with np.load(a + ".npz") as x, np.load(b + ".npz") as y:
        return x.files == y.files and all(x[k].tobytes() == y[k].tobytes() for k in x.files)


def timed(commands, env):
    """Wall time of running the commands side by side until all end."""
    start = time.perf_counter()
    jobs = [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for c in commands]
    for job, command in zip(jobs, commands):
        _, err = job.communicate()
        if job.returncode != 0:
            sys.exit(f"failed: {' '.join(command)}\n{err}")
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rnnwave", required=True)
    parser.add_argument("--command", choices=["forward", "backward"], default="forward")
    parser.add_argument("--launcher", default="mpirun")
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--inputs", type=int, default=64)
    parser.add_argument("--steps", type=int, default=512)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()
    rnnwave = os.path.abspath(options.rnnwave)
    env = dict(os.environ, OMP_WAIT_POLICY="passive")
    model = ["--cell", "lstm", "--input-size", str(options.inputs), "--hidden-size", str(options.hidden),
             "--layers", str(options.layers)]
    root = tempfile.mkdtemp(prefix="rnnwave_pipeline_bench_")
    try:
        for batch in options.batches:
            results = {}
            for steps, label in ((1, "launch"), (options.steps, "total")):
                folder = os.path.join(root, f"n{batch}_t{steps}")
                os.makedirs(folder)
                write_problem(folder, options.layers, options.hidden, options.inputs, steps, batch)

                def forward(x, out, threads):
                    command = [rnnwave, options.command, *model, "--weights", os.path.join(folder, "w.npz"),
                               "--input", os.path.join(folder, x), "--threads", str(threads)]
                    if options.command == "forward":
                        return command + ["--output", os.path.join(folder, out)]
                    dy = x.replace("x", "dy")
                    return command + ["--grad-output", os.path.join(folder, dy),
                                      "--grads", os.path.join(folder, out.replace(".npy", ".npz"))]
                pipeline = mpi_cases.launch_command(options.launcher, 2, rnnwave,
                                                    forward("x.npy", "yp.npy", 1)[1:] + ["--pipeline"])
                modes = {
                    "one_process_1thread": [forward("x.npy", "y1.npy", 1)],
                    "one_process_2threads": [forward("x.npy", "y2.npy", 2)],
                    "pipeline_2ranks_1thread": [pipeline],
                    "data_parallel_2x1thread": ([forward("x0.npy", "yd0.npy", 1), forward("x1.npy", "yd1.npy", 1)]
                                                if batch > 1 else [forward("x.npy", "yd.npy", 1)]),
                }
                for mode, commands in modes.items():
                    times = [timed(commands, env) for _ in range(options.repeats)]
                    results.setdefault(mode, {})[label] = statistics.median(times)
                    results[mode][label + "_spread"] = max(times) - min(times)
                if steps > 1:
                    if not same_arrays(os.path.join(folder, "y1"), os.path.join(folder, "yp"), options.command):
                        sys.exit("the pipeline's results differ from one process's")
            for mode, r in results.items():
                r["pass"] = r["total"] - r["launch"]
                print(json.dumps({"bench": "pipeline_" + options.command, "mode": mode, "layers": options.layers,
                                  "hidden": options.hidden, "steps": options.steps, "batch": batch,
                                  "repeats": options.repeats, **{k: round(v, 4) for k, v in r.items()}}))
            def ratio(a, b):  # the pass estimate is noise when the problem is as short as the start-up
                return f"{a / b:.2f}x" if a > 0 and b > 0 else "n/a (pass not above start-up: use more --steps)"
            base = results["one_process_1thread"]["pass"]
            for mode in ("one_process_2threads", "pipeline_2ranks_1thread", "data_parallel_2x1thread"):
                print(f"# N={batch}: {mode}: speed-up over one process x 1 thread "
                      f"{ratio(base, results[mode]['pass'])} (pass), "
                      f"{ratio(results['one_process_1thread']['total'], results[mode]['total'])} (whole command)")
            print(f"# N={batch}: pipeline / data-parallel time "
                  f"{ratio(results['pipeline_2ranks_1thread']['pass'], results['data_parallel_2x1thread']['pass'])}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
