#!/usr/bin/python3
"""Predicts the time per training epoch of a task on 1 to 64 nodes, data-parallel.

Two steps. `measure` runs what the model needs on this machine and writes one JSON file:

  - the trainer's own time per batch at every shard size the node counts give (a batch of
    n rows on K nodes is K shards of n/K rows: `rnnwave train --batch-size n/K`, one
    process, --threads C, on a --max-train subset; the time is the second epoch's
    train_seconds, which leaves out data loading and validation, over its batch count);
  - the cost of combining one bucket of b bytes over 2 ranks (`bench_dist_mpi`'s
    reduce_shards test, the trainer's own reducer), fitted as a + b / bandwidth;
  - the size of the model's gradient (its parameters, from the run's model.npz);
  - with --check, the runs the model is checked against: the same subset trained by
    `mpirun -np 2 rnnwave train --threads C/2 --shards 2` (2 ranks of half the cores), and
    by one process of C threads on the whole batch, interleaved over --repeats rounds;
    and the 1-thread time per batch at n/2 rows that the 2-rank prediction needs.

`predict` turns the file into a table (and with --plot a picture):

  per batch on K nodes = t_C(n/K) + combine(4 P bytes, K) + combine(16 bytes, K)
  epoch               = batches of the full data at global batch n  x  per batch

with combine(b, K) = 2 [(K-1) latency + (K-1)/K b / bandwidth] + software, the cost of
rnnwave's direct reduce-scatter + all-gather (docs/distributed.md section 2), for a stated
interconnect (--gbps, --latency-us; default 100 Gb/s, 2 us) and this machine's fitted
intercept as the software cost. Strong scaling keeps the global batch n (K up to n);
weak scaling keeps n rows per node (the global batch grows to n K, a different training).
The check applies the same formula with this machine's fitted combine cost at K = 2 and
t_(C/2)(n/2), and prints predicted against measured with the error.

    /usr/bin/python3 bench/dist_scaling_model.py measure --rnnwave build/rnnwave \\
        --bench-dist build/bench_dist_mpi --task digits --check --out out/dist/digits.json
    /usr/bin/python3 bench/dist_scaling_model.py predict out/dist/digits.json \\
        --plot out/dist/digits.png

Needs the task's data set (the shared data folder beside the source tree, or --data-dir),
Open MPI's mpirun for --check and the bench. Writes only the --out file and a temporary
directory.
"""
import argparse
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import zipfile

# Full training split sizes (docs/results.md): digits recordings, wikitext2 tokens.
FULL_ITEMS = {"digits": 2430, "wikitext2": 2088628}
DEFAULT_BATCH = {"digits": 32, "wikitext2": 20}
BPTT = 35  # wikitext2's default segment length
NODES = [1, 2, 4, 8, 16, 32, 64]


def batches(task, items, rows):
    """Batches of one epoch over `items` training items at `rows` rows per batch."""
    if task == "wikitext2":  # rows columns of items/rows tokens, segments of BPTT steps
        return math.ceil((items // rows - 1) / BPTT)
    return math.ceil(items / rows)


def run(cmd, env=None):
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {shlex.join(cmd)}\n{done.stderr[-2000:]}")
    return done.stdout


def train_seconds(run_dir):
    """The last epoch's training seconds (every run trains 2 epochs: the first pays for
    building the task graphs and touching the buffers once, which a full epoch amortises)."""
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    return lines[-1]["train_seconds"]


def npz_shapes(path):
    """{array name: shape} of a .npz, from the arrays' headers only."""
    shapes = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            with z.open(name) as f:
                head = f.read(256).decode("latin1")
            shape = head[head.index("(") + 1:head.index(")")]
            key = name[:-4] if name.endswith(".npy") else name
            shapes[key] = [int(s) for s in shape.split(",") if s.strip()]
    return shapes


def parameter_count(run_dir):
    """Elements of every array in the run's model.npz."""
    return sum(math.prod(shape) for shape in npz_shapes(os.path.join(run_dir, "model.npz")).values())


class Trainer:
    def __init__(self, options, work):
        self.o, self.work, self.count = options, work, 0

    def flags(self, rows, threads):
        o = self.o
        flags = ["--task", o.task, "--epochs", "2", "--batch-size", str(rows),
                 "--threads", str(threads), "--max-train", str(o.max_train),
                 "--max-eval", str(o.max_eval)]
        if o.data_dir:
            flags += ["--data", o.data_dir]
        return flags + shlex.split(o.train_flags)

    def once(self, rows, threads, ranks=1, extra=()):
        self.count += 1
        out = os.path.join(self.work, f"run{self.count}")
        cmd = [self.o.rnnwave, "train", "--out", out] + self.flags(rows, threads) + list(extra)
        if ranks > 1:
            cmd = [self.o.mpirun, "--allow-run-as-root", "--oversubscribe", "--bind-to", "none",
                   "-np", str(ranks)] + cmd
        run(cmd, env=dict(os.environ, OMP_WAIT_POLICY="passive"))
        return out


def fit_test(jsonl, test):
    """The medians (x in bytes, seconds) of `test` in bench_dist_mpi's output and their
    line (fit_points)."""
    points = [(r["bytes"], r["median_us"] * 1e-6) for r in map(json.loads, jsonl.splitlines())
              if r.get("test") == test]
    if len(points) < 2:
        sys.exit(f"bench_dist_mpi printed no {test} lines")
    return fit_points(points)


def fit_points(points):
    """a + b x through the smallest and the largest message: the latency of an empty bucket
    and the bandwidth of a full one (a least-squares line over sizes spread by factors of 8
    is the large sizes' alone, and its intercept can come out negative)."""
    (x0, y0), (x1, y1) = min(points), max(points)
    slope = (y1 - y0) / (x1 - x0)
    return {"intercept_s": y0 - slope * x0, "seconds_per_byte": slope, "points": points}


def measure(o):
    n = o.batch or DEFAULT_BATCH[o.task]
    shard_rows = sorted({n // k for k in NODES if n % k == 0}, reverse=True)
    result = {"task": o.task, "batch": n, "threads": o.threads, "max_train": o.max_train,
              "full_items": FULL_ITEMS[o.task], "train_flags": o.train_flags,
              "per_batch_s": {}, "check": []}
    with tempfile.TemporaryDirectory(prefix="dist_model_") as work:
        trainer = Trainer(o, work)
        first = trainer.once(n, o.threads)
        result["parameters"] = parameter_count(first)
        for rows in shard_rows:
            times = [train_seconds(trainer.once(rows, o.threads)) for _ in range(o.repeats)]
            per = [t / batches(o.task, o.max_train, rows) for t in times]
            result["per_batch_s"][str(rows)] = statistics.median(per)
            print(f"t_{o.threads}({rows} rows) = {statistics.median(per) * 1e3:.3f} ms per batch "
                  f"(runs {', '.join(f'{t:.2f}' for t in times)} s)", flush=True)
        if o.bench_dist:
            out = run([o.mpirun, "--allow-run-as-root", "--oversubscribe", "--bind-to", "none",
                       "-np", "2", o.bench_dist, "--seconds", "0.2",
                       "--max-bytes", str(max(8, 4 * result["parameters"]))])
            result["combine_2_ranks"] = fit_test(out, "reduce_shards")
        if o.check:
            half, half_threads = n // 2, max(1, o.threads // 2)
            one = [train_seconds(trainer.once(half, half_threads)) for _ in range(o.repeats)]
            result["check_threads"] = half_threads
            result["per_batch_check_s"] = statistics.median(
                t / batches(o.task, o.max_train, half) for t in one)
            for _ in range(o.repeats):  # interleaved: 2 ranks x C/2 threads, 1 rank x C
                two = train_seconds(trainer.once(n, max(1, o.threads // 2), ranks=2,
                                                 extra=["--shards", "2"]))
                whole = train_seconds(trainer.once(n, o.threads))
                result["check"].append({"ranks_2_threads_half": two, "ranks_1": whole})
                print(f"check: 2 ranks x {max(1, o.threads // 2)} threads {two:.2f} s, "
                      f"1 rank x {o.threads} threads {whole:.2f} s", flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(o.out)), exist_ok=True)
    with open(o.out + ".tmp", "w") as f:
        json.dump(result, f, indent=1)
    os.replace(o.out + ".tmp", o.out)
    print(f"wrote {o.out}")


def combine(bytes_, k, latency, bandwidth, software):
    if k == 1:
        return 0.0
    return 2 * ((k - 1) * latency + (k - 1) / k * bytes_ / bandwidth) + software


def predict(o):
    with open(o.measurements) as f:
        m = json.load(f)
    if "combine_2_ranks" in m:
        m["combine_2_ranks"] = fit_points([tuple(p) for p in m["combine_2_ranks"]["points"]])
    n, task, full = m["batch"], m["task"], m["full_items"]
    grad_bytes = 4 * m["parameters"]
    software = m["combine_2_ranks"]["intercept_s"] if "combine_2_ranks" in m else 0.0
    latency, bandwidth = o.latency_us * 1e-6, o.gbps * 1e9 / 8
    rows = []
    for k in NODES:
        comm = (combine(grad_bytes, k, latency, bandwidth, software)
                + combine(16, k, latency, bandwidth, software))
        strong = None
        if n % k == 0 and str(n // k) in m["per_batch_s"]:
            compute = m["per_batch_s"][str(n // k)]
            strong = (batches(task, full, n) * (compute + comm), compute, comm)
        t_n = m["per_batch_s"][str(n)]
        weak = batches(task, full, n * k) * (t_n + comm)
        rows.append({"nodes": k, "strong": strong, "weak_s": weak, "comm_s": comm})
    print(f"{task}: global batch {n}, {m['parameters']:,} parameters ({grad_bytes / 2**20:.1f} MiB "
          f"of gradient per batch), nodes of {m['threads']} cores like this machine, "
          f"{o.gbps:g} Gb/s and {o.latency_us:g} us per message, software {software * 1e6:.1f} us "
          f"per bucket")
    print("| nodes | strong: s/epoch | speedup | compute ms/batch | combine ms/batch | "
          "weak (n rows per node): s/epoch | speedup |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    base_strong, base_weak = rows[0]["strong"][0], rows[0]["weak_s"]
    for r in rows:
        s = r["strong"]
        strong = (f"{s[0]:.2f} | {base_strong / s[0]:.2f} | {s[1] * 1e3:.2f}" if s
                  else "— | — | —")
        print(f"| {r['nodes']} | {strong} | {r['comm_s'] * 1e3:.3f} | {r['weak_s']:.2f} | "
              f"{base_weak / r['weak_s']:.2f} |")
    check(m)
    if o.plot:
        plot(o.plot, m, rows)


def check(m):
    """The 2-rank runs against the model with this machine's own costs."""
    if not m.get("check") or "combine_2_ranks" not in m:
        return
    n, items = m["batch"], m["max_train"]
    fit = m["combine_2_ranks"]
    comm = (fit["intercept_s"] + 4 * m["parameters"] * fit["seconds_per_byte"]
            + fit["intercept_s"] + 16 * fit["seconds_per_byte"])
    # (files of the first version kept the 1-thread time under per_batch_1t_s)
    compute = m.get("per_batch_check_s") or m["per_batch_1t_s"][str(n // 2)]
    predicted_two = batches(m["task"], items, n) * (compute + comm)
    predicted_one = batches(m["task"], items, n) * m["per_batch_s"][str(n)]
    two = [c["ranks_2_threads_half"] for c in m["check"]]
    one = [c["ranks_1"] for c in m["check"]]
    half = max(1, m["threads"] // 2)
    print(f"\ncheck on this machine ({m['task']}, {items} training items, "
          f"{len(two)} interleaved rounds; measured median and range):")
    for name, predicted, measured in ((f"2 ranks x {half} threads", predicted_two, two),
                                      (f"1 rank x {m['threads']} threads", predicted_one, one)):
        med = statistics.median(measured)
        print(f"  {name}: predicted {predicted:.2f} s, measured {med:.2f} s "
              f"({min(measured):.2f}-{max(measured):.2f}), error {100 * (predicted / med - 1):+.1f}%")


def plot(path, m, rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4))
    strong = [(r["nodes"], r["strong"][0]) for r in rows if r["strong"]]
    ax.plot([k for k, _ in strong], [t for _, t in strong], "o-", label="strong (global batch fixed)")
    ax.plot([r["nodes"] for r in rows], [r["weak_s"] for r in rows], "s--",
            label="weak (batch per node fixed)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("nodes")
    ax.set_ylabel("predicted seconds per epoch")
    ax.set_title(f"{m['task']}: data-parallel, nodes of {m['threads']} cores")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n", 2)[2])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("measure", help="run the measurements on this machine")
    m.add_argument("--rnnwave", required=True)
    m.add_argument("--bench-dist", default="", help="bench_dist_mpi, for the combine cost")
    m.add_argument("--mpirun", default="mpirun")
    m.add_argument("--task", required=True, choices=sorted(FULL_ITEMS))
    m.add_argument("--batch", type=int, default=0, help="global batch n (default: the task's)")
    m.add_argument("--threads", type=int, default=2, help="cores per node (default 2)")
    m.add_argument("--max-train", type=int, default=0,
                   help="training items per run (default: 640 digits, 28000 wikitext2 tokens)")
    m.add_argument("--max-eval", type=int, default=20)
    m.add_argument("--repeats", type=int, default=3)
    m.add_argument("--check", action="store_true", help="also run the 2-rank check")
    m.add_argument("--train-flags", default="", help="more flags for rnnwave train")
    m.add_argument("--data-dir", default="")
    m.add_argument("--out", required=True)
    p = sub.add_parser("predict", help="print the prediction from a measure file")
    p.add_argument("measurements")
    p.add_argument("--gbps", type=float, default=100.0, help="interconnect bandwidth, Gb/s")
    p.add_argument("--latency-us", type=float, default=2.0, help="latency per message, us")
    p.add_argument("--plot", default="", help="also draw the prediction to this PNG")
    o = parser.parse_args(argv)
    if o.command == "measure":
        if not o.max_train:
            o.max_train = 28000 if o.task == "wikitext2" else 640
        if min(o.threads, o.repeats, o.max_train) < 1:
            parser.error("--threads, --repeats and --max-train must be at least 1")
        if o.check and (o.batch or DEFAULT_BATCH[o.task]) % 2:
            parser.error("--check needs an even --batch (two equal shards)")
    return o


def main(argv):
    o = parse_args(argv)
    measure(o) if o.command == "measure" else predict(o)


if __name__ == "__main__":
    main(sys.argv[1:])
