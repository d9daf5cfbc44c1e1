#!/usr/bin/python3
"""Turns the JSON lines of bench/run_grid.py into the tables of docs/benchmarks.md and a
plot: times per configuration for every runner at 1 and 2 threads, the ratios the targets
are stated in, and which targets each configuration meets.

    /usr/bin/python3 bench/report.py out/grid.jsonl --markdown out/grid.md --plot docs/img/grid.png
"""
import argparse
import collections
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def key_of(c):
    return (c["mode"], c["cell"], c["bidirectional"], c["layers"], c["hidden"], c["batch"])


def label(k):
    mode, cell, bi, layers, hidden, batch = k
    return f"{cell} {'bi' if bi else 'uni'} L{layers} H{hidden} N{batch}"


def load(paths):
    """times[(config key)][(runner, threads)] = median ms (the last measurement wins)."""
    times = collections.defaultdict(dict)
    for path in paths:
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                if "median_ms" not in r:
                    continue
                runner = "onednn" if r["runner"] == "onednn_fwdtrain" else r["runner"]
                slot = (runner, r["requested_threads"])
                k = key_of(r["config"])
                # oneDNN inference: the better of its two propagation kinds.
                times[k][slot] = min(times[k].get(slot, float("inf")), r["median_ms"])
    return times


def fmt(ms):
    return "" if ms is None else (f"{ms:.1f}" if ms >= 10 else f"{ms:.2f}")


def ratio(a, b):
    return None if a is None or b is None else a / b


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jsonl", nargs="+")
    parser.add_argument("--markdown", required=True)
    parser.add_argument("--plot")
    args = parser.parse_args()
    times = load(args.jsonl)
    lines, plot_points = [], []
    met = collections.Counter()
    total = collections.Counter()
    for mode in ["inference", "training"]:
        lines += [f"### {mode}", "",
                  "| config | seq 1T | wave 1T | oneDNN 1T | PyTorch 1T | wave 2T | layerwise 2T "
                  "| oneDNN 2T | PyTorch 2T | 1T vs oneDNN | 2T/1T scaling | 2T vs best peer |",
                  "|---|" + "---:|" * 11]
        for k in sorted(t for t in times if t[0] == mode):
            t = times[k]
            get = lambda runner, threads: t.get((runner, threads))  # noqa: E731
            wave1, wave2 = get("rnnwave_wavefront", 1), get("rnnwave_wavefront", 2)
            peers2 = [x for x in (get("onednn", 2), get("pytorch", 2)) if x is not None]
            vs_onednn = ratio(get("onednn", 1), wave1)
            scaling = ratio(wave1, wave2)
            vs_best = ratio(min(peers2), wave2) if peers2 else None
            _, cell, bi, layers, hidden, batch = k
            checks = []
            if vs_onednn is not None:
                total["1T >= oneDNN"] += 1
                ok = vs_onednn >= 1.0
                met["1T >= oneDNN"] += ok
                checks.append(ok)
            if scaling is not None and (layers == 4 or bi or batch == 64):
                total["2T scaling >= 1.8"] += 1
                met["2T scaling >= 1.8"] += scaling >= 1.8
            if vs_best is not None:
                goal = 1.5 if batch == 1 else 1.0
                name = "N=1: 2T >= 1.5x best peer" if batch == 1 else "N=64: 2T >= best peer"
                total[name] += 1
                met[name] += vs_best >= goal
                plot_points.append((f"{mode[:5]} {label(k)}", vs_best, goal))
            cells = [fmt(get("rnnwave_sequential", 1)), fmt(wave1), fmt(get("onednn", 1)),
                     fmt(get("pytorch", 1)), fmt(wave2), fmt(get("rnnwave_layerwise", 2)),
                     fmt(get("onednn", 2)), fmt(get("pytorch", 2))]
            ratios = [f"{x:.2f}x" if x is not None else "" for x in (vs_onednn, scaling, vs_best)]
            lines.append(f"| {label(k)} | " + " | ".join(cells + ratios) + " |")
        lines.append("")
    summary = ["| target | configurations meeting it |", "|---|---|"]
    summary += [f"| {name} | {met[name]} of {total[name]} |" for name in sorted(total)]
    with open(args.markdown, "w") as f:
        f.write("\n".join(summary + [""] + lines) + "\n")
    if args.plot and plot_points:
        fig, ax = plt.subplots(figsize=(10, 0.22 * len(plot_points) + 1.5))
        names = [p[0] for p in plot_points]
        values = [p[1] for p in plot_points]
        colours = ["#55a868" if p[1] >= p[2] else "#c44e52" for p in plot_points]
        ax.barh(range(len(values)), values, color=colours)
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.axvline(1.5, color="grey", linewidth=0.8, linestyle="--")
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names, fontsize=6)
        ax.invert_yaxis()
        ax.set_xlabel("speed-up of rnnwave (wavefront, 2 threads) over the faster peer at 2 threads")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=130)


if __name__ == "__main__":
    main()
