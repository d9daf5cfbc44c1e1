#!/usr/bin/env python3
"""Generates the PyTorch agreement cases: problems for rnnwave with PyTorch's answers.

Every case is a directory holding the files of one `rnnwave forward` / `rnnwave backward`
run and the results PyTorch computes for it:

  inputs (float32, what the CLI reads)      expected results (float64)
    weights.npz      state_dict, as is         output.npy   [T, N, D*H]
    input.npy        [T, N, I]                 hn.npy       [L*D, N, H]
    lengths.npy      [N] int64 (optional)      cn.npy       [L*D, N, H]  (lstm)
    h0.npy, c0.npy   [L*D, N, H] (optional)    grads.npz    input, h0, c0 (lstm) and one
    grad_output.npy  [T, N, D*H]                            entry per state_dict name
    grad_hn.npy, grad_cn.npy (optional)
  case.json: the model, T, N and which optional files exist.

weights.npz is written exactly as a user would write it,
    np.savez(path, **{k: v.numpy() for k, v in m.state_dict().items()})
with no processing at all, so every case also checks that such a file loads unchanged.

The expected results are computed in float64 from the float32 values of the files (the
module is converted with .double(), which is exact), so comparing with them measures the
float32 error of rnnwave alone. Variable lengths go through
pack_padded_sequence(enforce_sorted=False) and pad_packed_sequence(total_length=T); the
loss whose gradients are stored is sum(y*dy) + sum(hn*dhn) + sum(cn*dcn), where a missing
dhn/dcn counts as zero. When h0/c0 are not given, their gradients are those at zero.

The cases:
  every cell kind x layers {1, 2, 3} x {uni, bi} x {h0 given or zero}
    x {equal lengths, unsorted variable lengths including 1 and T},
    with I=5, H=7, T=6, N=4;
  the LSTM with a projection (torch.nn.LSTM's proj_size, P=4 with H=7) x layers {1, 2}
    x {uni, bi} x {h0 given or zero} x {equal, variable lengths};
  edge cases (T=1; N=1 with a length below T; every length 1 in a batch padded to T=4;
    weight matrices stored column-major, which np.savez writes with fortran_order True);
  larger ones (I=32, H=64, T=20, N=8) for every cell kind, and an LSTM with P=24.
With a projection, h0, hn and grad_hn are [L*D, N, P] and the output [T, N, D*P]; c0, cn
and grad_cn keep H; case.json gives proj_size (0 = none). cases.json lists the cell kinds
PyTorch has ("cells"): the agreement tests check those.
The variants also vary the optional files: the zero-h0 equal-length cases give neither
lengths nor grad_hn/grad_cn; the h0 equal-length cases give lengths.npy filled with T.
--quick keeps layers {1, 2} and leaves out the larger cases.

Everything is seeded: the same command writes the same values. Usage:
  python3 scripts/torch_cases.py --out DIR [--quick]
DIR is replaced as a whole (written next to it, then renamed), and holds cases.json, the
index of the case names, when complete.
"""

import argparse
import copy
import json
import os
import shutil
import sys
import tempfile
import time
import zlib

try:
    import numpy as np
    import torch
except ImportError as error:  # The message CTest shows when the fixture fails.
    sys.exit(f"torch_cases.py: PyTorch and NumPy are required to generate the agreement "
             f"cases ({error}); run this script with a Python that has torch installed "
             f"(CMake: -DRNNWAVE_TORCH_PYTHON=...)")

CELLS = ("rnn_tanh", "rnn_relu", "lstm", "gru")


def case_name(cell, layers, bidirectional, with_h0, variable_lengths, suffix="", proj_size=0):
    name = f"{cell}{f'_proj{proj_size}' if proj_size else ''}_l{layers}_{'bi' if bidirectional else 'uni'}"
    name += "_h0" if with_h0 else "_zero"
    name += "_varlen" if variable_lengths else "_fixed"
    return name + suffix


def case_list(quick):
    """The case descriptors, in a fixed order."""
    cases = []
    small = dict(input_size=5, hidden_size=7, steps=6, batch=4)
    for cell in CELLS:
        for layers in ((1, 2) if quick else (1, 2, 3)):
            for bidirectional in (False, True):
                for with_h0 in (False, True):
                    for variable_lengths in (False, True):
                        cases.append(dict(
                            name=case_name(cell, layers, bidirectional, with_h0,
                                           variable_lengths),
                            cell=cell, layers=layers, bidirectional=bidirectional,
                            with_h0=with_h0, variable_lengths=variable_lengths, **small))
    for layers in (1, 2):
        for bidirectional in (False, True):
            for with_h0 in (False, True):
                for variable_lengths in (False, True):
                    cases.append(dict(
                        name=case_name("lstm", layers, bidirectional, with_h0,
                                       variable_lengths, proj_size=4),
                        cell="lstm", proj_size=4, layers=layers, bidirectional=bidirectional,
                        with_h0=with_h0, variable_lengths=variable_lengths, **small))
    edges = [
        # One step: the first step is also the last, in both directions.
        dict(cell="lstm", layers=2, bidirectional=True, with_h0=True, variable_lengths=False,
             input_size=3, hidden_size=4, steps=1, batch=3, suffix="_t1"),
        # One sequence.
        dict(cell="gru", layers=2, bidirectional=True, with_h0=True, variable_lengths=True,
             input_size=4, hidden_size=3, steps=5, batch=1, suffix="_n1"),
        # Every sequence of length 1 in a batch padded to T = 4.
        dict(cell="rnn_tanh", layers=2, bidirectional=True, with_h0=True,
             variable_lengths=True, input_size=2, hidden_size=5, steps=4, batch=3,
             suffix="_len1", all_length_one=True),
        # Weight matrices held transposed in memory (as after loading them from a
        # column-major source): state_dict gives non-contiguous tensors, and np.savez
        # writes them as is, with fortran_order True.
        dict(cell="gru", layers=2, bidirectional=True, with_h0=True, variable_lengths=True,
             input_size=5, hidden_size=7, steps=6, batch=4, suffix="_fortran",
             fortran_weights=True),
    ]
    if not quick:
        for cell in CELLS:
            edges.append(dict(cell=cell, layers=2, bidirectional=True, with_h0=True,
                              variable_lengths=True, input_size=32, hidden_size=64,
                              steps=20, batch=8, suffix="_large"))
        edges.append(dict(cell="lstm", layers=3, bidirectional=False, with_h0=False,
                          variable_lengths=True, input_size=16, hidden_size=48, steps=20,
                          batch=8, suffix="_large"))
        edges.append(dict(cell="lstm", proj_size=24, layers=2, bidirectional=True,
                          with_h0=True, variable_lengths=True, input_size=32, hidden_size=64,
                          steps=20, batch=8, suffix="_large"))
    for e in edges:
        suffix = e.pop("suffix")
        e["name"] = case_name(e["cell"], e["layers"], e["bidirectional"], e["with_h0"],
                              e["variable_lengths"], suffix, e.get("proj_size", 0))
        cases.append(e)
    return cases


def make_module(cell, input_size, hidden_size, layers, bidirectional, proj_size=0):
    kwargs = dict(input_size=input_size, hidden_size=hidden_size, num_layers=layers,
                  bidirectional=bidirectional)
    if cell == "lstm":
        return torch.nn.LSTM(proj_size=proj_size, **kwargs)
    if cell == "gru":
        return torch.nn.GRU(**kwargs)
    return torch.nn.RNN(nonlinearity=cell[len("rnn_"):], **kwargs)


def make_lengths(rng, steps, batch, all_length_one):
    """Unsorted lengths in [1, T] that include 1 and T when N >= 2."""
    if all_length_one:
        return np.ones(batch, dtype=np.int64)
    if batch == 1:  # Shorter than T: the padding past the longest sequence is zero too.
        return np.array([max(1, steps - 2)], dtype=np.int64)
    lengths = rng.integers(1, steps + 1, size=batch)
    lengths[0], lengths[1] = 1, steps
    rng.shuffle(lengths)
    if np.all(np.diff(lengths) <= 0):  # Never sorted: enforce_sorted=False must matter.
        lengths = lengths[::-1].copy()
    return lengths.astype(np.int64)


def generate(case, directory):
    seed = zlib.crc32(case["name"].encode())
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    cell, lstm = case["cell"], case["cell"] == "lstm"
    L, D = case["layers"], 2 if case["bidirectional"] else 1
    T, N, I, H = case["steps"], case["batch"], case["input_size"], case["hidden_size"]
    P = case.get("proj_size", 0)
    Hs = P or H  # the width of h

    module = make_module(cell, I, H, L, case["bidirectional"], P)
    if case.get("fortran_weights", False):
        with torch.no_grad():
            for parameter in module.parameters():
                if parameter.dim() == 2:
                    parameter.data = parameter.data.t().contiguous().t()
    os.makedirs(directory)
    np.savez(os.path.join(directory, "weights.npz"),
             **{k: v.numpy() for k, v in module.state_dict().items()})

    def f32(*shape):
        return rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)

    state, cell_state = (L * D, N, Hs), (L * D, N, H)
    x = f32(T, N, I)
    h0 = f32(*state) if case["with_h0"] else np.zeros(state, np.float32)
    c0 = f32(*cell_state) if case["with_h0"] else np.zeros(cell_state, np.float32)
    dy = f32(T, N, D * Hs)
    give_grad_hn = case["with_h0"] or case["variable_lengths"]
    dhn = f32(*state) if give_grad_hn else np.zeros(state, np.float32)
    dcn = f32(*cell_state) if give_grad_hn else np.zeros(cell_state, np.float32)
    if case["variable_lengths"]:
        lengths = make_lengths(rng, T, N, case.get("all_length_one", False))
    else:
        lengths = np.full(N, T, dtype=np.int64)
    give_lengths = case["variable_lengths"] or case["with_h0"]

    files = {"lengths": give_lengths, "h0": case["with_h0"], "c0": lstm and case["with_h0"],
             "grad_hn": give_grad_hn, "grad_cn": lstm and give_grad_hn}
    arrays = {"input": x, "lengths": lengths, "h0": h0, "c0": c0, "grad_output": dy,
              "grad_hn": dhn, "grad_cn": dcn}
    np.save(os.path.join(directory, "input.npy"), x)
    np.save(os.path.join(directory, "grad_output.npy"), dy)
    for key, given in files.items():
        if given:
            np.save(os.path.join(directory, key + ".npy"), arrays[key])

    # PyTorch in float64 on exactly these float32 values.
    reference = copy.deepcopy(module).double()
    xt = torch.from_numpy(x).double().requires_grad_()
    h0t = torch.from_numpy(h0).double().requires_grad_()
    c0t = torch.from_numpy(c0).double().requires_grad_()
    packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.from_numpy(lengths),
                                                     enforce_sorted=False)
    out, hidden = reference(packed, (h0t, c0t) if lstm else h0t)
    y, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
    hn, cn = hidden if lstm else (hidden, None)
    loss = (y * torch.from_numpy(dy).double()).sum() + \
        (hn * torch.from_numpy(dhn).double()).sum()
    if lstm:
        loss = loss + (cn * torch.from_numpy(dcn).double()).sum()
    loss.backward()

    np.save(os.path.join(directory, "output.npy"), y.detach().numpy())
    np.save(os.path.join(directory, "hn.npy"), hn.detach().numpy())
    if lstm:
        np.save(os.path.join(directory, "cn.npy"), cn.detach().numpy())
    grads = {"input": xt.grad.numpy(), "h0": h0t.grad.numpy()}
    if lstm:
        grads["c0"] = c0t.grad.numpy()
    for name, parameter in reference.named_parameters():
        grads[name] = parameter.grad.numpy()
    np.savez(os.path.join(directory, "grads.npz"), **grads)

    description = {k: case[k] for k in ("name", "cell", "input_size", "hidden_size",
                                        "layers", "bidirectional", "steps", "batch")}
    description["proj_size"] = P
    description["seed"] = seed
    description["fortran_weights"] = case.get("fortran_weights", False)
    description["files"] = files
    with open(os.path.join(directory, "case.json"), "w") as f:
        json.dump(description, f, indent=1)
        f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="directory to (re)create")
    parser.add_argument("--quick", action="store_true",
                        help="layers {1, 2} only and no larger cases")
    args = parser.parse_args()

    start = time.monotonic()
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)
    out = os.path.abspath(args.out)
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=os.path.basename(out) + ".", dir=parent)
    try:
        cases = case_list(args.quick)
        for case in cases:
            generate(case, os.path.join(staging, case["name"]))
        index = {"generator": "scripts/torch_cases.py", "torch": torch.__version__,
                 "numpy": np.__version__, "quick": args.quick, "cells": list(CELLS),
                 "cases": [c["name"] for c in cases]}
        with open(os.path.join(staging, "cases.json"), "w") as f:
            json.dump(index, f, indent=1)
            f.write("\n")
        if os.path.isdir(out):
            shutil.rmtree(out)
        os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    print(f"torch_cases.py: {len(cases)} cases in {out} "
          f"(torch {torch.__version__}, {time.monotonic() - start:.1f} s)")


if __name__ == "__main__":
    main()
