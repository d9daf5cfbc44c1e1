#!/usr/bin/python3
"""Alternated rounds of a few commands on one problem, for A/B comparisons on a noisy host.

Each round runs every command once, in the order given, with the same flags appended; each
prints one JSON object with "median_ms" (`rnnwave bench --json`, `bench_onednn_rnn --json`,
`bench/peers/pytorch_rnn.py --json`). A host with phases of minutes moves a lone pair of runs
by as much as the differences looked for, so a claim should hold round by round: this prints
every round's medians, then for each command the median over the rounds and, against the
first command, the ratio first / this (above 1: this one is faster) of those medians with
its range over the rounds.

    /usr/bin/python3 bench/ab_rounds.py --rounds 4 \\
        --run onednn=build/bench_onednn_rnn --run new='build/rnnwave bench' \\
        --run old='/tmp/old/rnnwave bench' --run staged='SOME_SWITCH=1 build/rnnwave bench' \\
        -- --cell rnn_tanh --input-size 1024 --hidden-size 1024 --bidirectional \\
           --seq-len 100 --batch 64 --mode training --threads 1 --repeats 3 --warmup 1

A command is NAME=COMMAND; COMMAND is split as a shell would split it (no shell runs it),
and leading VAR=VALUE words set its environment. An OMP_WAIT_POLICY inherited from the
caller's environment is left out (with a note), so that every command runs with OpenMP's
default unless its own words set one: a passive policy left over from a test run most
likely slowed oneDNN 2-5x at H = 256, N = 1 (two sittings compared) while rnnwave's times
mostly held. --json is appended unless the flags hold it. --out FILE appends every run as a JSON line (runner, round, median_ms, command).
"""
import argparse
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys

ENV_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def quoted(text, limit=160):
    """A value from outside (a command's output, a file) fit for a one-line message."""
    text = text if len(text) <= limit else text[:limit] + "..."
    return ascii(text)


def parse_run(spec):
    """NAME=COMMAND -> (name, env additions, argv); SystemExit with a one-line message."""
    name, sep, command = spec.partition("=")
    if not sep or not re.fullmatch(r"[A-Za-z0-9_.+-]+", name):
        sys.exit(f"ab_rounds.py: --run must be NAME=COMMAND with NAME of letters, digits and "
                 f"._+-, got {quoted(spec)}")
    try:
        words = shlex.split(command)
    except ValueError as e:
        sys.exit(f"ab_rounds.py: --run {name}: cannot split its command ({e}): {quoted(command)}")
    env = {}
    while words and ENV_WORD.match(words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    if not words:
        sys.exit(f"ab_rounds.py: --run {name}: no command after its name and environment")
    return name, env, words


# Settings of the caller's environment that would tilt a comparison; a command's own
# VAR=VALUE words still set them.
LEFT_OUT = ("OMP_WAIT_POLICY",)


def inherited_env():
    """The caller's environment without LEFT_OUT; a note on stderr for each one left out."""
    for key in LEFT_OUT:
        if key in os.environ:
            print(f"ab_rounds.py: note: {key}={quoted(os.environ[key])} in the environment is "
                  f"left out (a command's own {key}= word sets it)", file=sys.stderr)
    return {k: v for k, v in os.environ.items() if k not in LEFT_OUT}


def run_once(name, env, argv, base):
    """The median_ms of one run (environment: base, then env); SystemExit naming the
    command if it fails."""
    try:
        done = subprocess.run(argv, env={**base, **env}, capture_output=True, text=True)
    except OSError as e:
        sys.exit(f"ab_rounds.py: {name}: cannot run {quoted(argv[0])}: {e.strerror}")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [""])[-1]
        sys.exit(f"ab_rounds.py: {name} exited with {done.returncode}: {quoted(last)}")
    lines = [line for line in done.stdout.splitlines() if line.strip().startswith("{")]
    try:
        value = json.loads(lines[-1])["median_ms"]
    except (IndexError, ValueError, KeyError, TypeError):
        sys.exit(f"ab_rounds.py: {name} printed no JSON object with median_ms; its output ends "
                 f"{quoted(done.stdout.strip()[-160:])}")
    if not isinstance(value, (int, float)) or not value > 0:
        sys.exit(f"ab_rounds.py: {name} printed median_ms = {quoted(str(value))}, not a time")
    return float(value)


def summary(names, times):
    """Lines: each command's median over the rounds and its ratio to the first command."""
    first = names[0]
    lines = []
    for name in names:
        med = statistics.median(times[name])
        line = f"{name}: median {med:.1f} ms ({min(times[name]):.1f}-{max(times[name]):.1f})"
        if name != first:
            ratios = [a / b for a, b in zip(times[first], times[name])]
            line += (f"; {first} / {name} = {statistics.median(times[first]) / med:.2f}x "
                     f"({min(ratios):.2f}-{max(ratios):.2f} over the rounds)")
        lines.append(line)
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     usage="%(prog)s [--rounds R] [--out FILE] --run NAME=COMMAND "
                                           "--run NAME=COMMAND ... -- FLAGS...")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--run", action="append", default=[], metavar="NAME=COMMAND")
    parser.add_argument("--out", help="append every run to this JSON-lines file")
    parser.add_argument("flags", nargs=argparse.REMAINDER,
                        help="after --: the flags every command gets")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        sys.exit(f"ab_rounds.py: --rounds must be >= 1, got {args.rounds}")
    if len(args.run) < 2:
        sys.exit("ab_rounds.py: give at least two --run NAME=COMMAND to compare")
    runs = [parse_run(spec) for spec in args.run]
    names = [name for name, _, _ in runs]
    if len(set(names)) != len(names):
        sys.exit(f"ab_rounds.py: --run names must differ, got {', '.join(names)}")
    flags = args.flags[1:] if args.flags[:1] == ["--"] else args.flags
    if "--json" not in flags:
        flags = flags + ["--json"]
    times = {name: [] for name in names}
    base = inherited_env()
    try:
        out = open(args.out, "a") if args.out else None
    except OSError as e:
        sys.exit(f"ab_rounds.py: --out {quoted(args.out)}: {e.strerror}")
    try:
        for round_ in range(1, args.rounds + 1):
            for name, env, argv in runs:
                ms = run_once(name, env, argv + flags, base)
                times[name].append(ms)
                if out:
                    out.write(json.dumps({"runner": name, "round": round_, "median_ms": ms,
                                          "command": shlex.join(argv + flags), "env": env}) + "\n")
                    out.flush()
            print(f"round {round_}: " + "  ".join(f"{n} {times[n][-1]:.1f}" for n in names),
                  flush=True)
    finally:
        if out:
            out.close()
    print("\n".join(summary(names, times)))


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # piped into head: stop quietly
    main()
