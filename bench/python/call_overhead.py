#!/usr/bin/env python3
"""Per-call overhead of the Python layers: a tiny LSTM (I = H = 8, T = 1, N = 1), where the
pass itself costs a few microseconds, called many times; each thread count in its own
process (timing.py). Measured, each as the minimum and the median over --calls calls:
  rnnwave_bench   the C++ call alone (`rnnwave bench --repeats CALLS`, times per pass);
  core            rnnwave._core's model called from Python on preallocated numpy arrays
                  (the pybind11 binding alone);
  rnnwave_torch   rnnwave.torch.LSTM, as a PyTorch user calls it;
  torch_nn        torch.nn.LSTM, for comparison;
in both modes: inference (forward under torch.no_grad()) and training (forward, then
backward of y.sum() with every parameter gradient; gradients set to None between calls,
untimed). The overhead of a layer is its time minus rnnwave_bench's; the minimum is the
robust statistic on a busy machine. Appends JSON lines to --out; bench/python/report.py
prints the table.

    .venv/bin/python bench/python/call_overhead.py --out out/python_overhead.jsonl
        [--threads 1,2] [--calls 20000]
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import timing  # noqa: E402

SIZE = 8  # I = H


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--build", default=os.path.join(timing.ROOT, "build"))
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--omp-wait-policy", default="PASSIVE", choices=("PASSIVE", "ACTIVE"))
    parser.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def cli_times(args, mode, threads):
    flags = ["--cell", "lstm", "--input-size", str(SIZE), "--hidden-size", str(SIZE),
             "--seq-len", "1", "--batch", "1", "--mode", mode, "--threads", str(threads),
             "--repeats", str(args.calls), "--warmup", "200", "--json"]
    result = subprocess.run([os.path.join(args.build, "rnnwave"), "bench", *flags],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])["times_ms"]


def core_times(model, mode, calls):
    import numpy as np
    from rnnwave import _core
    core = model._rnnwave_state.current.ready(model.threads, model.schedule)
    x = np.random.default_rng(1).uniform(-1, 1, (1, 1, SIZE)).astype(np.float32)
    y, hn, cn = (np.empty((1, 1, SIZE), np.float32) for _ in range(3))
    if mode == "inference":
        return timing.measure(lambda: core.forward(x, y, None, None, None, hn, cn), calls, 200)
    workspace, dy = _core.Workspace32(), np.ones((1, 1, SIZE), np.float32)
    dx = np.empty_like(x)
    spec = core.spec

    def step():
        core.forward_train(workspace, x, y, None, None, None, hn, cn, 0.0, 0)
        core.backward(workspace, dy, None, None, dx, None, None, _core.Weights32(spec))
    return timing.measure(step, calls, 200)


def module_times(module, mode, calls):
    import torch
    x = torch.rand(1, 1, SIZE)
    if mode == "inference":
        def forward():
            with torch.no_grad():
                module(x)
        return timing.measure(forward, calls, 200)

    def step():
        module(x)[0].sum().backward()
    return timing.measure(step, calls, 200, between=lambda: module.zero_grad(set_to_none=True))


def child(args):
    import torch

    import rnnwave.torch
    threads = args.child
    timing.set_threads(threads)
    torch.manual_seed(0)
    reference = torch.nn.LSTM(SIZE, SIZE)
    ours = rnnwave.torch.LSTM(SIZE, SIZE)
    ours.load_state_dict(reference.state_dict())
    with torch.no_grad():
        ours(torch.zeros(1, 1, SIZE))  # packs the weights once, before any timing
    with open(args.out, "a") as out:
        for mode in ("inference", "training"):
            runs = [("rnnwave_bench", lambda: cli_times(args, mode, threads)),
                    ("core", lambda: core_times(ours, mode, args.calls)),
                    ("rnnwave_torch", lambda: module_times(ours, mode, args.calls)),
                    ("torch_nn", lambda: module_times(reference, mode, args.calls))]
            for runner, run in runs:
                record = {"runner": runner, "mode": mode, "threads": threads,
                          "config": {"cell": "lstm", "input_size": SIZE, "hidden": SIZE,
                                     "seq_len": 1, "batch": 1}}
                record.update(timing.summary(run()), machine=timing.machine(),
                              env=timing.environment())
                out.write(json.dumps(record) + "\n")
                out.flush()
                print(f"P={threads} {mode} {runner}: min {record['min_ms'] * 1e3:.1f} us, "
                      f"median {record['median_ms'] * 1e3:.1f} us", file=sys.stderr)


def main():
    timing.run_per_thread_count(__file__, parse_args(sys.argv[1:]), child)


if __name__ == "__main__":
    main()
