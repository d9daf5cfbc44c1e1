#!/usr/bin/python3
"""Turns the JSON lines of bench/run_grid.py into the tables of docs/benchmarks.md and a
plot: times per configuration for every runner at 1 and 2 threads, the ratios the targets
are stated in, and which targets each configuration meets.

    /usr/bin/python3 bench/report.py out/grid.jsonl --markdown out/grid.md --plot docs/img/grid.png
        [--memory out/memory.jsonl] [--sgemm out/sgemm.jsonl] [--scaling out/scaling.jsonl]

Several grid files: a runner's results for a configuration and thread count in a later
file replace those of the earlier ones (a re-run of the close configurations, run_grid.py
--only). A run of several
rounds (run_grid.py --rounds): each time is the median over its rounds, each ratio comes
with its range over the rounds, and the targets are also counted "in every round" (met
only when every round's ratio meets it: the rule for ties within the host's noise).

--memory: training runs of rnnwave and oneDNN (same configs) for the memory table;
--sgemm: `bench_gemm_providers --large 2` lines, the yardstick of the efficiency target;
--scaling: a run_grid.py run at more thread counts, for the scaling table.
"""
import argparse
import collections
import json
import statistics

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from run_grid import config_label  # noqa: E402


KEY_FIELDS = ("mode", "cell", "bidirectional", "layers", "hidden", "batch")


def key_of(c):
    return tuple(c[f] for f in KEY_FIELDS)


def label(k):
    return config_label(dict(zip(KEY_FIELDS, k)))


def load(paths):
    """rounds[(config key)][(runner, threads)][round] = median ms of that run. A runner's
    results at a thread count in a later file replace its results for that configuration
    and thread count in the earlier ones (a re-run of some configurations: run_grid.py
    --only); records without a round (older grids) are round 1, and repeated ones of a
    round keep the fastest. oneDNN's inference: the better of its two propagation kinds,
    within each round."""
    rounds = {}
    for path in paths:
        fresh = collections.defaultdict(lambda: collections.defaultdict(dict))
        for r in records(path):
            if "median_ms" not in r:
                continue
            runner = "onednn" if r["runner"] == "onednn_fwdtrain" else r["runner"]
            times = fresh[key_of(r["config"])][(runner, r["requested_threads"])]
            n = r.get("round", 1)
            times[n] = min(times.get(n, float("inf")), r["median_ms"])
        for k, slots in fresh.items():
            rounds.setdefault(k, {}).update(slots)
    return rounds


def medians(rounds):
    """times[(config key)][(runner, threads)] = the median over rounds."""
    return {k: {slot: statistics.median(by_round.values()) for slot, by_round in slots.items()}
            for k, slots in rounds.items()}


def round_ratios(slots, peers, ours):
    """The peers' best time / ours, in each round that ran both (peers: runner slots)."""
    mine = slots.get(ours, {})
    out = []
    for n in sorted(mine):
        theirs = [slots[p][n] for p in peers if n in slots.get(p, {})]
        if theirs:
            out.append(min(theirs) / mine[n])
    return out


def drop_empty_columns(lines):
    """Removes the table columns no runner filled (e.g. runners left out of a grid run)."""
    rows = [[c.strip() for c in l.strip().strip("|").split("|")] if l.startswith("|") else None
            for l in lines]
    table = [r for r in rows if r is not None]
    width = max(len(r) for r in table)
    keep = [j for j in range(width)
            if any(r[j] and not set(r[j]) <= set("-:") for r in table[2:] if len(r) > j
                   and not r[0] in ("config",))]
    keep = sorted(set(keep) | {0})
    out = []
    for line, r in zip(lines, rows):
        out.append(line if r is None else "| " + " | ".join(r[j] for j in keep if j < len(r)) + " |")
    return out


def fmt(ms):
    return "" if ms is None else (f"{ms:.1f}" if ms >= 10 else f"{ms:.2f}")


def ratio(a, b):
    return None if a is None or b is None else a / b


def shown(x, by_round):
    """A ratio of the medians, and its range over the rounds where there were several."""
    if x is None:
        return ""
    spread = f" ({min(by_round):.2f}-{max(by_round):.2f})" if len(by_round) > 1 else ""
    return f"{x:.2f}x{spread}"


def records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def memory_table(path):
    """Training memory per config: what each run added to its process (peak RSS minus RSS
    before setup), and oneDNN's own account of workspace + weights + gradients. rnnwave is
    its wavefront runner; where the file also has runs with one weight copy
    (rnnwave_single_copy), two columns more give theirs. Returns the lines and, for each
    rnnwave runner (its target's name), how many configurations are within oneDNN's
    account, and of how many."""
    mem = collections.defaultdict(dict)
    for r in records(path):
        if "peak_rss_bytes" in r and "rss_before_setup_bytes" in r:
            runner = r.get("runner", r["tool"])  # older files: the tool alone
            mem[key_of(r["config"])]["onednn" if r["tool"] == "onednn" else runner] = r
    mib = lambda b: f"{b / 2**20:.1f}"  # noqa: E731
    added = lambda r: r["peak_rss_bytes"] - r["rss_before_setup_bytes"]  # noqa: E731
    ours_name = "rnnwave_wavefront" if any("rnnwave_wavefront" in m for m in mem.values()) else "rnnwave"
    single = any("rnnwave_single_copy" in m for m in mem.values())

    def added_by_kind(r, kind):
        """What a run added to one kind of resident memory (anonymous: arrays, arenas,
        stacks; file: pages of mapped files, mostly code), after its last pass; '' where
        the result does not say."""
        before, after = r.get("resident_before_setup_bytes", {}), r.get("resident_after_bytes", {})
        return mib(after[kind] - before[kind]) if kind in before and kind in after else ""

    head = ("| config | rnnwave: added peak RSS (MiB) | rnnwave: added anonymous / file-backed, "
            "after the run (MiB) | oneDNN: added peak RSS (MiB) "
            "| oneDNN: workspace + weights + grads (MiB) | rnnwave / oneDNN budget |")
    rule = "|---|---:|---:|---:|---:|---:|"
    if single:
        head += " rnnwave, one weight copy: added peak RSS (MiB) | one copy / oneDNN budget |"
        rule += "---:|---:|"
    lines = [head, rule]
    target = "training memory <= oneDNN workspace + weights + grads"
    met = {target: 0, **({target + ", one weight copy": 0} if single else {})}
    total = 0
    for k in sorted(mem):
        ours, dnnl = mem[k].get(ours_name), mem[k].get("onednn")
        if ours is None or dnnl is None:
            continue
        budget = dnnl["workspace_bytes"] + dnnl["weights_bytes"] + dnnl["grad_bytes"]
        total += 1
        met[target] += added(ours) <= budget
        kinds = " / ".join(filter(None, (added_by_kind(ours, kind) for kind in ("anonymous", "file"))))
        line = (f"| {label(k)} | {mib(added(ours))} | {kinds} | {mib(added(dnnl))} | {mib(budget)} "
                f"| {added(ours) / budget:.2f} |")
        one = mem[k].get("rnnwave_single_copy")
        if single:
            met[target + ", one weight copy"] += one is not None and added(one) <= budget
            line += (f" {mib(added(one))} | {added(one) / budget:.2f} |" if one is not None else " | |")
        lines.append(line)
    return lines, met, total


def efficiency_lines(times_path, sgemm_path):
    """LSTM uni L4 H1024 N64 training at 2 threads against the large-sgemm speed."""
    best = max((r["best_gflops"] for r in records(sgemm_path) if r.get("threads") == 2),
               default=None)
    ours = [r for r in records(times_path)
            if r.get("runner") == "rnnwave_wavefront" and r.get("requested_threads") == 2
            and key_of(r["config"]) == ("training", "lstm", False, 4, 1024, 64)]
    if best is None or not ours:
        return []
    gflops = ours[-1]["gflops"]
    return [f"LSTM uni L4 H1024 N64 training, 2 threads: {gflops:.0f} GFLOP/s; the best large "
            f"sgemm (4096^3, 2 threads) in the same session: {best:.0f} GFLOP/s; ratio "
            f"{gflops / best:.2f} (target 0.85)."]


def scaling_table(path):
    rows = medians(load([path]))
    counts = sorted({threads for slots in rows.values() for _, threads in slots})
    head = ("| config | " + " | ".join(f"wave {p}T" for p in counts) + " | "
            + " | ".join(f"oneDNN {p}T" for p in counts) + " | wave speed-up at "
            f"{counts[-1]}T | best wave / best oneDNN |")
    lines = [head, "|---|" + "---:|" * (2 * len(counts) + 2)]
    for k in sorted(rows):
        t = rows[k]
        wave = [t.get(("rnnwave_wavefront", p)) for p in counts]
        dnnl = [t.get(("onednn", p)) for p in counts]
        best_w = min(x for x in wave if x is not None)
        best_d = min(x for x in dnnl if x is not None)
        lines.append(f"| {k[0][:5]} {label(k)} | " + " | ".join(fmt(x) for x in wave + dnnl)
                     + f" | {wave[0] / wave[-1]:.1f}x | {best_d / best_w:.2f}x |")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jsonl", nargs="+")
    parser.add_argument("--markdown", required=True)
    parser.add_argument("--plot")
    parser.add_argument("--memory")
    parser.add_argument("--sgemm")
    parser.add_argument("--scaling")
    args = parser.parse_args()
    rounds = load(args.jsonl)
    times = medians(rounds)
    several = any(len(by_round) > 1 for slots in rounds.values() for by_round in slots.values())
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
            by_round_1t = round_ratios(rounds[k], [("onednn", 1)], ("rnnwave_wavefront", 1))
            by_round_2t = round_ratios(rounds[k], [("onednn", 2), ("pytorch", 2)],
                                       ("rnnwave_wavefront", 2))
            _, cell, bi, layers, hidden, batch = k
            if vs_onednn is not None:
                total["1T >= oneDNN"] += 1
                met["1T >= oneDNN"] += vs_onednn >= 1.0
                if several:
                    # The rule for ties: met only when the repeated runs agree.
                    total["1T >= oneDNN in every round"] += 1
                    met["1T >= oneDNN in every round"] += min(by_round_1t, default=vs_onednn) >= 1.0
            if scaling is not None and (layers == 4 or bi or batch == 64):
                total["2T scaling >= 1.8"] += 1
                met["2T scaling >= 1.8"] += scaling >= 1.8
            if vs_best is not None:
                goal = 1.5 if batch == 1 else 1.0
                name = "N=1: 2T >= 1.5x best peer" if batch == 1 else "N=64: 2T >= best peer"
                total[name] += 1
                met[name] += vs_best >= goal
                # The targets as stated: never slower than the best peer anywhere,
                # and 1.5x at N = 1 where the graph has parallelism (L >= 2 or two directions).
                total["2T >= best peer"] += 1
                met["2T >= best peer"] += vs_best >= 1.0
                if several:
                    total["2T >= best peer in every round"] += 1
                    met["2T >= best peer in every round"] += min(by_round_2t, default=vs_best) >= 1.0
                if batch == 1 and (layers >= 2 or bi):
                    total["N=1, L>=2 or bi: 2T >= 1.5x best peer"] += 1
                    met["N=1, L>=2 or bi: 2T >= 1.5x best peer"] += vs_best >= 1.5
                plot_points.append((f"{mode[:5]} {label(k)}", vs_best, goal))
            cells = [fmt(get("rnnwave_sequential", 1)), fmt(wave1), fmt(get("onednn", 1)),
                     fmt(get("pytorch", 1)), fmt(wave2), fmt(get("rnnwave_layerwise", 2)),
                     fmt(get("onednn", 2)), fmt(get("pytorch", 2))]
            ratios = [shown(vs_onednn, by_round_1t), shown(scaling, []), shown(vs_best, by_round_2t)]
            lines.append(f"| {label(k)} | " + " | ".join(cells + ratios) + " |")
        lines.append("")
    extra = []
    if args.memory:
        mem_lines, mem_met, mem_total = memory_table(args.memory)
        for target, count in mem_met.items():
            met[target] = count
            total[target] = mem_total
        extra += ["### memory of a training step (2 threads)", ""] + mem_lines + [""]
    if args.sgemm:
        extra += ["### training efficiency", ""] + efficiency_lines(args.jsonl[0], args.sgemm) + [""]
    if args.scaling:
        extra += ["### scaling", ""] + scaling_table(args.scaling) + [""]
    summary = ["| target | configurations meeting it |", "|---|---|"]
    summary += [f"| {name} | {met[name]} of {total[name]} |" for name in sorted(total)]
    lines = drop_empty_columns(lines)
    with open(args.markdown, "w") as f:
        f.write("\n".join(summary + [""] + lines + extra) + "\n")
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
