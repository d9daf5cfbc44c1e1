#!/usr/bin/env python3
"""End to end: examples/digits_torch.py (the spoken-digit BiLSTM classifier in plain
PyTorch) run twice, with `--rnn torch` and `--rnn rnnwave`, in one run, on the same threads
and environment (timing.py: the thread variables, OMP_WAIT_POLICY, glibc malloc keeping
freed memory, as the PyTorch peers run). Appends the example's JSON lines, each with
"runner" (torch or rnnwave) and the environment, to --out; bench/python/report.py prints
the table (test accuracy and seconds per training epoch of both).

    .venv/bin/python bench/python/digits.py --out out/python_digits.jsonl [--epochs 5]
        [--threads 2] [--data-dir DIR] [--max-train N] [--max-test N]
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import timing  # noqa: E402

EXAMPLE = os.path.join(timing.ROOT, "examples", "digits_torch.py")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--omp-wait-policy", default="PASSIVE", choices=("PASSIVE", "ACTIVE"))
    parser.add_argument("--data-dir")
    parser.add_argument("--max-train", type=int, default=0)
    parser.add_argument("--max-test", type=int, default=0)
    parser.add_argument("--rnns", default="torch,rnnwave")
    args = parser.parse_args()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    env = timing.thread_environment(args.threads, args.omp_wait_policy)
    for rnn in args.rnns.split(","):
        command = [sys.executable, EXAMPLE, "--rnn", rnn, "--epochs", str(args.epochs),
                   "--threads", str(args.threads), "--max-train", str(args.max_train),
                   "--max-test", str(args.max_test)]
        if args.data_dir:
            command += ["--data-dir", args.data_dir]
        with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) as run, \
                open(args.out, "a") as out:
            for line in run.stdout:
                record = json.loads(line)
                record.update(runner=rnn, env={k: env.get(k) for k in (
                    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY",
                    "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")},
                    machine=timing.machine())
                out.write(json.dumps(record) + "\n")
                out.flush()
                print(f"{rnn} epoch {record['epoch']}: test accuracy "
                      f"{record['test_accuracy']:.3f}, {record['train_seconds']:.1f} s",
                      file=sys.stderr)
        if run.returncode != 0:
            sys.exit(f"digits.py: {' '.join(command)} failed ({run.returncode})")


if __name__ == "__main__":
    main()
