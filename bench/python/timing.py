"""What the Python benchmarks share: the thread environment of a measuring process, the
timing loop and the JSON record of a measurement.

Threads: torch's matrix products (OpenBLAS) and OpenMP read their thread counts when torch
is imported, so a measuring process is started with OMP_NUM_THREADS = OPENBLAS_NUM_THREADS
= P and OMP_WAIT_POLICY (PASSIVE unless asked: torch's two pools on the same cores must not
spin against each other), without an inherited OPENBLAS_CORETYPE (but with
$RNNWAVE_BENCH_OPENBLAS_CORETYPE's, if set) and with glibc malloc
keeping freed memory, exactly as bench/peers/pytorch_rnn.py runs the PyTorch peer; then
torch.set_num_threads(P) and rnnwave.set_num_threads(P). torch, oneDNN and rnnwave share
one libgomp, so the wait policy applies to all of them alike.
"""
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GLIBC_KEEP_MEMORY = {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 34)}


def thread_environment(threads, wait_policy):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               OMP_WAIT_POLICY=wait_policy, **GLIBC_KEEP_MEMORY)
    env.pop("OPENBLAS_CORETYPE", None)
    # On a CPU newer than the OpenBLAS, which then falls back to its oldest (Prescott)
    # kernels, torch is given the kernels named here (e.g. SkylakeX) instead.
    forced = os.environ.get("RNNWAVE_BENCH_OPENBLAS_CORETYPE", "")
    if forced:
        env["OPENBLAS_CORETYPE"] = forced
    return env


def run_child(script, threads, wait_policy, argv):
    """Runs `script --child THREADS argv...` in the thread environment; returns its status."""
    command = [sys.executable, script, "--child", str(threads), *argv]
    return subprocess.run(command, env=thread_environment(threads, wait_policy)).returncode


def run_per_thread_count(script, args, child):
    """The main of a benchmark that runs once per thread count, each in a child process
    with its own thread environment: in the child (--child THREADS) calls child(args);
    in the parent runs `script` per entry of args.threads ("1,2") and exits naming the
    first count whose run failed."""
    if args.child:
        child(args)
        return
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    for threads in (int(t) for t in args.threads.split(",")):
        if run_child(os.path.abspath(script), threads, args.omp_wait_policy, sys.argv[1:]):
            sys.exit(f"{os.path.basename(script)}: the run at {threads} threads failed")


def set_threads(threads):
    """In a child: both libraries on `threads` threads (torch's inter-op pool on one)."""
    import torch

    import rnnwave
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    rnnwave.set_num_threads(threads)


def measure(step, repeats, warmup, between=None):
    """Times `step` `repeats` times after `warmup` untimed calls; `between` runs untimed
    before each call. Returns the times in ms."""
    times = []
    for r in range(warmup + repeats):
        if between is not None:
            between()
        start = time.perf_counter()
        step()
        elapsed = (time.perf_counter() - start) * 1e3
        if r >= warmup:
            times.append(elapsed)
    return times


def summary(times_ms):
    return {"median_ms": statistics.median(times_ms), "min_ms": min(times_ms),
            "max_ms": max(times_ms), "repeats": len(times_ms)}


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu": cpu, "cores": os.cpu_count()}


def environment():
    return {name: os.environ.get(name) for name in
            ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY")}
