#!/usr/bin/python3
"""Times training epochs of rnnwave and of its PyTorch twin in one sitting, interleaved.

One fresh `rnnwave train` run writes the initial parameters and the data (--export-data);
then the two tools alternate, ROUNDS times each: a fresh rnnwave run of EPOCHS epochs from
the same seed (so the same parameters and batches), then pytorch_train.py on that run's
inputs. Interleaving spreads the machine's drift over both tools; the table gives each
round's seconds per epoch, its ratio, and the median and range of the ratios.

    /usr/bin/python3 bench/train/compare_epochs.py --rnnwave build/rnnwave --task digits \
        --rounds 3 --threads 2
    /usr/bin/python3 bench/train/compare_epochs.py --rnnwave build/rnnwave --task wikitext2 \
        --rounds 3 --threads 2 --train-flags="--max-train 14000"

With --ranks K (synthetic and digits) both tools train data-parallel on K processes of
--threads threads each: rnnwave as `mpirun -np K rnnwave train --shards K` (Open MPI's
mpirun, --bind-to none), PyTorch as DistributedDataParallel over gloo (pytorch_train.py
--ranks K); the reference run, which writes the parameters and the data, runs in one
process with the same shards (the same bits).

    /usr/bin/python3 bench/train/compare_epochs.py --rnnwave build/rnnwave --task digits \
        --rounds 3 --threads 1 --ranks 2

Needs the data set of the task (the shared data folder beside the source tree, or --data-dir) and
Debian's python3-torch. Writes only under --work (default: a temporary directory).
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rnnwave", required=True, help="the rnnwave binary")
    parser.add_argument("--task", required=True, choices=["synthetic", "digits", "wikitext2"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1, help="epochs per run (default 1)")
    parser.add_argument("--threads", type=int, default=2, help="threads (per rank with --ranks)")
    parser.add_argument("--ranks", type=int, default=1,
                        help="processes, data-parallel (synthetic and digits; default 1)")
    parser.add_argument("--mpirun", default="mpirun", help="Open MPI's launcher (for --ranks)")
    parser.add_argument("--train-flags", default="", help="more flags for rnnwave train")
    parser.add_argument("--data-dir", default="", help="passed to rnnwave train as --data")
    parser.add_argument("--openblas-coretype", default="",
                        help="passed to pytorch_train.py (see there)")
    parser.add_argument("--work", default="", help="directory for the runs (default: temporary)")
    options = parser.parse_args(argv)
    if min(options.rounds, options.epochs, options.threads, options.ranks) < 1:
        parser.error("--rounds, --epochs, --threads and --ranks must be at least 1")
    if options.ranks > 1 and options.task == "wikitext2":
        parser.error("--ranks applies to synthetic and digits")
    return options


def run(command, env=None):
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"compare_epochs: {shlex.join(command)} failed ({result.returncode}):\n"
                 f"{result.stderr[-2000:]}")
    return result.stdout


def launcher(options):
    """The mpirun prefix of a K-rank run: every rank on all cores (no binding), as root too."""
    command = [options.mpirun, "-np", str(options.ranks), "--bind-to", "none",
               "--oversubscribe", "-x", f"OMP_NUM_THREADS={options.threads}"]
    return command + (["--allow-run-as-root"] if os.geteuid() == 0 else [])


def train_rnnwave(options, out, export=None):
    command = [options.rnnwave, "train", "--task", options.task, "--epochs", str(options.epochs),
               "--threads", str(options.threads), "--out", out] + shlex.split(options.train_flags)
    if options.ranks > 1:
        command += ["--shards", str(options.ranks)]
        if not export:  # the reference run writes the data export in one process
            command = launcher(options) + command
    if options.data_dir:
        command += ["--data", options.data_dir]
    if export:
        command += ["--export-data", export]
    run(command)
    with open(os.path.join(out, "metrics.jsonl")) as f:
        return [json.loads(line)["train_seconds"] for line in f if line.strip()]


def train_pytorch(options, run_dir, data):
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    stdout = run(["/usr/bin/python3", os.path.join(HERE, "pytorch_train.py"), "--run", run_dir,
                  "--data", data, "--threads", str(options.threads),
                  "--epochs", str(options.epochs), "--ranks", str(options.ranks)]
                 + (["--openblas-coretype", options.openblas_coretype] if options.openblas_coretype else []), env)
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return [line["train_seconds"] for line in lines if line.get("tool") == "pytorch"]


def main(argv):
    options = parse_args(argv)
    work = options.work or tempfile.mkdtemp(prefix="rnnwave-compare-")
    os.makedirs(work, exist_ok=True)
    reference = os.path.join(work, "reference")
    data = os.path.join(work, "data.npz")
    train_rnnwave(options, reference, export=data)
    rows = []
    for round_ in range(1, options.rounds + 1):
        ours = train_rnnwave(options, os.path.join(work, f"round{round_}"))
        theirs = train_pytorch(options, reference, data)
        if len(ours) != options.epochs or len(theirs) != options.epochs:
            sys.exit(f"compare_epochs: expected {options.epochs} epochs, got {len(ours)} "
                     f"(rnnwave) and {len(theirs)} (PyTorch)")
        ours_s, theirs_s = sum(ours) / len(ours), sum(theirs) / len(theirs)
        rows.append((round_, ours_s, theirs_s, theirs_s / ours_s))
        print(f"round {round_}: rnnwave {ours_s:.2f} s/epoch, PyTorch {theirs_s:.2f} s/epoch, "
              f"{theirs_s / ours_s:.2f}x", file=sys.stderr, flush=True)
    print(f"| round | rnnwave s/epoch | PyTorch s/epoch | PyTorch / rnnwave |")
    print(f"|---:|---:|---:|---:|")
    for round_, ours_s, theirs_s, ratio in rows:
        print(f"| {round_} | {ours_s:.2f} | {theirs_s:.2f} | {ratio:.2f}x |")
    ratios = [row[3] for row in rows]
    ranks = f"{options.ranks} ranks x " if options.ranks > 1 else ""
    print(f"\n{options.task}, {ranks}{options.threads} threads, {options.epochs} epoch(s) per run, "
          f"{options.rounds} interleaved rounds: median {statistics.median(ratios):.2f}x, "
          f"range {min(ratios):.2f}x-{max(ratios):.2f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
