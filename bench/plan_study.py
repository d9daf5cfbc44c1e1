#!/usr/bin/python3
"""How often the planner's choice (rnnwave bench --plan auto) is within 5% of the best
candidate found by timing them all (--plan search), on the quick grid and on held-out
shapes the defaults were not written for (I != H, T = 20 to 1000, odd batches, L = 3).

For every shape and thread count it
  1. asks `rnnwave bench --plan auto --plan-only` for the planner's plan and predicted time
     (the calibration is measured once, by `rnnwave calibrate`, before the first shape);
  2. runs `rnnwave bench --plan search --json`, which times every candidate plan;
  3. times the search's best plan, the planner's plan and the default plan again, pinned
     (--schedule, --threads, --step-block, --batch-splits, --hidden-splits), with
     --repeats R each, interleaved, so that the comparison does not rest on the search's
     few repeats;
and appends one JSON line per (shape, threads) to --out. The summary at the end counts the
shapes where auto (and, for comparison, the default plan) is within 5% of the best, on
the grid and on the held-out shapes, and the model's error (predicted / measured - 1) of
the planner's plan.

    /usr/bin/python3 bench/plan_study.py --out out/plan_study.jsonl [--threads 1,2]
        [--only grid|heldout] [--shapes K] [--repeats 5] [--search-repeats 3]
    /usr/bin/python3 bench/plan_study.py --summary out/plan_study.jsonl
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from run_grid import configs  # noqa: E402  (the quick grid's shapes, defined once)

WITHIN = 1.05


def grid_shapes():
    for c in configs(quick=True):
        yield dict(set="grid", cell=c["cell"], layers=c["layers"], bidirectional=c["bidirectional"],
                   input=c["hidden"], hidden=c["hidden"], steps=100, batch=c["batch"], mode=c["mode"])


# Shapes users run that the fixed defaults were not tuned on: speech features (I = 13, 40,
# 80) and embeddings, short and long sequences, odd batches, three layers.
HELD_OUT = [
    dict(cell="lstm", layers=2, bidirectional=False, input=40, hidden=128, steps=20, batch=17, mode="inference"),
    dict(cell="lstm", layers=3, bidirectional=True, input=40, hidden=256, steps=500, batch=3, mode="training"),
    dict(cell="gru", layers=3, bidirectional=False, input=13, hidden=512, steps=200, batch=1, mode="inference"),
    dict(cell="gru", layers=2, bidirectional=True, input=80, hidden=256, steps=1000, batch=17, mode="inference"),
    dict(cell="lstm", layers=1, bidirectional=False, input=300, hidden=1024, steps=50, batch=3, mode="training"),
    dict(cell="rnn_tanh", layers=3, bidirectional=True, input=40, hidden=256, steps=100, batch=17, mode="training"),
]


def heldout_shapes():
    for s in HELD_OUT:
        yield dict(set="heldout", **s)


def shape_flags(s):
    flags = ["--cell", s["cell"], "--layers", str(s["layers"]), "--hidden-size", str(s["hidden"]),
             "--input-size", str(s["input"]), "--seq-len", str(s["steps"]), "--batch", str(s["batch"]),
             "--mode", s["mode"]]
    return flags + (["--bidirectional"] if s["bidirectional"] else [])


def plan_key(r):
    d = r["decomposition"]
    return (r["schedule"], r["threads"], d["step_block"], d["batch_splits"], d["hidden_splits"])


def pinned_flags(key):
    schedule, threads, block, splits, parts = key
    return ["--schedule", schedule, "--threads", str(threads), "--step-block", str(block),
            "--batch-splits", str(splits), "--hidden-splits", str(parts)]


def run_json(argv):
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {p.stderr.strip()[-400:]}")
    if p.stderr.strip():
        print(p.stderr.strip(), file=sys.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


def study(rnnwave, s, threads, args):
    shape = shape_flags(s)
    flags = shape + ["--threads", str(threads)]
    auto = run_json([rnnwave, "bench", *flags, "--plan", "auto", "--plan-only"])
    default = run_json([rnnwave, "bench", *flags, "--plan-only"])
    search = run_json([rnnwave, "bench", *flags, "--plan", "search", "--json", "--search-repeats",
                       str(args.search_repeats), "--repeats", "1", "--warmup", "0"])
    keys = {"best": plan_key(search["search"][0]), "auto": plan_key(auto), "default": plan_key(default)}
    distinct = sorted(set(keys.values()))
    times = {k: [] for k in distinct}
    for _ in range(args.repeats):  # interleaved: a slow spell of the machine hits all alike
        for key in distinct:
            r = run_json([rnnwave, "bench", *shape, *pinned_flags(key), "--repeats", "1",
                          "--warmup", "1", "--json"])
            times[key].append(r["median_ms"])
    median = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    best_ms = min(median.values())
    record = dict(shape=s, threads=threads, candidates=len(search["search"]),
                  plans={name: list(key) for name, key in keys.items()},
                  ms={name: median[key] for name, key in keys.items()},
                  predicted_auto_ms=auto["predicted_ms"],
                  # every candidate's search timing and predicted time, to study the model's
                  # ranking of the plans apart from the one it picked
                  search=[dict(plan=list(plan_key(r)), ms=r["median_ms"], predicted_ms=r.get("predicted_ms"))
                          for r in search["search"]])
    record["auto_ratio"] = median[keys["auto"]] / best_ms
    record["default_ratio"] = median[keys["default"]] / best_ms
    return record


def summarize(records):
    def count(subset, field):
        hits = sum(1 for r in subset if r[field] <= WITHIN)
        return f"{hits} of {len(subset)}"
    lines = []
    for name in ("grid", "heldout"):
        subset = [r for r in records if r["shape"]["set"] == name]
        if not subset:
            continue
        errors = sorted(r["predicted_auto_ms"] / r["ms"]["auto"] - 1 for r in subset)
        lines.append(f"{name}: auto within 5% of search on {count(subset, 'auto_ratio')}; "
                     f"default on {count(subset, 'default_ratio')}; worst auto ratio "
                     f"{max(r['auto_ratio'] for r in subset):.3f}; model error of auto's plan "
                     f"median {errors[len(errors) // 2]:+.1%}, range {errors[0]:+.1%} .. {errors[-1]:+.1%}")
    lines.append(f"all: auto within 5% on {count(records, 'auto_ratio')}, default on "
                 f"{count(records, 'default_ratio')}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="JSON lines, appended")
    parser.add_argument("--summary", help="only summarize this file of an earlier run")
    parser.add_argument("--rnnwave", default=os.path.join(ROOT, "build", "rnnwave"))
    parser.add_argument("--threads", default="2")
    parser.add_argument("--only", choices=["grid", "heldout"])
    parser.add_argument("--shapes", type=int, default=0, help="at most this many shapes per set (0: all)")
    parser.add_argument("--repeats", type=int, default=5, help="pinned timings of each compared plan")
    parser.add_argument("--search-repeats", type=int, default=3)
    args = parser.parse_args()
    if args.summary:
        with open(args.summary) as f:
            print(summarize([json.loads(line) for line in f if line.strip()]))
        return
    if not args.out:
        parser.error("--out is required (or --summary FILE)")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    calibration = subprocess.run([args.rnnwave, "calibrate"], capture_output=True, text=True)
    if calibration.returncode != 0:
        sys.exit(f"rnnwave calibrate failed: {calibration.stderr.strip()}")
    sets = {"grid": list(grid_shapes()), "heldout": list(heldout_shapes())}
    records = []
    started = time.monotonic()
    with open(args.out, "a") as out:
        for name, shapes in sets.items():
            if args.only and name != args.only:
                continue
            for s in shapes[:args.shapes or None]:
                for threads in [int(t) for t in args.threads.split(",")]:
                    r = study(args.rnnwave, s, threads, args)
                    records.append(r)
                    out.write(json.dumps(r) + "\n")
                    out.flush()
                    print(f"[{time.monotonic() - started:7.1f}s] {s} P={threads}: auto x{r['auto_ratio']:.3f} "
                          f"default x{r['default_ratio']:.3f} of the best ({r['candidates']} candidates)",
                          file=sys.stderr)
    print(summarize(records))


if __name__ == "__main__":
    main()
