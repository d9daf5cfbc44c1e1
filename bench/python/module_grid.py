#!/usr/bin/env python3
"""Module-level benchmark: rnnwave.torch.LSTM/GRU/RNN against torch.nn's, and against
`rnnwave bench` on the same shapes and threads (what the binding costs), over the grid of
bench/run_grid.py, in one run, at each thread count.

Each thread count runs in its own process (see timing.py for its environment). Per grid
configuration and thread count it measures, each on the same problem (T = 100, I = H,
float32, synthetic data, no initial states):
  rnnwave_bench  `rnnwave bench` (the C++ library, a subprocess with the same environment);
  rnnwave_torch  rnnwave.torch's module;
  rnnwave_core   inference only: the same packed C++ model called straight through
                 rnnwave._core with preallocated numpy arrays, in this process. Between
                 rnnwave_bench and rnnwave_torch it tells the Python layer's cost
                 (rnnwave_torch - rnnwave_core) from that of running in this process
                 beside torch (rnnwave_core - rnnwave_bench);
  torch_nn       torch.nn's module.
inference: the module's forward under torch.no_grad().
training:  forward, then backward of sum(y * dy) with the input requiring grad: the input
           and every parameter gradient, as `rnnwave bench --mode training` computes.
           Gradients are set to None between repeats, untimed.
Times include everything a Python caller pays (argument checks, output allocation, the
autograd graph). Appends one JSON line per measurement to --out; bench/python/report.py
prints the tables of docs/python.md.

Run with the Python the package is installed in:
    .venv/bin/python bench/python/module_grid.py --out out/python_grid.jsonl [--quick]
        [--threads 1,2] [--modes inference,training] [--cells lstm,gru]
        [--hidden-sizes 256] [--seq-len 100] [--max-repeats 10]
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import timing  # noqa: E402
from run_grid import configs, repeats_for  # noqa: E402  (the grid and its repetitions)

MODULES = {"lstm": "LSTM", "gru": "GRU", "rnn_tanh": "RNN", "rnn_relu": "RNN"}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON lines are appended here")
    parser.add_argument("--build", default=os.path.join(timing.ROOT, "build"),
                        help="the CMake build folder holding the rnnwave tool")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--quick", action="store_true", help="run_grid.py's quick subset")
    parser.add_argument("--modes", default="inference,training")
    parser.add_argument("--cells", default="lstm,gru,rnn_tanh")
    parser.add_argument("--hidden-sizes", default="",
                        help="only these H of the grid (a check on a busy machine: e.g. 256)")
    parser.add_argument("--seq-len", type=int, default=100, help="T (the grid's: 100)")
    parser.add_argument("--max-repeats", type=int, default=10)
    parser.add_argument("--omp-wait-policy", default="PASSIVE", choices=("PASSIVE", "ACTIVE"))
    parser.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def selected(args):
    hidden = {int(h) for h in args.hidden_sizes.split(",") if h}
    for c in configs(args.quick):
        if c["mode"] in args.modes.split(",") and c["cell"] in args.cells.split(",") and \
                (not hidden or c["hidden"] in hidden):
            yield c


def make_module(library, c):
    kwargs = dict(num_layers=c["layers"], bidirectional=c["bidirectional"])
    if c["cell"].startswith("rnn_"):
        kwargs["nonlinearity"] = c["cell"][4:]
    return getattr(library, MODULES[c["cell"]])(c["hidden"], c["hidden"], **kwargs)


def time_module(module, c, steps, repeats):
    import torch
    generator = torch.Generator().manual_seed(1)
    d = 2 if c["bidirectional"] else 1
    x = torch.rand(steps, c["batch"], c["hidden"], generator=generator) * 2 - 1
    if c["mode"] == "inference":
        def step():
            with torch.no_grad():
                module(x)
        return timing.measure(step, repeats, warmup=1)
    x.requires_grad_()
    dy = torch.rand(steps, c["batch"], d * c["hidden"], generator=generator) * 2 - 1

    def step():
        y, _ = module(x)
        (y * dy).sum().backward()

    def clear():
        module.zero_grad(set_to_none=True)
        x.grad = None
    return timing.measure(step, repeats, warmup=1, between=clear)


def time_core(module, c, steps, repeats):
    """The C++ model rnnwave.torch packed for `module`, called as `rnnwave bench` calls it:
    the output preallocated, no states asked for."""
    import numpy as np
    import torch
    d = 2 if c["bidirectional"] else 1
    generator = torch.Generator().manual_seed(1)
    x = (torch.rand(steps, c["batch"], c["hidden"], generator=generator) * 2 - 1).numpy()
    y = np.empty((steps, c["batch"], d * c["hidden"]), np.float32)
    state = module._rnnwave_state
    engine = state.engine(module)
    model = engine.ready(module.threads, module.schedule)
    return timing.measure(lambda: model.forward(x, y), repeats, warmup=1)


def time_cli(args, c, steps, threads, repeats):
    flags = ["--cell", c["cell"], "--layers", str(c["layers"]), "--hidden-size", str(c["hidden"]),
             "--input-size", str(c["hidden"]), "--seq-len", str(steps), "--batch", str(c["batch"]),
             "--mode", c["mode"], "--threads", str(threads), "--repeats", str(repeats),
             "--warmup", "1", "--json"] + (["--bidirectional"] if c["bidirectional"] else [])
    result = subprocess.run([os.path.join(args.build, "rnnwave"), "bench", *flags],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip()[-300:])
    record = json.loads(result.stdout.strip().splitlines()[-1])
    return record["times_ms"]


def child(args):
    import torch

    import rnnwave
    import rnnwave.torch
    threads = args.child
    timing.set_threads(threads)
    with open(args.out, "a") as out:
        for c in selected(args):
            repeats = repeats_for(c, args.max_repeats)
            torch.manual_seed(0)
            reference = make_module(torch.nn, c)
            ours = make_module(rnnwave.torch, c)
            ours.load_state_dict(reference.state_dict())
            runs = [("rnnwave_bench", lambda: time_cli(args, c, args.seq_len, threads, repeats)),
                    ("rnnwave_torch", lambda: time_module(ours, c, args.seq_len, repeats)),
                    ("torch_nn", lambda: time_module(reference, c, args.seq_len, repeats))]
            if c["mode"] == "inference":
                runs.insert(2, ("rnnwave_core", lambda: time_core(ours, c, args.seq_len, repeats)))
            for runner, run in runs:
                record = {"runner": runner, "config": dict(c, seq_len=args.seq_len),
                          "threads": threads}
                try:
                    times = run()
                    record.update(timing.summary(times), times_ms=times)
                except Exception as error:  # recorded, and the grid goes on
                    record["error"] = str(error)
                record.update(machine=timing.machine(), env=timing.environment(),
                              torch_threads=torch.get_num_threads(),
                              rnnwave_threads=rnnwave.get_num_threads())
                out.write(json.dumps(record) + "\n")
                out.flush()
                print(f"P={threads} {c} {runner}: "
                      f"{record.get('median_ms', record.get('error'))}", file=sys.stderr)


def main():
    timing.run_per_thread_count(__file__, parse_args(sys.argv[1:]), child)


if __name__ == "__main__":
    main()
