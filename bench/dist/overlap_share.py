#!/usr/bin/python3
"""Measures the share of the gradient combination hidden behind the backward pass.

Runs `mpirun -np K rnnwave train --shards S` (Open MPI, --bind-to none) ROUNDS times and
reads each epoch's summary line of rank 0,

    communication hidden: 62% (gradients in flight 0.410 s, waited 0.156 s; rank 0)

where "in flight" is, summed over the epoch's batches, the time during which at least one
gradient bucket was being combined (from its start, as the last shard of the rank finished
the bucket's layer, to its completion on the progress thread) and "waited" the time the
trainer then blocked for them before clipping and the optimizer: the exposed part. The
hidden share is (in flight - waited) / in flight. Prints one JSON line per (round, epoch)
and a summary line (median and range of the hidden share over the rounds' last epochs; the
first epoch carries the graph building and is reported but not summarised).

    /usr/bin/python3 bench/dist/overlap_share.py --rnnwave build/rnnwave --task digits \\
        --ranks 2 --threads 1 --rounds 3
    /usr/bin/python3 bench/dist/overlap_share.py --rnnwave build/rnnwave --task synthetic \\
        --ranks 2 --threads 1 --train-flags="--hidden-size 256 --layers 4" --trace out/overlap

With --trace DIR the first round also writes DIR/trace.rank<r>.json (one per rank, on a
common start): the engine's tasks and, on track 1000, each bucket's combination
("combine layer 1", ...), with the trainer's wait ("combine_wait") on thread 0; open them
in Perfetto. Writes only under --work (default: a temporary directory) and --trace.
"""
import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile

LINE = re.compile(r"communication hidden: (\d+)% \(gradients in flight ([0-9.]+) s, waited ([0-9.]+) s")


def run_once(args, work, round_index, trace_dir):
    out = os.path.join(work, f"run{round_index}")
    command = ["mpirun", "--bind-to", "none", "--oversubscribe", "-np", str(args.ranks)]
    if os.geteuid() == 0:
        command.insert(1, "--allow-run-as-root")
    command += [args.rnnwave, "train", "--task", args.task, "--threads", str(args.threads),
                "--shards", str(args.shards or args.ranks), "--epochs", str(args.epochs), "--out", out]
    command += shlex.split(args.train_flags)
    if trace_dir:
        os.makedirs(trace_dir, exist_ok=True)
        command += ["--trace", os.path.join(trace_dir, "trace.json")]
    env = dict(os.environ, OMP_WAIT_POLICY="passive")
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        sys.exit(f"overlap_share: {shlex.join(command)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    epochs = [m.groups() for m in map(LINE.search, result.stderr.splitlines()) if m]
    if len(epochs) != args.epochs:
        sys.exit(f"overlap_share: expected {args.epochs} 'communication hidden' lines, got {len(epochs)}")
    return [{"round": round_index, "epoch": e + 1, "hidden_share": int(share) / 100,
             "in_flight_s": float(flight), "waited_s": float(waited)}
            for e, (share, flight, waited) in enumerate(epochs)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rnnwave", required=True)
    parser.add_argument("--task", default="digits", choices=["synthetic", "digits", "wikitext2"])
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--shards", type=int, default=0, help="default: --ranks")
    parser.add_argument("--threads", type=int, default=1, help="per rank")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--train-flags", default="", help="more flags for rnnwave train")
    parser.add_argument("--trace", default="", help="directory for the first round's per-rank traces")
    parser.add_argument("--work", default="")
    args = parser.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="rnnwave-overlap-")
    config = {"task": args.task, "ranks": args.ranks, "shards": args.shards or args.ranks,
              "threads": args.threads, "train_flags": args.train_flags}
    last = []
    for r in range(args.rounds):
        rows = run_once(args, work, r, args.trace if r == 0 else "")
        for row in rows:
            print(json.dumps({**config, **row}), flush=True)
        last.append(rows[-1]["hidden_share"])
    print(json.dumps({**config, "summary": "hidden share of the last epoch over the rounds",
                      "median": statistics.median(last), "min": min(last), "max": max(last)}))


if __name__ == "__main__":
    main()
