#!/usr/bin/env python3
"""Runs one case of dist_mpi_check under an MPI launcher and checks how it ends.

    mpi_cases.py --launcher mpiexec --np 4 --program build/dist_mpi_check reduce [--max-message 1000]

The launcher's flavour is read from `<launcher> --version`. Open MPI gets --oversubscribe
(more ranks than cores), --bind-to none (by default it pins each rank to one core, and
with two ranks on a core they would take turns) and, when run as root, --allow-run-as-root.
MPICH's hydra needs none of them.

Cases that succeed print "ok <case> ..." on rank 0's stdout and every rank exits 0. Cases
that fail on purpose must end every rank (the launcher's status non-zero) within a bound
far below the test's own deadline, with the expected one-line message on stderr.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

DEADLINE_S = 60  # any case; a hang fails the test here rather than in ctest
QUICK_S = 15  # a failing case must end the job well before its ranks' own deadlines


def flavour(launcher):
    text = subprocess.run([launcher, "--version"], capture_output=True, text=True, timeout=30)
    out = text.stdout + text.stderr
    if "Open MPI" in out or "OpenRTE" in out:
        return "openmpi"
    if "HYDRA" in out or "MPICH" in out:
        return "mpich"
    sys.exit(f"mpi_cases.py: cannot tell which MPI {launcher} belongs to: {out[:200]!r}")


def launch_command(launcher, np, program, args):
    command = [launcher, "-np", str(np)]
    if flavour(launcher) == "openmpi":
        command += ["--oversubscribe", "--bind-to", "none"]
        if os.geteuid() == 0:
            command += ["--allow-run-as-root"]
    return command + [program] + args


def expectations(case, np):
    """(must succeed, lines that must appear in stderr, text that must appear exactly once)."""
    if case in ("reduce", "pipe", "world"):
        return True, [], None
    if case == "handshake-mismatch":
        line = (f"dist_mpi_check: error: ranks disagree on 'flags': '--lr 0.1' on rank 0, "
                f"'--lr 0.2' on rank {np - 1}")
        return False, [line], "error:"
    if case == "throw":
        return False, ["dist_mpi_check: error: rank 1: injected failure on rank 1"], None
    if case == "die":
        return False, [], None  # the launcher reports it, in its own words
    if case == "hang":
        return False, ["dist_mpi_check: error: rank 0: no answer from rank 1 for 1.5 s while "
                       "combining bucket 'layer 0' (batch 0)"], None
    if case == "pipe-size-mismatch":
        return False, ["dist_mpi_check: error: rank 1: rank 0 sent 40 bytes where 48 were expected "
                       "while receiving layer 0's output, step block 0, split 0 from rank 0"], None
    if case == "refuse-without-mpi":
        return False, [f"dist_mpi_check: error: this rnnwave was built without MPI but was started by an "
                       f"MPI launcher as one of {np} processes"], "built without MPI"
    if case == "launcher-mismatch":
        return False, ["MPI sees a job of 1: the launcher does not belong to the MPI this rnnwave was built with"], \
            "MPI sees a job of 1"
    sys.exit(f"mpi_cases.py: unknown case {case!r}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--launcher", required=True)
    parser.add_argument("--np", type=int, required=True)
    parser.add_argument("--program", required=True)
    parser.add_argument("case")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args()

    program_case = {"refuse-without-mpi": "world", "launcher-mismatch": "world"}.get(options.case, options.case)
    extra = list(options.args)
    if options.case in ("throw", "die"):
        extra += ["--timeout", "60"]  # the job must end by the abort or the launcher, not by a deadline
    command = launch_command(options.launcher, options.np, options.program, [program_case] + extra)
    print("running:", " ".join(command), flush=True)
    started = time.monotonic()
    try:
        # A session directory of its own: Open MPI 4.1's launchers started at the same time
        # race to create the shared /tmp/ompi.<host>.<uid> ("mkdir ... File exists").
        with tempfile.TemporaryDirectory(prefix="rnnwave-mpi-") as tmp:
            env = dict(os.environ, TMPDIR=tmp)
            run = subprocess.run(command, capture_output=True, text=True, timeout=DEADLINE_S, env=env)
    except subprocess.TimeoutExpired as e:
        print((e.stdout or b"")[-4000:], (e.stderr or b"")[-4000:])
        sys.exit(f"FAIL: {options.case} did not end within {DEADLINE_S} s")
    elapsed = time.monotonic() - started
    print(run.stdout, end="")
    print(run.stderr, end="", file=sys.stderr)
    print(f"status {run.returncode} after {elapsed:.1f} s")

    succeed, lines, once = expectations(options.case, options.np)
    if succeed:
        if run.returncode != 0:
            sys.exit(f"FAIL: {options.case} ended with status {run.returncode}")
        if f"ok {program_case} " not in run.stdout:
            sys.exit(f"FAIL: {options.case}: rank 0 did not report ok")
        return
    if run.returncode == 0:
        sys.exit(f"FAIL: {options.case} should fail but ended with status 0")
    if elapsed > QUICK_S:
        sys.exit(f"FAIL: {options.case} took {elapsed:.1f} s to end the job")
    for line in lines:
        if line not in run.stderr:
            sys.exit(f"FAIL: {options.case}: stderr lacks {line!r}")
    if once is not None and run.stderr.count(once) != 1:
        sys.exit(f"FAIL: {options.case}: {once!r} appears {run.stderr.count(once)} times in stderr, once expected")


if __name__ == "__main__":
    main()
