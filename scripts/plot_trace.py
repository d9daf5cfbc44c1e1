#!/usr/bin/python3
"""Renders a Chrome trace-event file written by `rnnwave ... --trace FILE.json` as a PNG
timeline: one row per thread, one bar per task, coloured by kind and shaded by layer, so
the wavefront (or its absence) is visible at a glance.

    /usr/bin/python3 scripts/plot_trace.py TRACE.json OUT.png [--title TEXT] [--pass forward]
"""
import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

KIND_COLOURS = {
    "project": "#4c72b0",
    "forward": "#55a868",
    "backward": "#c44e52",
    "input_grad": "#8172b2",
    "weight_grad": "#ccb974",
    "recurrent_gemm": "#55a868",
    "pointwise": "#64b5cd",
    "backward_pointwise": "#dd8452",
    "backward_gemm": "#c44e52",
    "dropout": "#937860",
    "output": "#da8bc3",
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace")
    parser.add_argument("png")
    parser.add_argument("--title", default="")
    parser.add_argument("--pass", dest="pass_name", default=None,
                        help="only this pass (forward or backward)")
    args = parser.parse_args()

    with open(args.trace) as f:
        events = [e for e in json.load(f)["traceEvents"] if e.get("ph") == "X"]
    if args.pass_name:
        events = [e for e in events if e["args"]["pass"] == args.pass_name]
    if not events:
        raise SystemExit(f"{args.trace}: no task events")
    start = min(e["ts"] for e in events)
    threads = sorted({e["tid"] for e in events})
    layers = max(e["args"]["layer"] for e in events) + 1

    # Top: what each thread did. Bottom: when each (layer, direction) was busy, coloured
    # by thread: a wavefront shows as layers overlapping in time along a diagonal.
    lanes = sorted({(e["args"]["layer"], e["args"]["direction"]) for e in events})
    fig, (ax, ax_layers) = plt.subplots(
        2, 1, figsize=(14, 2.0 + 0.5 * (len(threads) + len(lanes))), sharex=True,
        gridspec_kw={"height_ratios": [len(threads) + 1, len(lanes) + 1]})
    thread_colours = plt.get_cmap("tab10")
    for e in events:
        kind, layer = e["args"]["kind"], e["args"]["layer"]
        x = ((e["ts"] - start) / 1e3, e["dur"] / 1e3)
        row = threads.index(e["tid"])
        # Deeper layers darker; the reverse direction hatched.
        alpha = 1.0 - 0.55 * layer / max(1, layers - 1)
        hatch = "///" if e["args"]["direction"] == 1 else None
        ax.broken_barh([x], (row - 0.4, 0.8), facecolors=KIND_COLOURS.get(kind, "#999999"),
                       alpha=alpha, hatch=hatch, edgecolor="white", linewidth=0.2)
        lane = lanes.index((layer, e["args"]["direction"]))
        ax_layers.broken_barh([x], (lane - 0.4, 0.8), facecolors=thread_colours(row % 10),
                              edgecolor="none")
    ax.set_yticks(range(len(threads)))
    ax.set_yticklabels([f"thread {t}" for t in threads])
    ax.set_title(args.title or args.trace)
    kinds = sorted({e["args"]["kind"] for e in events})
    handles = [Patch(facecolor=KIND_COLOURS.get(k, "#999999"), label=k) for k in kinds]
    handles.append(Patch(facecolor="white", edgecolor="black", hatch="///", label="reverse direction"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    ax.text(1.0, 1.02, "darker = deeper layer", transform=ax.transAxes, ha="right", fontsize=8)
    names = {-1: "both", 0: "fwd", 1: "rev"}
    ax_layers.set_yticks(range(len(lanes)))
    ax_layers.set_yticklabels([f"layer {l} {names[d]}" for l, d in lanes])
    ax_layers.invert_yaxis()
    ax_layers.set_xlabel("time (ms)")
    ax_layers.legend(handles=[Patch(facecolor=thread_colours(i % 10), label=f"thread {t}")
                              for i, t in enumerate(threads)],
                     loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(args.png, dpi=130)


if __name__ == "__main__":
    main()
