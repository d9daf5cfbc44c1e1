#!/usr/bin/python3
"""The PyTorch peer of `rnnwave bench`: torch.nn.RNN/LSTM/GRU (float32, CPU) timed the same
way, on the same flags, printing the same JSON fields with "tool": "pytorch".

inference: the forward under torch.no_grad().
training:  forward + backward of loss = sum(y * dy) with the input, h0 (and c0) requiring
           gradients, so every gradient is computed (input, initial states, all weights and
           biases); no optimizer step. Gradients are set to None between repeats, untimed.
Warm-up repeats run first, untimed; then each repeat is timed alone.

Threads: torch.set_num_threads(P), torch.set_num_interop_threads(1). PyTorch's CPU RNN runs
per-step ATen ops; its matrix products go to the system BLAS (OpenBLAS here, pthreads build)
and its elementwise ops to OpenMP. Both read their thread settings when torch is imported,
so the script re-executes itself with OMP_NUM_THREADS=P, OPENBLAS_NUM_THREADS=P and
OMP_WAIT_POLICY=PASSIVE (two pools on the same cores must not spin against each other),
and WITHOUT OPENBLAS_CORETYPE (an inherited value would force OpenBLAS onto an older
kernel than the machine's; --keep-openblas-coretype keeps it to measure that), and with
glibc malloc keeping freed memory (see GLIBC_KEEP_MEMORY; --system-malloc does not). The
JSON says which environment and which OpenBLAS kernel ("openblas": {"core": ...}) were in
effect.

Usage: /usr/bin/python3 bench/peers/pytorch_rnn.py --cell lstm --layers 4 --hidden-size 256
           --input-size 256 --seq-len 100 --batch 64 --mode training --threads 2 --json
"""
import argparse
import os
import sys

# Set by the parent before re-executing, so that the child can report what it inherited.
_INHERITED_CORETYPE = "RNNWAVE_PEER_INHERITED_OPENBLAS_CORETYPE"
_REEXECUTED = "RNNWAVE_PEER_REEXECUTED"


# glibc malloc serves each large block (above a threshold that adapts up to 32 MiB) with a
# fresh mmap and returns freed heap tops to the system. PyTorch's per-step autograd
# allocates a weight-sized gradient temporary per step and gate matrix, so at batch 1 and
# H = 1024 a training pass spent most of its time in page faults (about 400,000 per pass,
# 4-8 s instead of 0.9 s, varying 6x between repeats). Raising both thresholds keeps the
# memory in the process, as the pooling allocators (jemalloc, tcmalloc) that CPU
# deployments of PyTorch use do. --system-malloc measures glibc's defaults.
GLIBC_KEEP_MEMORY = {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 34)}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", required=True, choices=("rnn_tanh", "rnn_relu", "lstm", "gru"))
    parser.add_argument("--input-size", type=int, required=True, help="input features (I)")
    parser.add_argument("--hidden-size", type=int, required=True, help="hidden units (H)")
    parser.add_argument("--layers", type=int, default=1, help="stacked layers (L), default 1")
    parser.add_argument("--bidirectional", action="store_true", help="two directions (D = 2)")
    parser.add_argument("--seq-len", type=int, required=True, help="steps per sequence (T)")
    parser.add_argument("--batch", type=int, required=True, help="sequences per batch (N)")
    parser.add_argument("--mode", default="inference", choices=("inference", "training"))
    parser.add_argument("--threads", type=int, default=0, help="threads; 0 (default) = all cores")
    parser.add_argument("--repeats", type=int, default=10, help="timed repetitions (default 10)")
    parser.add_argument("--warmup", type=int, default=2,
                        help="untimed repetitions first (default 2)")
    parser.add_argument("--seed", type=int, default=1,
                        help="seed of the synthetic weights and data")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--omp-wait-policy", default="PASSIVE", choices=("PASSIVE", "ACTIVE"),
                        help="OMP_WAIT_POLICY of the run (default PASSIVE)")
    parser.add_argument("--keep-openblas-coretype", action="store_true",
                        help="keep an inherited OPENBLAS_CORETYPE instead of unsetting it")
    parser.add_argument("--system-malloc", action="store_true",
                        help="leave glibc malloc's mmap and trim thresholds at their defaults")
    args = parser.parse_args(argv)
    for name in ("input_size", "hidden_size", "layers", "seq_len", "batch", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.warmup < 0 or not 0 <= args.threads <= 1024:
        parser.error("--warmup must be >= 0 and --threads in [0, 1024]")
    return args


def ensure_environment(args):
    """Re-executes this script with the thread environment set, before torch is imported."""
    threads = args.threads or os.cpu_count()
    wanted = {"OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
              "OMP_WAIT_POLICY": args.omp_wait_policy}
    if not args.system_malloc:
        wanted.update(GLIBC_KEEP_MEMORY)
    drop = [] if args.keep_openblas_coretype else ["OPENBLAS_CORETYPE"]
    ready = all(os.environ.get(k) == v for k, v in wanted.items()) and \
        not any(k in os.environ for k in drop)
    if ready:
        return threads
    if os.environ.get(_REEXECUTED):
        sys.exit("pytorch_rnn.py: error: could not set the thread environment")
    env = dict(os.environ, **wanted)
    env[_REEXECUTED] = "1"
    env.setdefault(_INHERITED_CORETYPE, os.environ.get("OPENBLAS_CORETYPE", ""))
    for name in drop:
        env.pop(name, None)
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)


def openblas_info():
    """The OpenBLAS loaded by torch: its kernel ("core") and threads, from its own API."""
    import ctypes
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "openblas" in line and "/" in line}
    info = {"library": None, "core": None, "threads": None}
    for path in sorted(paths):
        library = ctypes.CDLL(path)
        if not hasattr(library, "openblas_get_corename"):
            continue
        library.openblas_get_corename.restype = ctypes.c_char_p
        info = {"library": os.path.basename(path),
                "core": library.openblas_get_corename().decode(),
                "threads": library.openblas_get_num_threads()}
        break
    return info


def gemm_flops(args, gates, directions):
    """FLOPs of the GEMMs of a pass; the count of `rnnwave bench` (training = 3x forward)."""
    rows, flops = args.seq_len * args.batch, 0.0
    for layer in range(args.layers):
        width = args.input_size if layer == 0 else directions * args.hidden_size
        per_direction = 2.0 * rows * gates * args.hidden_size * (width + args.hidden_size)
        flops += per_direction * (3 if args.mode == "training" else 1) * directions
    return flops


def cpu_model():
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def saved_tensor_bytes(run_once, excluded_ptrs):
    """Bytes of the distinct storages autograd saves for backward in one training forward,
    parameters and inputs excluded: PyTorch's counterpart of a training workspace."""
    import torch
    storages = {}

    def pack(tensor):
        storage = tensor.storage()
        if storage.data_ptr() not in excluded_ptrs:
            storages[storage.data_ptr()] = storage.size() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        run_once()
    return sum(storages.values())


def main():
    args = parse_args(sys.argv[1:])
    threads = ensure_environment(args)

    import resource
    import statistics
    import time
    import json

    try:
        import torch
    except ImportError as error:
        sys.exit(f"pytorch_rnn.py: error: {sys.executable} cannot import torch ({error}); "
                 "run the script with the system's /usr/bin/python3")

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    torch.manual_seed(args.seed)
    training = args.mode == "training"
    directions = 2 if args.bidirectional else 1
    gates = {"lstm": 4, "gru": 3}.get(args.cell, 1)
    kwargs = dict(num_layers=args.layers, bidirectional=args.bidirectional)
    if args.cell == "lstm":
        model = torch.nn.LSTM(args.input_size, args.hidden_size, **kwargs)
    elif args.cell == "gru":
        model = torch.nn.GRU(args.input_size, args.hidden_size, **kwargs)
    else:
        model = torch.nn.RNN(args.input_size, args.hidden_size, nonlinearity=args.cell[4:],
                             **kwargs)
    states = (args.layers * directions, args.batch, args.hidden_size)
    uniform = lambda *shape: torch.rand(*shape) * 2 - 1
    x = uniform(args.seq_len, args.batch, args.input_size).requires_grad_(training)
    h0 = uniform(*states).requires_grad_(training)
    c0 = uniform(*states).requires_grad_(training) if args.cell == "lstm" else None
    hx = (h0, c0) if args.cell == "lstm" else h0
    leaves = [x, h0] + ([c0] if c0 is not None else [])
    dy = uniform(args.seq_len, args.batch, directions * args.hidden_size)

    def training_step():
        y, _ = model(x, hx)
        (y * dy).sum().backward()

    def inference_step():
        with torch.no_grad():
            model(x, hx)

    def zero_grads():
        model.zero_grad(set_to_none=True)
        for leaf in leaves:
            leaf.grad = None

    step = training_step if training else inference_step
    times_ms = []
    for r in range(args.warmup + args.repeats):
        if training:
            zero_grads()
        start = time.perf_counter()
        step()
        elapsed = (time.perf_counter() - start) * 1e3
        if r >= args.warmup:
            times_ms.append(elapsed)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    parameter_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    workspace = None
    if training:  # an extra untimed forward, after the peak RSS was read
        excluded = {t.storage().data_ptr() for t in list(model.parameters()) + leaves + [dy]}
        workspace = saved_tensor_bytes(lambda: model(x, hx), excluded)
    grad_bytes = parameter_bytes + sum(t.numel() * 4 for t in leaves) if training else 0
    median = statistics.median(times_ms)
    flops = gemm_flops(args, gates, directions)
    inherited = os.environ.get(_INHERITED_CORETYPE, os.environ.get("OPENBLAS_CORETYPE", ""))
    result = {
        "tool": "pytorch",
        "cell": args.cell,
        "layers": args.layers,
        "bidirectional": args.bidirectional,
        "hidden_size": args.hidden_size,
        "input_size": args.input_size,
        "seq_len": args.seq_len,
        "batch": args.batch,
        "mode": args.mode,
        "threads": threads,
        "schedule": "native",
        "repeats": args.repeats,
        "warmup": args.warmup,
        "median_ms": median,
        "min_ms": min(times_ms),
        "max_ms": max(times_ms),
        "times_ms": times_ms,
        "gemm_gflop": flops / 1e9,
        "gflops": flops / (median * 1e6),
        "workspace_bytes": workspace,
        "weights_bytes": parameter_bytes,
        "grad_bytes": grad_bytes,
        "peak_rss_bytes": peak_rss,
        "rss_before_setup_bytes": rss_before,
        "torch": {"version": torch.__version__, "threads": torch.get_num_threads(),
                  "interop_threads": torch.get_num_interop_threads()},
        "openblas": openblas_info(),
        "openblas_coretype_unset": "OPENBLAS_CORETYPE" not in os.environ,
        "openblas_coretype_inherited": inherited or None,
        "env": {name: os.environ.get(name) for name in
                ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY",
                 "OPENBLAS_CORETYPE", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")},
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count()},
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"pytorch {args.cell} L={args.layers} D={directions} I={args.input_size} "
              f"H={args.hidden_size} T={args.seq_len} N={args.batch} {args.mode} "
              f"threads={threads}: median {median:.3f} ms (min {min(times_ms):.3f}, "
              f"max {max(times_ms):.3f}), {result['gflops']:.1f} GFLOP/s, "
              f"OpenBLAS core {result['openblas']['core']}")


if __name__ == "__main__":
    main()
