#!/usr/bin/python3
"""A scaling model of the wavefront: replays the task graph of a pass, with each task's
cost measured on one thread, on P simulated cores, and predicts the pass's time at
P = 1, 2, 4, ... 64.

    rnnwave bench --cell lstm --layers 4 --hidden-size 256 --seq-len 100 --batch 64 \\
        --threads 1 --batch-splits S --hidden-splits Q --trace t1.json --json > b1.json
    rnnwave bench ... (same flags) --threads 2 --json > b2.json
    /usr/bin/python3 bench/scaling_model.py t1.json --bench b1.json --measured 2=b2.json \\
        [--dispatch-us X | --dispatch-trace t2.json] [--plot scaling.png] [--json]

The trace carries the graph exactly as the runtime ran it: every event's args hold its
task index in the pass's graph and its predecessors (rnnwave/trace.h). The model:

- time(P) = serial + sum over passes of makespan(pass, P). `serial` is what the traced
  1-thread repeat spent outside the graphs (its wall time, from --bench, minus the spans
  of its passes).
- makespan: list scheduling. A task is ready when its last predecessor ends; a free core
  takes the ready task that became ready first (ties: the lower task index, i.e. the
  order the runtime created them: libgomp queues a task when its dependences are met, in
  that order); when several cores are free the lowest-numbered one takes it.
- Each task costs its 1-thread duration plus a per-task overhead: on one core the gap
  the inline runner left between tasks (measured in the trace); on two or more the
  OpenMP dispatch cost (--dispatch-us, or estimated from a multi-thread trace of the same
  plan by --dispatch-trace: the median gap between two tasks of one thread when the
  second was already ready as the first ended).
- Below 8 rows with whole-sequence blocks the engine's graph depends on the threads
  (input gradients in a share per thread for two directions; forward graphs on the
  chain runtime by part): the one-thread trace's graph is then not the P-thread one, and
  the model does not follow the engine there.
- The chain runtime (docs/design.md §4): where the compared multi-thread trace shows
  it (every (layer, direction) chain ran on one thread), the passes at P cores of that
  plan, 2 <= P <= chains, are simulated as the engine runs them: chain c belongs to core
  c mod P, every core walks the tasks in the order the trace shows (the engine's
  chains order: two chains share a core at P = 2k only if they share one at P = 2), and
  runs each of its own when its predecessors are done, at the 1-thread trace's cost plus
  its per-task gap. Beyond P = chains the engine uses the dataflow runtime: a list
  schedule as above.
- Not modelled: memory bandwidth and caches shared by the cores (a task costs on P cores
  what it cost alone), the creation of the tasks by one thread, the start of the thread
  team. Where a pass is bound by memory bandwidth the model over-predicts the speedup.

The graph depends on the plan (step block, batch and hidden splits), and the engine's
default plan depends on the thread count: record the 1-thread trace with the
decomposition of the run it is compared with (the --measured files are checked for it).
`--rnnwave BIN --out DIR -- BENCH FLAGS` does all of it: it runs `BIN bench FLAGS` at
--compare threads (default 2) with a trace, then at 1 thread with that run's
decomposition pinned, and models them (the dispatch cost from the multi-thread trace).
"""
import argparse
import heapq
import json
import math
import os
import subprocess
import sys


class ModelError(Exception):
    """Bad input: reported as one line."""


def quoted(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


class Graph:
    """One pass: costs[i] (µs) and preds[i] (indices < i) of every task i."""

    def __init__(self, name, costs, preds, gap_us=0.0):
        self.name = name
        self.costs = list(costs)
        self.preds = [list(p) for p in preds]
        self.gap_us = gap_us  # the inline runner's overhead per task, µs
        self.chains = None  # the chain of each task, when the trace says
        self.chain_order = None  # the chain runtime's order, when a trace showed it
        for i, ps in enumerate(self.preds):
            for p in ps:
                if not (isinstance(p, int) and 0 <= p < i):
                    raise ModelError(f"{name}: task {i} has predecessor {quoted(p)}, "
                                     f"not a task before it (the graph must be topologically ordered)")

    def work(self):
        return sum(self.costs)

    def critical_path(self):
        finish = []
        for i, c in enumerate(self.costs):
            finish.append(c + max((finish[p] for p in self.preds[i]), default=0.0))
        return max(finish, default=0.0)


def makespan(graph, cores, overhead_us=0.0):
    """Time of the list schedule of `graph` on `cores` cores, each task costing its cost
    plus `overhead_us`: a free core takes the task ready first (ties: lower index)."""
    n = len(graph.costs)
    successors = [[] for _ in range(n)]
    waiting = [len(ps) for ps in graph.preds]
    for i, ps in enumerate(graph.preds):
        for p in ps:
            successors[p].append(i)
    ready = [(0.0, i) for i in range(n) if waiting[i] == 0]
    heapq.heapify(ready)
    free = [(0.0, core) for core in range(cores)]
    finish = [0.0] * n
    end = 0.0
    for _ in range(n):
        free_at, core = heapq.heappop(free)
        ready_at, i = heapq.heappop(ready)
        finish[i] = max(free_at, ready_at) + graph.costs[i] + overhead_us
        end = max(end, finish[i])
        heapq.heappush(free, (finish[i], core))
        for s in successors[i]:
            waiting[s] -= 1
            if waiting[s] == 0:
                heapq.heappush(ready, (max(finish[p] for p in graph.preds[s]), s))
    return end


def read_json(path, what):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise ModelError(f"{what} {quoted(path)}: {e.strerror}")
    except ValueError as e:
        raise ModelError(f"{what} {quoted(path)}: not JSON ({quoted(str(e))})")


def trace_passes(path):
    """The passes of a Chrome trace written by rnnwave: {pass: [event args + ts, dur]},
    each list indexed by task."""
    doc = read_json(path, "trace")
    events = doc.get("traceEvents") if isinstance(doc, dict) else None
    if not isinstance(events, list) or not events:
        raise ModelError(f"trace {quoted(path)}: no traceEvents")
    passes = {}
    for e in events:
        args = e.get("args", {}) if isinstance(e, dict) else {}
        try:
            name, task, preds = args["pass"], args["task"], args["preds"]
            ts, dur, tid = float(e["ts"]), float(e["dur"]), e["tid"]
        except (KeyError, TypeError, ValueError):
            raise ModelError(f"trace {quoted(path)}: an event without pass, task, preds, ts, dur "
                             f"(a trace of the wavefront schedule by a current rnnwave?): {quoted(e)}")
        if task == -1:
            raise ModelError(f"trace {quoted(path)}: a task outside any graph (the layerwise schedule "
                             f"has none: trace the wavefront)")
        if not isinstance(task, int) or task < 0 or not isinstance(preds, list):
            raise ModelError(f"trace {quoted(path)}: bad task {quoted(task)} or preds {quoted(preds)}")
        tasks = passes.setdefault(str(name), {})
        if task in tasks:
            raise ModelError(f"trace {quoted(path)}: task {task} of pass {quoted(name)} twice "
                             f"(several passes of one name in one trace?)")
        tasks[task] = {"ts": ts, "dur": max(dur, 0.0), "tid": tid, "preds": preds,
                       "layer": args.get("layer"), "direction": args.get("direction"),
                       "kind": args.get("kind")}
    result = {}
    for name, tasks in passes.items():
        if sorted(tasks) != list(range(len(tasks))):
            raise ModelError(f"trace {quoted(path)}: pass {quoted(name)} misses tasks "
                             f"(has {len(tasks)}, largest index {max(tasks)})")
        result[name] = [tasks[i] for i in range(len(tasks))]
    return result


def span_us(events):
    return max(e["ts"] + e["dur"] for e in events) - min(e["ts"] for e in events)


def graphs_of(passes):
    graphs = []
    for name, events in passes.items():
        g = Graph(name, [e["dur"] for e in events], [e["preds"] for e in events])
        g.gap_us = max(span_us(events) - g.work(), 0.0) / len(events)
        g.chains = chain_ids(events)
        graphs.append(g)
    return graphs


def chain_ids(events):
    """The chain of each task, layer x D + max(direction, 0) as the engine numbers them, or
    None when the trace does not say."""
    if any(not isinstance(e["layer"], int) or not isinstance(e["direction"], int) for e in events):
        return None
    directions = 2 if any(e["direction"] == 1 for e in events) else 1
    return [e["layer"] * directions + max(e["direction"], 0) for e in events]


def chain_orders(passes):
    """{pass: its tasks in start order} when a multi-thread trace was run by the chain
    runtime (every chain on one thread, two threads or more), else None."""
    orders = {}
    for name, events in passes.items():
        chains = chain_ids(events)
        if chains is None:
            return None
        thread_of = {}
        for c, e in zip(chains, events):
            if thread_of.setdefault(c, e["tid"]) != e["tid"]:
                return None
        if len(set(thread_of.values())) < 2:
            return None
        orders[name] = sorted(range(len(events)), key=lambda i: (events[i]["ts"], i))
    return orders


def chains_makespan(graph, cores, order, overhead_us=0.0):
    """Time of `graph` run by the chain runtime on `cores` cores: chain c on core c mod
    cores, each core taking its tasks in `order` (a topological order), each when its
    predecessors have ended."""
    free = [0.0] * cores
    finish = [0.0] * len(graph.costs)
    for i in order:
        core = graph.chains[i] % cores
        start = max([free[core]] + [finish[p] for p in graph.preds[i]])
        finish[i] = free[core] = start + graph.costs[i] + overhead_us
    return max(finish, default=0.0)


def dispatch_from_trace(passes):
    """Median gap (µs) between consecutive tasks of one thread when the second was ready
    by the time the first ended: what the runtime costs per task."""
    gaps = []
    for events in passes.values():
        by_thread = {}
        for e in events:
            by_thread.setdefault(e["tid"], []).append(e)
        for run in by_thread.values():
            run.sort(key=lambda e: e["ts"])
            for a, b in zip(run, run[1:]):
                a_end = a["ts"] + a["dur"]
                ready = max((events[p]["ts"] + events[p]["dur"] for p in b["preds"]), default=-math.inf)
                if ready <= a_end:
                    gaps.append(b["ts"] - a_end)
    if not gaps:
        raise ModelError("dispatch trace: no two tasks of one thread with the second ready in time")
    gaps.sort()
    return gaps[len(gaps) // 2]


def bench_record(path):
    doc = read_json(path, "bench result")
    times = doc.get("times_ms") if isinstance(doc, dict) else None
    if (not isinstance(times, list) or not times or not all(isinstance(t, (int, float)) for t in times)
            or not isinstance(doc.get("median_ms"), (int, float)) or doc["median_ms"] <= 0
            or not isinstance(doc.get("threads"), int)):
        raise ModelError(f"bench result {quoted(path)}: not the JSON of `rnnwave bench --json`")
    return doc


class Model:
    """The graphs of one plan's passes, and the time its 1-thread run spent outside them."""

    def __init__(self, graphs, serial_us=0.0, plan=None):
        self.graphs, self.serial_us, self.plan = graphs, serial_us, plan

    def by_chains(self, cores):
        """Whether the engine runs this plan at `cores` by the chain runtime."""
        return all(g.chain_order is not None and 2 <= cores <= max(g.chains) + 1 for g in self.graphs)

    def time_us(self, cores, dispatch_us):
        if self.by_chains(cores):
            return self.serial_us + sum(chains_makespan(g, cores, g.chain_order, g.gap_us) for g in self.graphs)
        return self.serial_us + sum(makespan(g, cores, g.gap_us if cores == 1 else dispatch_us)
                                    for g in self.graphs)

    def use_chain_orders(self, orders):
        """Takes the chain runtime's order of each pass from a trace of the same plan."""
        if orders is None or sorted(orders) != sorted(g.name for g in self.graphs):
            return
        for g in self.graphs:
            if g.chains is None or len(orders[g.name]) != len(g.costs):
                return
        for g in self.graphs:
            g.chain_order = orders[g.name]

    def bound_us(self, cores):
        return self.serial_us + sum(max(g.critical_path(), g.work() / cores) for g in self.graphs)


def load_model(trace, bench=None):
    """The model of a 1-thread trace and, if given, the `rnnwave bench --json` of its run."""
    graphs = graphs_of(trace_passes(trace))
    if bench is None:
        return Model(graphs)
    record = bench_record(bench)
    if record["threads"] != 1:
        raise ModelError(f"--bench: the traced run must have 1 thread, has {quoted(record['threads'])}")
    # The traced repeat is the last one.
    spans = sum(g.work() + g.gap_us * len(g.costs) for g in graphs)
    return Model(graphs, max(record["times_ms"][-1] * 1e3 - spans, 0.0), record.get("decomposition"))


def predict(models, dispatch_us):
    """models: {cores: the Model of the plan run on that many cores}."""
    rows = []
    for P, model in sorted(models.items()):
        rows.append({"cores": P, "predicted_ms": model.time_us(P, dispatch_us) / 1e3,
                     "bound_ms": model.bound_us(P) / 1e3, "plan": model.plan,
                     "runtime": "chains" if model.by_chains(P) else "dataflow" if P > 1 else "inline"})
    for r in rows:
        r["speedup"] = rows[0]["predicted_ms"] / r["predicted_ms"]
    return rows


def parse_measured(items):
    measured = {}
    for item in items:
        threads, sep, path = item.partition("=")
        if not sep or not threads.isdigit() or int(threads) < 1:
            raise ModelError(f"--measured wants THREADS=FILE, got {quoted(item)}")
        measured[int(threads)] = bench_record(path)
    return measured


def check_same_plan(reference, measured):
    for threads, record in measured.items():
        if record.get("decomposition") != reference.get("decomposition"):
            raise ModelError(f"--measured {threads}: decomposition {quoted(record.get('decomposition'))} "
                             f"differs from the traced run's {quoted(reference.get('decomposition'))}: "
                             f"pin --step-block, --batch-splits and --hidden-splits in both")


def plan_flags(record):
    d = record.get("decomposition") or {}
    try:
        return ["--step-block", str(int(d["step_block"])), "--batch-splits", str(int(d["batch_splits"])),
                "--hidden-splits", str(int(d["hidden_splits"]))]
    except (KeyError, TypeError, ValueError):
        raise ModelError(f"bench result without a decomposition: {quoted(d)}")


def run_bench(binary, flags, threads, trace, result):
    command = [binary, "bench", *flags, "--threads", str(threads), "--trace", trace, "--json"]
    try:
        with open(result, "w") as f:
            done = subprocess.run(command, stdout=f, stderr=subprocess.PIPE, text=True)
    except OSError as e:
        raise ModelError(f"cannot run {quoted(binary)}: {e.strerror}")
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["(no message)"]
        raise ModelError(f"{quoted(' '.join(command), 200)} failed: {quoted(lines[-1], 200)}")
    return bench_record(result)


def plan_of(binary, flags, threads):
    """The decomposition `rnnwave bench --plan-only` reports for `threads` threads."""
    command = [binary, "bench", *flags, "--threads", str(threads), "--plan-only"]
    try:
        done = subprocess.run(command, capture_output=True, text=True)
    except OSError as e:
        raise ModelError(f"cannot run {quoted(binary)}: {e.strerror}")
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["(no message)"]
        raise ModelError(f"{quoted(' '.join(command), 200)} failed: {quoted(lines[-1], 200)}")
    try:
        return json.loads(done.stdout)["decomposition"]
    except (ValueError, KeyError, TypeError):
        raise ModelError(f"{quoted(' '.join(command), 200)}: no plan in {quoted(done.stdout)}")


def measure(args, cores):
    """Runs the bench at args.compare threads, then at 1 thread with its plan, into args.out;
    with --plan-per-cores also at 1 thread with the plan of each core count. Returns the
    model of each core count's plan."""
    if not args.out:
        raise ModelError("--rnnwave needs --out DIR for the traces and results")
    os.makedirs(args.out, exist_ok=True)
    flags = args.bench_flags
    if not flags:
        raise ModelError("--rnnwave needs the model's bench flags after --")
    for f in ("--threads", "--trace", "--json", "--step-block", "--batch-splits", "--hidden-splits", "--plan-only"):
        if f in flags:
            raise ModelError(f"leave {f} out of the bench flags: the model sets it")
    path = lambda name: os.path.join(args.out, name)  # noqa: E731
    compared = run_bench(args.rnnwave, flags, args.compare, path(f"trace_{args.compare}t.json"),
                         path(f"bench_{args.compare}t.json"))
    run_bench(args.rnnwave, flags + plan_flags(compared), 1, path("trace_1t.json"), path("bench_1t.json"))
    args.trace, args.bench = path("trace_1t.json"), path("bench_1t.json")
    args.measured = [f"{args.compare}={path(f'bench_{args.compare}t.json')}"]
    if args.dispatch_us is None:
        args.dispatch_trace = path(f"trace_{args.compare}t.json")
    base = load_model(args.trace, args.bench)
    if not args.plan_per_cores:
        return {P: base for P in cores}
    by_plan = {json.dumps(base.plan, sort_keys=True): base}
    models = {}
    for P in cores:
        plan = plan_of(args.rnnwave, flags, P)
        key = json.dumps(plan, sort_keys=True)
        if key not in by_plan:
            name = "_".join(f"{k}{plan[k]}" for k in ("step_block", "batch_splits", "hidden_splits"))
            run_bench(args.rnnwave, flags + plan_flags({"decomposition": plan}), 1,
                      path(f"trace_1t_{name}.json"), path(f"bench_1t_{name}.json"))
            by_plan[key] = load_model(path(f"trace_1t_{name}.json"), path(f"bench_1t_{name}.json"))
        models[P] = by_plan[key]
    return models


def plot(rows, measured_speedups, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cores = [r["cores"] for r in rows]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(cores, [r["speedup"] for r in rows], "o-", label="model")
    one = rows[0]["predicted_ms"]
    ax.plot(cores, [one / r["bound_ms"] for r in rows], "--", label="bound (critical path, work/P)")
    if measured_speedups:
        ax.plot(list(measured_speedups), list(measured_speedups.values()), "s", label="measured")
    ax.plot(cores, cores, ":", color="grey", label="linear")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("cores")
    ax.set_ylabel("speedup over 1 core")
    ax.set_title(title[:90], fontsize=7)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def markdown_row(name, rows, measured_rows):
    """The row of the table in docs/benchmarks.md: measured and predicted 1 and 2 threads,
    the 2-thread error, predicted speedups beyond 2 cores and the bound's at the most."""
    by_threads = {r["threads"]: r for r in measured_rows}
    cells = [name]
    for t in (1, 2):
        r = by_threads.get(t)
        cells += [f"{r['measured_ms']:.1f}", f"{r['predicted_ms']:.1f}"] if r else ["", ""]
    cells.append(f"{100 * by_threads[2]['error']:+.1f}%" if 2 in by_threads else "")
    cells.append(" / ".join(f"{r['speedup']:.2f}" for r in rows if r["cores"] > 2))
    cells.append(f"{rows[0]['predicted_ms'] / rows[-1]['bound_ms']:.2f}")
    return "| " + " | ".join(cells) + " |"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trace", nargs="?",
                    help="Chrome trace of a 1-thread wavefront run (rnnwave bench --threads 1 --trace)")
    ap.add_argument("--bench", help="`rnnwave bench --json` of that run: its last time is the traced repeat")
    ap.add_argument("--measured", action="append", default=[], metavar="THREADS=FILE",
                    help="`rnnwave bench --json` at THREADS threads, same flags, to compare with")
    ap.add_argument("--dispatch-us", type=float, help="OpenMP cost per task on 2+ cores, µs")
    ap.add_argument("--dispatch-trace", help="trace of a multi-thread run of the same plan, to estimate it")
    ap.add_argument("--cores", default="1,2,4,8,16,32,64", help="core counts (default 1,2,4,...,64)")
    ap.add_argument("--plot", help="PNG of predicted speedup vs cores")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--row", metavar="NAME", help="also print the row NAME of the table in docs/benchmarks.md, last")
    ap.add_argument("--rnnwave", help="measure first with this binary (then give --out and -- BENCH FLAGS)")
    ap.add_argument("--out", help="folder for the traces and results of --rnnwave")
    ap.add_argument("--compare", type=int, default=2, help="threads of the measured run of --rnnwave (default 2)")
    ap.add_argument("--plan-per-cores", action="store_true",
                    help="with --rnnwave: predict each core count with the graph of its own plan")
    argv = sys.argv[1:] if argv is None else list(argv)
    # Everything after "--" is for `rnnwave bench`.
    split = argv.index("--") if "--" in argv else len(argv)
    args = ap.parse_args(argv[:split])
    args.bench_flags = argv[split + 1:]
    try:
        cores = [int(c) for c in args.cores.split(",")]
        if not cores or min(cores) < 1 or cores[0] != 1:
            raise ValueError
    except ValueError:
        raise ModelError(f"--cores wants positive integers starting at 1, got {quoted(args.cores)}")
    models = None
    if args.rnnwave:
        if args.trace or args.bench or args.measured:
            raise ModelError("--rnnwave makes the trace and results: give no trace, --bench or --measured")
        if args.compare < 2:
            raise ModelError(f"--compare wants 2 or more threads, got {args.compare}")
        models = measure(args, cores)
    elif not args.trace:
        raise ModelError("give a trace, or --rnnwave BIN --out DIR -- BENCH FLAGS")
    elif args.plan_per_cores:
        raise ModelError("--plan-per-cores needs --rnnwave (it runs the plan of each core count)")
    # The model of the traced run, whose plan the measured runs share.
    base = load_model(args.trace, args.bench)
    if models is None:
        models = {P: base for P in cores}
    measured = parse_measured(args.measured)
    if args.bench:
        check_same_plan(bench_record(args.bench), measured)
        measured[1] = bench_record(args.bench)
    if args.dispatch_us is not None and not (0 <= args.dispatch_us < math.inf):
        raise ModelError(f"--dispatch-us must be a finite number >= 0, got {args.dispatch_us}")
    if args.dispatch_us is not None and args.dispatch_trace:
        raise ModelError("give --dispatch-us or --dispatch-trace, not both")
    if args.dispatch_trace:
        compared = trace_passes(args.dispatch_trace)
        dispatch_us, source = dispatch_from_trace(compared), "dispatch trace"
        # The traced run's plan, and every core count's model that shares its graphs.
        orders = chain_orders(compared)
        for model in {id(m): m for m in [base, *models.values()]}.values():
            if model.plan == base.plan:
                model.use_chain_orders(orders)
    elif args.dispatch_us is not None:
        dispatch_us, source = args.dispatch_us, "--dispatch-us"
    else:
        # The inline runner's gap: a lower bound of what OpenMP costs per task.
        dispatch_us = max(g.gap_us for g in base.graphs)
        source = "1-thread gap (lower bound)"
    rows = predict(models, dispatch_us)
    measured_rows = []
    for threads in sorted(measured):
        m = measured[threads]["median_ms"]
        predicted = base.time_us(threads, dispatch_us) / 1e3
        measured_rows.append({"threads": threads, "measured_ms": m, "predicted_ms": predicted,
                              "error": predicted / m - 1})
    graphs = base.graphs
    summary = {"plan": base.plan, "tasks": {g.name: len(g.costs) for g in graphs},
               "work_ms": sum(g.work() for g in graphs) / 1e3,
               "critical_path_ms": sum(g.critical_path() for g in graphs) / 1e3,
               "serial_ms": base.serial_us / 1e3, "dispatch_us": dispatch_us, "dispatch_from": source,
               "predicted": rows, "measured": measured_rows}
    if args.plot:
        # Measured speedups over the measured 1-thread run, when there is one.
        one = measured[1]["median_ms"] if 1 in measured else rows[0]["predicted_ms"]
        speedups = {r["threads"]: one / r["measured_ms"] for r in measured_rows}
        title = os.path.basename(args.trace) if not args.bench_flags else " ".join(args.bench_flags)
        plot(rows, speedups, args.plot, title)
    if args.json:
        print(json.dumps(summary))
        return
    print(f"plan {summary['plan']}: tasks {summary['tasks']}, work {summary['work_ms']:.3f} ms, critical path "
          f"{summary['critical_path_ms']:.3f} ms, serial {summary['serial_ms']:.3f} ms, "
          f"dispatch {dispatch_us:.2f} µs/task ({source})")
    print("cores  predicted_ms  speedup  bound_ms  runtime   plan")
    for r in rows:
        plan = r["plan"] or {}
        plan = " ".join(f"{k}={plan[k]}" for k in ("step_block", "batch_splits", "hidden_splits") if k in plan)
        print(f"{r['cores']:5d}  {r['predicted_ms']:12.3f}  {r['speedup']:7.2f}  {r['bound_ms']:8.3f}  "
              f"{r['runtime']:8s}  {plan}")
    for r in measured_rows:
        print(f"measured {r['threads']} thread(s): {r['measured_ms']:.3f} ms, predicted "
              f"{r['predicted_ms']:.3f} ms, error {100 * r['error']:+.1f}%")
    if args.row:
        print(markdown_row(args.row, rows, measured_rows))


if __name__ == "__main__":
    try:
        main()
    except ModelError as e:
        sys.exit(f"scaling_model: {e}")
