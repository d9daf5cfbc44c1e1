#!/usr/bin/python3
"""Where a traced pass spends its time, by task kind: for each trace written by `rnnwave
bench --trace FILE` (or forward/train --trace), every pass's task kinds with their count,
total and median time, the pass's span from its first task's start to its last task's end,
and the time between the forward pass's last task and the backward pass's first (what a
training call does between its two graphs: the backward pass's argument checks, the
boundary between them).

    /usr/bin/python3 bench/trace_summary.py TRACE.json [TRACE2.json ...] [--json]

Several traces (of separate processes, the same problem) print side by side, so that what
varies from process to process shows. The totals are of task durations: on several threads
they add up to more than the span.
"""
import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scaling_model import ModelError, span_us, trace_passes  # noqa: E402


def summary(path):
    """{"passes": {pass: {"span_ms", "kinds": {kind: {"tasks", "total_ms", "median_us"}}}},
    "between_ms"}: between_ms is None unless the trace has a forward and a backward pass."""
    passes = trace_passes(path)
    result = {"trace": path, "passes": {}, "between_ms": None}
    for name, events in passes.items():
        kinds = {}
        for e in events:
            kinds.setdefault(str(e["kind"]), []).append(e["dur"])
        result["passes"][name] = {
            "span_ms": span_us(events) / 1e3,
            "kinds": {k: {"tasks": len(d), "total_ms": sum(d) / 1e3,
                          "median_us": statistics.median(d)} for k, d in sorted(kinds.items())}}
    if "forward" in passes and "backward" in passes:
        forward_end = max(e["ts"] + e["dur"] for e in passes["forward"])
        backward_start = min(e["ts"] for e in passes["backward"])
        result["between_ms"] = (backward_start - forward_end) / 1e3
    return result


def table(summaries):
    """Markdown: one row per (pass, kind), one column per trace."""
    names = [os.path.basename(s["trace"]) for s in summaries]
    lines = ["| pass | kind | " + " | ".join(f"{n}: tasks, total ms (median µs)" for n in names) + " |",
             "|---|---|" + "---|" * len(names)]
    rows = sorted({(p, k) for s in summaries for p, v in s["passes"].items() for k in v["kinds"]})
    for p, k in rows:
        cells = []
        for s in summaries:
            kind = s["passes"].get(p, {}).get("kinds", {}).get(k)
            cells.append(f"{kind['tasks']}, {kind['total_ms']:.1f} ({kind['median_us']:.0f})"
                         if kind else "-")
        lines.append(f"| {p} | {k} | " + " | ".join(cells) + " |")
    for p in sorted({p for s in summaries for p in s["passes"]}):
        spans = [f"{s['passes'][p]['span_ms']:.1f}" if p in s["passes"] else "-" for s in summaries]
        lines.append(f"| {p} | span ms | " + " | ".join(spans) + " |")
    if any(s["between_ms"] is not None for s in summaries):
        between = [f"{s['between_ms']:.1f}" if s["between_ms"] is not None else "-" for s in summaries]
        lines.append("| forward → backward | ms between | " + " | ".join(between) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("traces", nargs="+")
    parser.add_argument("--json", action="store_true", help="one JSON object per trace")
    args = parser.parse_args(argv)
    try:
        summaries = [summary(path) for path in args.traces]
    except ModelError as e:
        sys.exit(f"trace_summary.py: {e}")
    if args.json:
        for s in summaries:
            print(json.dumps(s))
    else:
        print(table(summaries))


if __name__ == "__main__":
    main()
