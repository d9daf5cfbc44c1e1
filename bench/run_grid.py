#!/usr/bin/python3
"""Runs the standard benchmark grid: rnnwave (every schedule), oneDNN and PyTorch on the
same configurations, in one run, at each thread count. Appends one JSON line per
measurement to the output file (and prints progress on stderr); bench/report.py turns the
file into docs/benchmarks.md.

The grid: cells {lstm, gru, rnn_tanh} x {uni, bi} x L {1, 4} x H {256, 1024} x N {1, 64},
T = 100, input size = H, modes {inference, training}. --quick runs a subset in about two
minutes (H = 256; lstm and gru; uni L=4 and bi L=1; the wavefront schedule and the peers).

    /usr/bin/python3 bench/run_grid.py --out out/grid.jsonl [--quick] [--threads 1,2]
        [--runners rnnwave_wavefront,onednn] [--skip pytorch@1,rnnwave_layerwise@1]
        [--max-repeats R] [--modes training] [--cells lstm,gru]
        [--rounds R] [--only CONFIGS_FILE]

--rounds R runs every configuration's runners R times in turn (round 1 of each runner,
then round 2, ...), so that a host whose speed drifts over minutes slows all of them
alike; report.py then compares the runners round by round. --only names the
configurations to run, one per line as report.py labels them with their mode, e.g.
"training lstm bi L4 H1024 N64" (to re-run the close ones of an earlier grid).

Every runner but PyTorch (whose script sets its own) runs with OpenMP's default wait
policy: an OMP_WAIT_POLICY in the caller's environment is left out, with a note. A passive
one left over from a test run most likely slowed oneDNN 2-5x at H = 256, N = 1 (two
sittings compared; rnnwave's times mostly held).
"""
import argparse
import itertools
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CELLS = ["lstm", "gru", "rnn_tanh"]
GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}


def runner_env(name, coretype):
    """The environment of runner `name`: the caller's without OMP_WAIT_POLICY (PyTorch's
    script sets its own), and OpenBLAS's kernels for PyTorch when asked."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if name == "pytorch" and coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    return env


def configs(quick):
    if quick:
        for cell, (layers, bi), n, mode in itertools.product(
                ["lstm", "gru"], [(4, False), (1, True)], [1, 64], ["inference", "training"]):
            yield dict(cell=cell, layers=layers, bidirectional=bi, hidden=256, batch=n, mode=mode)
        return
    for cell, bi, layers, hidden, n, mode in itertools.product(
            CELLS, [False, True], [1, 4], [256, 1024], [1, 64], ["inference", "training"]):
        yield dict(cell=cell, layers=layers, bidirectional=bi, hidden=hidden, batch=n, mode=mode)


def config_label(c):
    """A configuration's shape as the tables show it: CELL uni|bi L<layers> H<hidden> N<batch>."""
    return f"{c['cell']} {'bi' if c['bidirectional'] else 'uni'} L{c['layers']} H{c['hidden']} N{c['batch']}"


def config_name(c):
    """A configuration as --only names it: MODE, then its label."""
    return f"{c['mode']} {config_label(c)}"


def read_only(path, quick):
    """The configuration names of an --only file (blank lines and # comments skipped); an
    unknown name is an error, not a configuration silently left out."""
    known = {config_name(c) for c in configs(quick)}
    with open(path) as f:
        names = [line.split("#")[0].strip() for line in f]
    names = [" ".join(n.split()) for n in names if n]
    unknown = [n for n in names if n not in known]
    if unknown:
        sys.exit(f"run_grid.py: --only {path!r}: not a configuration of this grid: {unknown[0][:80]!r}")
    return set(names)


def gemm_flop(c, steps=100):
    """FLOPs of the pass (as rnnwave bench counts them), to size the repetitions."""
    d = 2 if c["bidirectional"] else 1
    gh, h = GATES[c["cell"]] * c["hidden"], c["hidden"]
    total = 0
    for layer in range(c["layers"]):
        i = h if layer == 0 else d * h
        total += 2 * steps * c["batch"] * gh * (i + h) * d
    return total * (3 if c["mode"] == "training" else 1)


def repeats_for(c, most=10):
    # About three seconds of timed runs at a pessimistic 20 GFLOP/s, between 3 and `most`.
    seconds = gemm_flop(c) / 20e9
    return max(min(3, most), min(most, int(3.0 / max(seconds, 1e-3))))


def common_flags(c, threads, repeats):
    flags = ["--cell", c["cell"], "--layers", str(c["layers"]), "--hidden-size", str(c["hidden"]),
             "--input-size", str(c["hidden"]), "--seq-len", "100", "--batch", str(c["batch"]),
             "--mode", c["mode"], "--threads", str(threads), "--repeats", str(repeats),
             "--warmup", "1", "--json"]
    return flags + (["--bidirectional"] if c["bidirectional"] else [])


QUICK_RUNNERS = {"rnnwave_wavefront", "onednn", "onednn_fwdtrain", "pytorch"}


def runners(build):
    for schedule in ["sequential", "layerwise", "wavefront"]:
        yield f"rnnwave_{schedule}", lambda f, s=schedule: [f"{build}/rnnwave", "bench", *f, "--schedule", s]
    # The wavefront with one packed copy of each weight (--single-weight-copy): for the
    # memory and the cost of training that way (inference runs as rnnwave_wavefront).
    yield "rnnwave_single_copy", lambda f: [f"{build}/rnnwave", "bench", *f, "--schedule",
                                            "wavefront", "--single-weight-copy"]
    yield "onednn", lambda f: [f"{build}/bench_onednn_rnn", *f]
    # oneDNN's inference is faster with forward_training kernels at small batches: the
    # peer gets the better of its two ways (report.py takes the minimum).
    yield "onednn_fwdtrain", lambda f: [f"{build}/bench_onednn_rnn", *f, "--forward-prop",
                                        "forward_training"]
    yield "pytorch", lambda f: ["/usr/bin/python3", f"{ROOT}/bench/peers/pytorch_rnn.py", *f]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runners", help="comma-separated subset of the runners (default: all)")
    parser.add_argument("--skip", default="",
                        help="comma-separated RUNNER@THREADS pairs not to run, e.g. pytorch@1")
    parser.add_argument("--max-repeats", type=int, default=10)
    parser.add_argument("--modes", default="inference,training")
    parser.add_argument("--cells", default=",".join(CELLS))
    parser.add_argument("--pytorch-openblas-coretype", default="",
                        help="OpenBLAS's kernels for the PyTorch peer (e.g. SkylakeX), for a CPU "
                             "newer than the OpenBLAS, which then falls back to Prescott's")
    parser.add_argument("--rounds", type=int, default=1,
                        help="times each configuration's runners run, in turn (default 1)")
    parser.add_argument("--only", help="file of configurations to run, one per line "
                        "(e.g. 'training lstm bi L4 H1024 N64'); default: every one")
    args = parser.parse_args()
    if args.rounds < 1:
        sys.exit(f"run_grid.py: --rounds must be >= 1, got {args.rounds}")
    only = read_only(args.only, args.quick) if args.only else None
    chosen = set(args.runners.split(",")) if args.runners else (QUICK_RUNNERS if args.quick else None)
    thread_counts = [int(t) for t in args.threads.split(",")]
    skipped = set(filter(None, args.skip.split(",")))
    if "OMP_WAIT_POLICY" in os.environ:
        print(f"run_grid.py: note: OMP_WAIT_POLICY={ascii(os.environ['OMP_WAIT_POLICY'][:40])} in "
              f"the environment is left out: the runners use OpenMP's default", file=sys.stderr)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    started = time.monotonic()
    with open(args.out, "a") as out:
        for c in configs(args.quick):
            if c["mode"] not in args.modes.split(",") or c["cell"] not in args.cells.split(","):
                continue
            if only is not None and config_name(c) not in only:
                continue
            repeats = repeats_for(c, args.max_repeats)
            for threads, round_ in itertools.product(thread_counts, range(1, args.rounds + 1)):
                for name, command in runners(args.build):
                    if chosen is not None and name not in chosen:
                        continue
                    if f"{name}@{threads}" in skipped:
                        continue
                    if name == "rnnwave_sequential" and threads != 1:
                        continue
                    if name == "onednn_fwdtrain" and c["mode"] != "inference":
                        continue
                    if name == "rnnwave_single_copy" and c["mode"] != "training":
                        continue
                    argv = command(common_flags(c, threads, repeats))
                    if name == "pytorch" and args.pytorch_openblas_coretype:
                        argv.append("--keep-openblas-coretype")
                    env = runner_env(name, args.pytorch_openblas_coretype)
                    result = subprocess.run(argv, capture_output=True, text=True, env=env)
                    if result.returncode != 0:
                        record = {"runner": name, "error": result.stderr.strip()[-500:]}
                    else:
                        record = json.loads(result.stdout.strip().splitlines()[-1])
                        record["runner"] = name
                    record["config"] = c
                    record["requested_threads"] = threads
                    record["round"] = round_
                    out.write(json.dumps(record) + "\n")
                    out.flush()
                    print(f"[{time.monotonic() - started:7.1f}s] {config_name(c)} P={threads} "
                          f"round {round_} {name}: "
                          f"{record.get('median_ms', record.get('error'))}", file=sys.stderr)


if __name__ == "__main__":
    main()
