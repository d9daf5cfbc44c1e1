#!/usr/bin/python3
"""Checks that bench_onednn_rnn computes what PyTorch computes (not timed).

For small problems of every cell kind, one and two directions, one and three layers, input
width equal to or unlike the hidden width, hidden width 4 and 48 (below and past one
AVX-512 register, so vector bodies and tails both run), inference and training, runs the peer with
--dump, loads its inputs and PyTorch-layout weights into torch.nn.RNN/LSTM/GRU in float64,
and compares the output, the final states and (training) every gradient: input, initial
states, each weight and bias, for the loss sum(y * grad_output). The peer runs a warm-up and
two repeats before dumping, so gradients that were not zeroed between repeats would show.

Usage: /usr/bin/python3 bench/peers/check_onednn.py [--binary build/bench_onednn_rnn]
Exit status 0 when every tensor agrees within --tolerance (relative to its largest value).
"""
import argparse
import itertools
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

CELLS = ("rnn_tanh", "rnn_relu", "lstm", "gru")


def torch_module(cell, input_size, hidden, layers, bidirectional):
    kwargs = dict(num_layers=layers, bidirectional=bidirectional, dtype=torch.float64)
    if cell == "lstm":
        return torch.nn.LSTM(input_size, hidden, **kwargs)
    if cell == "gru":
        return torch.nn.GRU(input_size, hidden, **kwargs)
    return torch.nn.RNN(input_size, hidden, nonlinearity=cell[4:], **kwargs)


def check(binary, cell, layers, bidirectional, input_size, hidden, mode, tolerance):
    """Returns a list of (name, relative error) for every compared tensor."""
    steps, batch = 7, 3
    with tempfile.TemporaryDirectory() as out:
        command = [binary, "--cell", cell, "--layers", str(layers), "--input-size",
                   str(input_size), "--hidden-size", str(hidden), "--seq-len", str(steps),
                   "--batch", str(batch), "--mode", mode, "--threads", "2", "--warmup", "1",
                   "--repeats", "2", "--seed", "7", "--dump", out]
        if bidirectional:
            command.append("--bidirectional")
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        dumped = {name[:-4]: np.load(os.path.join(out, name)) for name in os.listdir(out)}

    as_tensor = lambda name: torch.tensor(dumped[name], dtype=torch.float64)
    module = torch_module(cell, input_size, hidden, layers, bidirectional)
    module.load_state_dict({name: as_tensor(name) for name, _ in module.named_parameters()})
    x = as_tensor("input").requires_grad_(True)
    h0 = as_tensor("h0").requires_grad_(True)
    c0 = as_tensor("c0").requires_grad_(True) if cell == "lstm" else None
    y, state = module(x, (h0, c0) if cell == "lstm" else h0)
    expected = {"output": y, "h_n": state[0] if cell == "lstm" else state}
    if cell == "lstm":
        expected["c_n"] = state[1]
    if mode == "training":
        (y * as_tensor("grad_output")).sum().backward()
        expected["grad_input"] = x.grad
        expected["grad_h0"] = h0.grad
        if cell == "lstm":
            expected["grad_c0"] = c0.grad
        for name, parameter in module.named_parameters():
            expected["grad_" + name] = parameter.grad

    errors = []
    for name, want in expected.items():
        want = want.detach().numpy()
        got = dumped[name].astype(np.float64)
        if got.shape != want.shape:
            errors.append((name, float("inf")))
            continue
        scale = max(np.abs(want).max(), 1e-6)
        errors.append((name, float(np.abs(got - want).max() / scale)))
    return errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="build/bench_onednn_rnn")
    parser.add_argument("--tolerance", type=float, default=1e-4,
                        help="largest |onednn - torch| / max|torch| accepted (default 1e-4)")
    args = parser.parse_args()

    failures = 0
    problems = itertools.product(CELLS, (1, 3), (False, True), ((5, 4), (4, 4), (40, 48)),
                                 ("inference", "training"))
    for cell, layers, bidirectional, (input_size, hidden), mode in problems:
        errors = check(args.binary, cell, layers, bidirectional, input_size, hidden, mode,
                       args.tolerance)
        worst_name, worst = max(errors, key=lambda e: e[1])
        ok = worst <= args.tolerance
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {cell:8} L={layers} D={2 if bidirectional else 1} "
              f"I={input_size} H={hidden} {mode:9} {len(errors):2} tensors, "
              f"worst {worst_name} {worst:.1e}")
    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
