#!/usr/bin/env python3
"""Prints the tables of docs/python.md (markdown) from the JSON lines of the Python
benchmarks: module_grid.py (--grid), call_overhead.py (--overhead), digits.py (--digits).
Any subset may be given. The last measurement of a configuration wins.

    /usr/bin/python3 bench/python/report.py --grid out/python_grid.jsonl \
        --overhead out/python_overhead.jsonl --digits out/python_digits.jsonl

The grid tables state the issue's targets per row: the binding costs at most 5% or 30 us
over `rnnwave bench` (whichever is larger), rnnwave.torch is never slower than torch.nn,
and at least 1.5x faster wherever N = 1.
"""
import argparse
import collections
import json
import statistics


def read(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def grid_tables(records):
    times = collections.defaultdict(dict)
    for r in records:
        if "median_ms" in r:
            c = r["config"]
            key = (c["mode"], r["threads"], c["cell"], c["bidirectional"], c["layers"],
                   c["hidden"], c["batch"])
            times[key][r["runner"]] = r["median_ms"]
    lines = []
    for mode in ("inference", "training"):
        for threads in sorted({k[1] for k in times if k[0] == mode}):
            keys = sorted(k for k in times if k[0] == mode and k[1] == threads)
            title = "forward" if mode == "inference" else "forward + backward"
            lines += [f"#### {title}, {threads} thread{'s' if threads > 1 else ''} "
                      f"(median ms per pass)", "",
                      "| configuration | rnnwave bench | rnnwave.torch | binding cost | "
                      "torch.nn | torch.nn / rnnwave.torch | targets |",
                      "|---|---:|---:|---:|---:|---:|---|"]
            for key in keys:
                t = times[key]
                _, _, cell, bi, layers, hidden, batch = key
                name = f"{cell} {'bi' if bi else 'uni'} L{layers} H{hidden} N{batch}"
                bench, ours, theirs = t.get("rnnwave_bench"), t.get("rnnwave_torch"), t.get("torch_nn")
                cost = ratio = "–"
                met = []
                if bench and ours:
                    extra = ours - bench
                    cost = f"{extra * 1e3:+.0f} us ({extra / bench:+.1%})"
                    met.append("binding ok" if extra <= max(0.05 * bench, 0.030) else "BINDING MISS")
                if ours and theirs:
                    ratio = f"{theirs / ours:.2f}x"
                    wanted = 1.5 if batch == 1 else 1.0
                    met.append("speed ok" if theirs / ours >= wanted else f"SPEED MISS (<{wanted}x)")
                lines.append(f"| {name} | {fmt(bench)} | {fmt(ours)} | {cost} | {fmt(theirs)} | "
                             f"{ratio} | {', '.join(met)} |")
            lines.append("")
    return lines


def fmt(ms):
    return "–" if ms is None else f"{ms:.3f}" if ms < 10 else f"{ms:.1f}"


def overhead_table(records):
    rows = {(r["threads"], r["mode"], r["runner"]): r for r in records if "min_ms" in r}
    lines = ["| threads | mode | layer | min us | median us | above `rnnwave bench` (min) |",
             "|---:|---|---|---:|---:|---:|"]
    for threads, mode in sorted({(k[0], k[1]) for k in rows}):
        base = rows.get((threads, mode, "rnnwave_bench"))
        for runner in ("rnnwave_bench", "core", "rnnwave_torch", "torch_nn"):
            r = rows.get((threads, mode, runner))
            if r is None:
                continue
            above = "–" if base is None or runner == "rnnwave_bench" else \
                f"{(r['min_ms'] - base['min_ms']) * 1e3:+.1f}"
            lines.append(f"| {threads} | {mode} | {runner} | {r['min_ms'] * 1e3:.1f} | "
                         f"{r['median_ms'] * 1e3:.1f} | {above} |")
    return lines + [""]


def digits_table(records):
    runs = collections.defaultdict(list)
    for r in records:
        runs[r["runner"]].append(r)
    lines = ["| recurrent module | epochs | final test accuracy | seconds per epoch (mean) | "
             "speed-up |", "|---|---:|---:|---:|---:|"]
    means = {}
    for runner, epochs in runs.items():
        means[runner] = statistics.mean(e["train_seconds"] for e in epochs)
    for runner, epochs in sorted(runs.items()):
        last = max(epochs, key=lambda e: e["epoch"])
        speedup = f"{means['torch'] / means[runner]:.2f}x" if "torch" in means else "–"
        name = "rnnwave.torch.LSTM" if runner == "rnnwave" else "torch.nn.LSTM"
        lines.append(f"| {name} | {last['epoch']} | {last['test_accuracy']:.1%} | "
                     f"{means[runner]:.2f} | {speedup} |")
    return lines + [""]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid")
    parser.add_argument("--overhead")
    parser.add_argument("--digits")
    args = parser.parse_args()
    out = []
    if args.grid:
        out += ["### Module level against `rnnwave bench` and torch.nn", ""] + grid_tables(read(args.grid))
    if args.overhead:
        out += ["### Per-call overhead (LSTM, I = H = 8, T = 1, N = 1)", ""] + \
            overhead_table(read(args.overhead))
    if args.digits:
        out += ["### End to end: spoken digits (examples/digits_torch.py)", ""] + \
            digits_table(read(args.digits))
    print("\n".join(out))


if __name__ == "__main__":
    main()
