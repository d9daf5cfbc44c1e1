#!/usr/bin/python3
"""Predicts the time per training epoch of the layer pipeline (`rnnwave train --pipeline`)
on 1 to L nodes, by replaying the recurrent stack's task graphs with the layers split
over the nodes as the pipeline splits them.

Two steps. `measure` runs what the model needs on this machine and writes one JSON file:

  - one process of 1 thread, traced (`rnnwave train --trace`): every task of the stack's
    forward and backward passes of the last epoch's training batches, with its cost, its
    predecessors, its layer and its steps; and the time per batch outside those passes
    (the trainer's train_seconds over the batches, less the passes' spans): the head's
    and the embedding's weight gradients, clipping, the optimizer, the weight packing;
  - the same at --threads C (the node's cores), for the time outside the passes at C
    threads and the runtime's cost per task on several cores (as bench/scaling_model.py);
  - the one-way time of a message through the pipeline's own channel on 2 ranks
    (`bench_dist_mpi`'s pingpong_pipe), fitted as a + b / bandwidth;
  - the runs the model is checked against, interleaved over --repeats rounds: the pipeline
    on 2 ranks x 1 thread, and one process of C threads.

`predict` replays each batch's two passes on K nodes of C cores:

  - a task runs on the node that owns its layer (`pipeline_layers`: contiguous ranges,
    the first L mod K nodes one layer more); each node is a list schedule of its own
    (bench/scaling_model.py: the task ready first, ties by index; each task its 1-thread
    cost plus the per-task cost);
  - an edge between nodes is a message: the predecessor's block of steps,
    steps x rows x directions x output size floats, arrives latency + bytes / bandwidth
    after the predecessor ends (up in the forward pass, down in the backward);
  - the output tasks are where one process runs the head on each block of the top layer's
    output; in the pipeline every node runs it, after its own layers and as each block
    arrives from the top node (docs/distributed.md section 8), so on K > 1 nodes their
    cost moves from the graph to a chain of its own on every node;
  - after the backward pass every node gathers the other nodes' weight gradients (its
    share of the stack's parameters from each), then runs the rest of the batch: the
    time outside the passes, measured, the same on every node.

  per batch on K nodes = outside(C) + forward(K, C) + backward(K, C) + gather(K)
  epoch               = --items / batch  x  per batch

Not modelled: the final states sent to every rank (a few KiB), contention between the
messages of one node, memory bandwidth shared by a node's cores, the order the engine's
one-thread stage prefers (upper layers first; the model takes tasks as they become ready).
The check applies the same replay with this machine's fitted message cost at K = 2, C = 1.

    /usr/bin/python3 bench/pipeline/pipeline_scaling_model.py measure --rnnwave build/rnnwave \\
        --bench-dist build/bench_dist_mpi --out out/pipe/deep.json -- \\
        --task synthetic --cell lstm --layers 8 --hidden-size 256 --synthetic-steps 100 \\
        --synthetic-train 64 --synthetic-eval 4 --batch-size 4
    /usr/bin/python3 bench/pipeline/pipeline_scaling_model.py predict out/pipe/deep.json \\
        --items 64 --plot out/pipe/deep.png

The flags after -- are `rnnwave train`'s (task, model, data subset, batch); every run
trains 2 epochs of them and the model uses the second. Needs Open MPI's mpirun for the
bench and the check. Writes only the --out file and a temporary directory.
"""
import argparse
import heapq
import json
import math
import os
import shlex
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "dist"))
import mpi_cases  # noqa: E402  (the launcher's flags)
from dist_scaling_model import fit_test, npz_shapes, run, train_seconds  # noqa: E402
from scaling_model import ModelError, dispatch_from_trace, quoted, read_json, span_us  # noqa: E402


EPOCHS = 2  # every measured run; the model uses the last (the first builds the graphs)
OWN_FLAGS = {"--out", "--epochs", "--threads", "--trace", "--pipeline", "--shards", "--resume"}


# --- the model ---------------------------------------------------------------------------

def pipeline_layers(layers, nodes, node):
    """[begin, end) of the layers of `node`: dist/layer_range.h's rule."""
    base, extra = divmod(layers, nodes)
    begin = node * base + min(node, extra)
    return begin, begin + base + (1 if node < extra else 0)


def node_of_layers(layers, nodes):
    owner = []
    for k in range(nodes):
        begin, end = pipeline_layers(layers, nodes, k)
        owner += [k] * (end - begin)
    return owner


class Pass:
    """One traced pass: per task its cost (µs), predecessors, layer, kind and message bytes
    (the block of steps it produces, as the next node would receive it)."""

    def __init__(self, name, costs, preds, layers, kinds, block_bytes, gap_us=0.0):
        n = len(costs)
        if not (len(preds) == len(layers) == len(kinds) == len(block_bytes) == n):
            raise ModelError(f"pass {quoted(name)}: its task lists differ in length")
        for i, ps in enumerate(preds):
            if any(not isinstance(p, int) or not 0 <= p < i for p in ps):
                raise ModelError(f"pass {quoted(name)}: task {i} has predecessors {quoted(ps)}, "
                                 f"not all tasks before it")
        self.name, self.costs, self.preds = name, costs, preds
        self.layers, self.kinds, self.block_bytes, self.gap_us = layers, kinds, block_bytes, gap_us

    def to_json(self):
        return {"name": self.name, "costs": self.costs, "preds": self.preds, "layers": self.layers,
                "kinds": self.kinds, "block_bytes": self.block_bytes, "gap_us": self.gap_us}

    @staticmethod
    def from_json(d):
        return Pass(d["name"], d["costs"], d["preds"], d["layers"], d["kinds"], d["block_bytes"], d["gap_us"])


def replay(p, owner, cores, overhead_us, message_us):
    """Finish time (µs) of pass `p` with layer l's tasks on node owner[l], each node a list
    schedule on `cores` cores; an edge between nodes delays its successor by
    message_us(bytes). With several nodes the output tasks' cost (the head) runs on every
    node as a chain of its own (see the module's text). Returns the last node's end."""
    n, nodes = len(p.costs), max(owner) + 1
    top = owner[-1]

    def node(i):  # tasks without a layer (none today) go with the top layer
        return owner[p.layers[i]] if 0 <= p.layers[i] < len(owner) else top

    head = [i for i in range(n) if p.kinds[i] == "output"] if nodes > 1 else []
    cost = list(p.costs)
    for i in head:
        cost[i] = 0.0  # the top node's output task only sends the block
    successors = [[] for _ in range(n)]
    waiting = [len(ps) for ps in p.preds]
    for i, ps in enumerate(p.preds):
        for q in ps:
            successors[q].append(i)
    ready_at = [0.0] * n
    queues = [[] for _ in range(nodes)]
    for i in range(n):
        if waiting[i] == 0:
            heapq.heappush(queues[node(i)], (0.0, i))
    idle = [cores] * nodes
    running, finish, now = [], [0.0] * n, 0.0
    done = 0
    while done < n:
        for k in range(nodes):
            while idle[k] and queues[k] and queues[k][0][0] <= now:
                _, i = heapq.heappop(queues[k])
                idle[k] -= 1
                heapq.heappush(running, (now + cost[i] + overhead_us, i))
        # The next event: a task ends, or a task becomes ready on a node with a free core.
        events = [queues[k][0][0] for k in range(nodes) if idle[k] and queues[k]]
        events += [running[0][0]] if running else []
        if not events:
            raise ModelError(f"pass {quoted(p.name)}: tasks wait on predecessors that never run")
        now = min(events)
        while running and running[0][0] <= now:
            end, i = heapq.heappop(running)
            finish[i] = end
            done += 1
            idle[node(i)] += 1
            for s in successors[i]:
                delay = message_us(p.block_bytes[i]) if node(s) != node(i) else 0.0
                ready_at[s] = max(ready_at[s], end + delay)
                waiting[s] -= 1
                if waiting[s] == 0:
                    heapq.heappush(queues[node(s)], (ready_at[s], s))
    own_end = [0.0] * nodes
    for i in range(n):
        own_end[node(i)] = max(own_end[node(i)], finish[i])
    ends = []
    for k in range(nodes):
        t = own_end[k]
        for i in head:  # in block order: the graph creates the output tasks so
            arrival = finish[i] + (message_us(p.block_bytes[i]) if k != top else 0.0)
            t = max(t, arrival) + p.costs[i]
        ends.append(t)
    return max(ends)


def gather_us(layer_bytes, owner, message_us):
    """Every node receives each other node's weight gradients, one message per node, one
    after the other: the slowest node's total."""
    nodes = max(owner) + 1
    share = [0] * nodes
    for l, b in enumerate(layer_bytes):
        share[owner[l]] += b
    return max(sum(message_us(share[j]) for j in range(nodes) if j != k) for k in range(nodes))


def batch_parts(batch, layer_bytes, nodes, cores, overhead_us, message_us):
    """(µs of the batch's forward and backward passes replayed, µs of the gather) on
    `nodes` nodes of `cores` cores."""
    owner = node_of_layers(len(layer_bytes), nodes)
    passes = sum(replay(p, owner, cores, p.gap_us if cores == 1 else overhead_us, message_us) for p in batch)
    return passes, gather_us(layer_bytes, owner, message_us) if nodes > 1 else 0.0


def batch_us(batch, layer_bytes, nodes, cores, overhead_us, outside_us, message_us):
    """One batch's predicted time: its passes, the gather and the time outside the passes."""
    return outside_us + sum(batch_parts(batch, layer_bytes, nodes, cores, overhead_us, message_us))


# --- reading a trainer's trace -----------------------------------------------------------

def trace_segments(path):
    """The passes of a `train --trace` file in the order they ran: [(name, events)], a new
    pass wherever the pass name changes or the task index starts again at 0."""
    doc = read_json(path, "trace")
    events = doc.get("traceEvents") if isinstance(doc, dict) else None
    if not isinstance(events, list) or not events:
        raise ModelError(f"trace {quoted(path)}: no traceEvents")
    segments = []
    for e in events:
        try:
            a = e["args"]
            name, task = a["pass"], a["task"]
            record = {"ts": float(e["ts"]), "dur": max(float(e["dur"]), 0.0), "tid": e["tid"],
                      "preds": list(a["preds"]), "layer": int(a["layer"]), "kind": str(a["kind"]),
                      "steps": [int(s) for s in a["steps"]], "batch": [int(b) for b in a["batch"]]}
        except (KeyError, TypeError, ValueError):
            raise ModelError(f"trace {quoted(path)}: an event without the wavefront's task args: {quoted(e)}")
        if not segments or segments[-1][0] != name or task == 0:
            segments.append((name, []))
        if task != len(segments[-1][1]):
            raise ModelError(f"trace {quoted(path)}: task {quoted(task)} of pass {quoted(name)} out of order "
                             f"(expected {len(segments[-1][1])}; a trace of the layerwise schedule?)")
        segments[-1][1].append(record)
    return segments


def training_batches(segments, epochs):
    """The last epoch's (forward, backward) pairs of a trace of `epochs` epochs:
    evaluation's passes are forward passes without a backward."""
    pairs = [(segments[i], segments[i + 1]) for i in range(len(segments) - 1)
             if segments[i][0] == "forward" and segments[i + 1][0] == "backward"]
    if not pairs or len(pairs) % epochs:
        raise ModelError(f"the trace holds {len(pairs)} training batches, not the same count in each of "
                         f"{epochs} epochs")
    return pairs[-(len(pairs) // epochs):]


def pass_of(name, events, row_bytes):
    costs = [e["dur"] for e in events]
    gap = max(span_us(events) - sum(costs), 0.0) / len(events)
    block = [(e["steps"][1] - e["steps"][0]) * (e["batch"][1] - e["batch"][0]) * row_bytes for e in events]
    return Pass(name, costs, [e["preds"] for e in events], [e["layer"] for e in events],
                [e["kind"] for e in events], block, gap)


def stack_shape(model_npz):
    """(bytes of each layer's parameters, bytes of one row of a layer's output) of the
    `rnn.` parameters of a trainer's model.npz (header shapes only)."""
    layers, width, directions = {}, 0, 1
    for key, shape in npz_shapes(model_npz).items():
        if not key.startswith("rnn.") or "_l" not in key:
            continue
        suffix = key.rsplit("_l", 1)[1]
        layer = int(suffix.split("_")[0])
        directions = max(directions, 2 if suffix.endswith("_reverse") else 1)
        layers[layer] = layers.get(layer, 0) + 4 * math.prod(shape)
        if key.startswith("rnn.weight_hh_l0") and len(shape) == 2:
            width = shape[1]
    if not layers or sorted(layers) != list(range(len(layers))) or not width:
        raise ModelError(f"{quoted(model_npz)}: no recurrent stack (rnn.weight_hh_l0 ...) in the model")
    return [layers[l] for l in range(len(layers))], 4 * directions * width


# --- measuring ---------------------------------------------------------------------------

PASSIVE = dict(os.environ, OMP_WAIT_POLICY="passive")


class Runs:
    def __init__(self, o, work):
        self.o, self.work, self.count = o, work, 0

    def train(self, threads, ranks=1, trace=False, extra=()):
        """Runs EPOCHS epochs; returns (run directory, trace path or None)."""
        self.count += 1
        out = os.path.join(self.work, f"run{self.count}")
        args = ["train", "--out", out, "--epochs", str(EPOCHS), "--threads", str(threads), *self.o.train_flags, *extra]
        trace_path = os.path.join(self.work, f"trace{self.count}.json") if trace else None
        if trace_path:
            args += ["--trace", trace_path]
        command = [self.o.rnnwave, *args]
        if ranks > 1:
            command = mpi_cases.launch_command(self.o.mpirun, ranks, self.o.rnnwave, args)
        run(command, env=PASSIVE)
        return out, trace_path


class Profile:
    """A traced run of EPOCHS epochs: its last epoch's batches as passes, the time per
    batch outside them (µs), the epoch's seconds, and the passes keyed for
    dispatch_from_trace."""

    def __init__(self, run_dir, trace_path, row_bytes):
        segments = trace_segments(trace_path)
        pairs = training_batches(segments, EPOCHS)
        self.seconds = train_seconds(run_dir)
        inside = sum(span_us(f[1]) + span_us(b[1]) for f, b in pairs)
        self.batches = [[pass_of("forward", f[1], row_bytes), pass_of("backward", b[1], row_bytes)]
                        for f, b in pairs]
        self.outside_us = max(self.seconds * 1e6 - inside, 0.0) / len(pairs)
        self.passes = {str(i): events for i, (_, events) in enumerate(segments)}


def measure(o):
    result = {"train_flags": o.train_flags, "threads": o.threads, "check": []}
    with tempfile.TemporaryDirectory(prefix="pipeline_model_") as work:
        runs = Runs(o, work)
        one_dir, one_trace = runs.train(1, trace=True)
        layer_bytes, row_bytes = stack_shape(os.path.join(one_dir, "model.npz"))
        one = Profile(one_dir, one_trace, row_bytes)
        c_dir, c_trace = runs.train(o.threads, trace=True)
        many = Profile(c_dir, c_trace, row_bytes)
        result.update({"layer_bytes": layer_bytes, "row_bytes": row_bytes, "outside_1_us": one.outside_us,
                       "outside_c_us": many.outside_us, "batches": [[p.to_json() for p in b] for b in one.batches],
                       "epoch_1_thread_s": one.seconds, "epoch_c_threads_traced_s": many.seconds,
                       "dispatch_us": dispatch_from_trace(many.passes) if o.threads > 1 else 0.0})
        print(f"{len(one.batches)} batches per epoch; outside the passes {one.outside_us / 1e3:.2f} ms per "
              f"batch at 1 thread, {many.outside_us / 1e3:.2f} at {o.threads}", flush=True)
        if o.bench_dist:
            out = run([*mpi_cases.launch_command(o.mpirun, 2, o.bench_dist, []),
                       "--seconds", "0.2", "--max-bytes", str(max(8, max(layer_bytes) * 4))], env=PASSIVE)
            result["message_2_ranks"] = fit_test(out, "pingpong_pipe")
        for _ in range(o.repeats):  # interleaved: the pipeline on 2 x 1, one process of C threads
            pipe_dir, _ = runs.train(1, ranks=2, extra=["--pipeline"])
            whole_dir, _ = runs.train(o.threads)
            pipe, whole = train_seconds(pipe_dir), train_seconds(whole_dir)
            result["check"].append({"pipeline_2x1_s": pipe, "one_process_s": whole})
            print(f"check: pipeline 2 ranks x 1 thread {pipe:.3f} s, 1 process x {o.threads} threads "
                  f"{whole:.3f} s", flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(o.out)), exist_ok=True)
    with open(o.out + ".tmp", "w") as f:
        json.dump(result, f)
    os.replace(o.out + ".tmp", o.out)
    print(f"wrote {o.out}")


# --- predicting --------------------------------------------------------------------------

def node_counts(layers):
    counts, k = [], 1
    while k <= min(layers, 64):
        counts.append(k)
        k *= 2
    return counts + ([layers] if layers not in counts and layers <= 64 else [])


def load(path):
    m = read_json(path, "measurements")
    try:
        m["batches"] = [[Pass.from_json(p) for p in b] for b in m["batches"]]
        if not m["batches"] or not m["layer_bytes"]:
            raise ValueError("empty")
    except (KeyError, TypeError, ValueError):
        raise ModelError(f"{quoted(path)}: not the file of `pipeline_scaling_model.py measure`")
    return m


def epoch_us(m, nodes, cores, outside_us, message_us, batches=None):
    """The measured epoch's batches replayed, scaled to `batches` batches per epoch."""
    total = sum(batch_us(b, m["layer_bytes"], nodes, cores, m["dispatch_us"], outside_us, message_us)
                for b in m["batches"])
    return total * (batches or len(m["batches"])) / len(m["batches"])


def predict(o):
    m = load(o.measurements)
    fit = m.get("message_2_ranks")
    software = fit["intercept_s"] * 1e6 if fit else 0.0
    latency, bytes_per_us = o.latency_us, o.gbps * 1e3 / 8

    def projected(b):
        return software + latency + b / bytes_per_us

    layers, per_epoch = len(m["layer_bytes"]), o.batches_per_epoch or len(m["batches"])
    rows = []
    for k in node_counts(layers):
        seconds = epoch_us(m, k, m["threads"], m["outside_c_us"], projected, per_epoch) / 1e6
        parts = [batch_parts(b, m["layer_bytes"], k, m["threads"], m["dispatch_us"], projected)
                 for b in m["batches"]]
        rows.append({"nodes": k, "epoch_s": seconds, "per_batch_ms": seconds * 1e3 / per_epoch,
                     "passes_ms": statistics.mean(p for p, _ in parts) / 1e3,
                     "gather_ms": statistics.mean(g for _, g in parts) / 1e3})
    print(f"{shlex.join(m['train_flags'])}: {layers} layers, {sum(m['layer_bytes']) / 2**20:.1f} MiB of stack "
          f"parameters; nodes of {m['threads']} cores like this machine, {o.gbps:g} Gb/s, {latency:g} us per "
          f"message + {software:.1f} us software; {per_epoch} batches per epoch")
    print("| nodes | s/epoch | speedup | ms/batch | of which the stack's passes | the gather | "
          "outside the passes |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['nodes']} | {r['epoch_s']:.2f} | {rows[0]['epoch_s'] / r['epoch_s']:.2f} | "
              f"{r['per_batch_ms']:.2f} | {r['passes_ms']:.2f} | {r['gather_ms']:.3f} | "
              f"{m['outside_c_us'] / 1e3:.2f} |")
    check(m)
    if o.plot:
        plot(o.plot, m, rows)
    return rows


def check(m):
    """The measured runs of this machine against the replay with its own message cost."""
    fit = m.get("message_2_ranks")
    if not m.get("check") or not fit:
        return

    def here(b):
        return (fit["intercept_s"] + b * fit["seconds_per_byte"]) * 1e6

    cases = [("pipeline, 2 ranks x 1 thread", epoch_us(m, 2, 1, m["outside_1_us"], here),
              [c["pipeline_2x1_s"] for c in m["check"]]),
             (f"1 process x {m['threads']} threads", epoch_us(m, 1, m["threads"], m["outside_c_us"], here),
              [c["one_process_s"] for c in m["check"]])]
    print(f"\ncheck on this machine: one epoch of {len(m['batches'])} batches, {len(m['check'])} interleaved "
          f"rounds (run | predicted s | measured s, median and range | error)")
    for name, predicted_us, measured in cases:
        med = statistics.median(measured)
        print(f"| {name} | {predicted_us / 1e6:.3f} | {med:.3f} ({min(measured):.3f}-{max(measured):.3f}) | "
              f"{100 * (predicted_us / 1e6 / med - 1):+.1f}% |")


def plot(path, m, rows):
    """Per batch on each node count, stacked: the stack's passes, the gather, the rest."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4))
    x = [str(r["nodes"]) for r in rows]
    passes = [r["passes_ms"] for r in rows]
    gather = [r["gather_ms"] for r in rows]
    outside = [m["outside_c_us"] / 1e3] * len(rows)
    ax.bar(x, passes, label="the stack's passes (replayed)")
    ax.bar(x, gather, bottom=passes, label="gathering the weight gradients")
    ax.bar(x, outside, bottom=[p + g for p, g in zip(passes, gather)],
           label="outside the passes (every node, measured)")
    for i, r in enumerate(rows):
        ax.annotate(f"{rows[0]['per_batch_ms'] / r['per_batch_ms']:.2f}x", (i, r["per_batch_ms"]),
                    ha="center", va="bottom")
    ax.set_xlabel("nodes (one pipeline stage each)")
    ax.set_ylabel("predicted ms per batch")
    ax.set_title(f"layer pipeline: {len(m['layer_bytes'])} layers, nodes of {m['threads']} cores")
    ax.set_ylim(0, 1.45 * max(r["per_batch_ms"] for r in rows))
    ax.legend(loc="upper right", fontsize="small")
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
    m.add_argument("--bench-dist", default="", help="bench_dist_mpi, for the message cost")
    m.add_argument("--mpirun", default="mpirun")
    m.add_argument("--threads", type=int, default=2, help="cores per node (default 2)")
    m.add_argument("--repeats", type=int, default=3, help="rounds of the check (default 3)")
    m.add_argument("--out", required=True)
    m.add_argument("train_flags", nargs=argparse.REMAINDER, help="-- then rnnwave train's flags")
    p = sub.add_parser("predict", help="print the prediction from a measure file")
    p.add_argument("measurements")
    p.add_argument("--batches-per-epoch", type=int, default=0,
                   help="batches of the full epoch (default: the measured epoch's)")
    p.add_argument("--gbps", type=float, default=100.0, help="interconnect bandwidth, Gb/s")
    p.add_argument("--latency-us", type=float, default=2.0, help="latency per message, us")
    p.add_argument("--plot", default="", help="also draw the predicted speedup to this PNG")
    o = parser.parse_args(argv)
    if o.command == "measure":
        o.train_flags = o.train_flags[1:] if o.train_flags[:1] == ["--"] else o.train_flags
        if not o.train_flags:
            parser.error("give rnnwave train's flags after --")
        own = sorted({f.split("=")[0] for f in o.train_flags} & OWN_FLAGS)
        if own:
            parser.error(f"{', '.join(own)}: set by the model itself, not a train flag to give")
        if min(o.threads, o.repeats) < 1:
            parser.error("--threads and --repeats must be at least 1")
    elif o.gbps <= 0 or o.latency_us < 0 or o.batches_per_epoch < 0:
        parser.error("--gbps must be positive, --latency-us and --batches-per-epoch not negative")
    return o


def main(argv):
    o = parse_args(argv)
    try:
        measure(o) if o.command == "measure" else predict(o)
    except ModelError as e:
        sys.exit(f"pipeline_scaling_model: error: {e}")


if __name__ == "__main__":
    main(sys.argv[1:])
