#!/usr/bin/env python3
"""How far bf16 inference is from fp32: the outputs of `rnnwave forward --precision bf16`
against `--precision fp32` on the same random weights and inputs, for every cell kind and
a few shapes. The figures are deterministic (fixed seeds; the engine's results do not
depend on threads or schedule), so they may be quoted; they say nothing about speed.

Weights are PyTorch's default initialisation, uniform in +-1/sqrt(H); inputs uniform in
[-1, 1]. Per configuration, over every element of the output Y [T, N, D*H] (h_n and c_n
follow from it):
  norm_rel   ||Y_bf16 - Y_fp32||_2 / ||Y_fp32||_2
  max_rel    max |dY| / |Y_fp32| over the elements with |Y_fp32| >= 0.01 (smaller ones
             make a relative error meaningless); mean_rel the mean of the same
  max_abs    max |dY| over all elements

    /usr/bin/python3 bench/bf16_accuracy.py --rnnwave build/rnnwave [--markdown]

Prints one JSON object per configuration, or a Markdown table with --markdown.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3, "gru_rb": 3}

# (cell, variant flags, I, H, L, bidirectional, T, N)
SHAPES = [(64, 128, 2, False, 50, 4), (64, 128, 2, True, 50, 4), (256, 512, 1, False, 50, 4),
          (80, 1024, 1, False, 20, 1)]
VARIANTS = [("rnn_tanh", {}), ("rnn_relu", {}), ("lstm", {}), ("gru", {}), ("gru_rb", {}),
            ("lstm", {"proj_size": 0.5}), ("lstm", {"peepholes": True})]


def state_dict(cell, I, H, L, bidirectional, proj, peepholes, rng):
    """Random parameters with PyTorch's state_dict names and shapes."""
    G, Hs, D = GATES[cell], proj or H, 2 if bidirectional else 1
    bound = 1.0 / np.sqrt(H)
    params = {}
    for layer in range(L):
        layer_input = I if layer == 0 else D * Hs
        for suffix in ["", "_reverse"][:D]:
            shapes = {"weight_ih": (G * H, layer_input), "weight_hh": (G * H, Hs),
                      "bias_ih": (G * H,), "bias_hh": (G * H,)}
            if proj:
                shapes["weight_hr"] = (proj, H)
            if peepholes:
                shapes["weight_ph"] = (3, H)
            for key, shape in shapes.items():
                params[f"{key}_l{layer}{suffix}"] = rng.uniform(-bound, bound, shape).astype(np.float32)
    return params


def forward(rnnwave, flags, precision, work):
    out = os.path.join(work, f"y_{precision}.npy")
    subprocess.run([rnnwave, "forward", *flags, "--precision", precision, "--output", out,
                    "--threads", "1"], check=True)
    return np.load(out).astype(np.float64)


def measure(rnnwave, cell, variant, shape, seed, work):
    I, H, L, bidirectional, T, N = shape
    proj = int(H * variant["proj_size"]) if "proj_size" in variant else 0
    peepholes = variant.get("peepholes", False)
    rng = np.random.default_rng(seed)
    weights, x = os.path.join(work, "w.npz"), os.path.join(work, "x.npy")
    np.savez(weights, **state_dict(cell, I, H, L, bidirectional, proj, peepholes, rng))
    np.save(x, rng.uniform(-1, 1, (T, N, I)).astype(np.float32))
    flags = ["--cell", cell, "--input-size", str(I), "--hidden-size", str(H), "--layers", str(L),
             "--weights", weights, "--input", x]
    flags += ["--bidirectional"] if bidirectional else []
    flags += ["--proj-size", str(proj)] if proj else []
    flags += ["--peepholes"] if peepholes else []
    exact, half = forward(rnnwave, flags, "fp32", work), forward(rnnwave, flags, "bf16", work)
    error = np.abs(half - exact)
    large = np.abs(exact) >= 0.01
    relative = error[large] / np.abs(exact[large])
    name = cell + ("_proj" if proj else "") + ("_peep" if peepholes else "")
    return {"cell": name, "input_size": I, "hidden_size": H, "layers": L,
            "bidirectional": bidirectional, "proj_size": proj, "seq_len": T, "batch": N,
            "seed": seed, "norm_rel": float(np.linalg.norm(half - exact) / np.linalg.norm(exact)),
            "max_rel": float(relative.max()), "mean_rel": float(relative.mean()),
            "max_abs": float(error.max())}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rnnwave", required=True, help="the rnnwave binary")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for cell, variant in VARIANTS:
            for shape in SHAPES:
                row = measure(args.rnnwave, cell, variant, shape, args.seed, work)
                rows.append(row)
                if not args.markdown:
                    print(json.dumps(row), flush=True)
    if args.markdown:
        print("| cell | I | H | L | D | T | N | norm rel. | max rel. | mean rel. | max abs. |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['cell']} | {r['input_size']} | {r['hidden_size']} | {r['layers']} | "
                  f"{2 if r['bidirectional'] else 1} | {r['seq_len']} | {r['batch']} | "
                  f"{r['norm_rel']:.2e} | {r['max_rel']:.2e} | {r['mean_rel']:.2e} | "
                  f"{r['max_abs']:.2e} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
