#!/usr/bin/env python3
"""Runs `rnnwave forward` and `rnnwave backward` on every PyTorch case and compares.

The cases are those of scripts/torch_cases.py (CTest generates them first, fixture
torch_cases). For each case the command line gets the case's files exactly as they are,
in particular weights.npz as np.savez wrote it from a state_dict, which this test first
checks is unprocessed: one stored member per state_dict name, in state_dict order, float32.

Checked, for every case:
  - output, hn, cn: float32, the right shapes, close to PyTorch's float64 results;
  - G.npz: its key set is exactly input, h0, c0 (lstm only) and the weight names;
    every gradient float32, the right shape, close to PyTorch's.
Closeness is max |rnnwave - torch| / max |torch| <= --tolerance over each array.
Prints the largest relative error per cell kind, forward and gradients.

Usage: cli_torch_test.py --rnnwave build/rnnwave [--cases DIR] [--schedule NAME]
                         [--threads P] [--tolerance 1e-5] [--jobs J]
DIR defaults to $RNNWAVE_TORCH_CASES. Needs numpy only.
"""

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile

import numpy as np
from numpy.lib import format as npy_format

CASES_VARIABLE = "RNNWAVE_TORCH_CASES"


def parameter_names(case):
    """PyTorch's state_dict names, in order (see include/rnnwave/model.h)."""
    names = []
    for layer in range(case["layers"]):
        for suffix in (("", "_reverse") if case["bidirectional"] else ("",)):
            for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh") + \
                    (("weight_hr",) if case.get("proj_size", 0) else ()):
                names.append(f"{kind}_l{layer}{suffix}")
    return names


def check_raw_savez(path, names):
    """Problems with `path` as an unprocessed np.savez of a float32 state_dict, if any."""
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        listed = [m.filename for m in members]
        if listed != [n + ".npy" for n in names]:
            return [f"{path}: members {listed}, expected the state_dict names in order"]
        problems = []
        for member in members:
            if member.compress_type != zipfile.ZIP_STORED:
                problems.append(f"{path}: {member.filename} is compressed")
            with archive.open(member) as f:
                version = npy_format.read_magic(f)
                read_header = {(1, 0): npy_format.read_array_header_1_0,
                               (2, 0): npy_format.read_array_header_2_0}.get(version)
                if read_header is None:
                    problems.append(f"{path}: {member.filename}: .npy format {version}")
                    continue
                _, _, dtype = read_header(f)
            if dtype != np.dtype("<f4"):
                problems.append(f"{path}: {member.filename} has dtype {dtype}, not float32")
        return problems


def relative_error(actual, expected):
    actual = actual.astype(np.float64)
    if not np.all(np.isfinite(actual)):
        return float("inf")
    scale = np.max(np.abs(expected)) if expected.size else 0.0
    difference = np.max(np.abs(actual - expected)) if expected.size else 0.0
    return float(difference / scale) if scale > 0 else float(difference)


def run(command):
    try:
        result = subprocess.run(command, capture_output=True, text=True)
    except OSError as error:
        raise RuntimeError(f"cannot run {command[0]}: {error}") from error
    if result.returncode != 0:
        raise RuntimeError(f"exit {result.returncode}: {' '.join(command)}\n"
                           f"{result.stdout}{result.stderr}")


def run_case(binary, directory, exec_flags, tolerance):
    """Returns (cell, worst forward (error, where), worst gradient (error, where), problems)."""
    with open(os.path.join(directory, "case.json")) as f:
        case = json.load(f)
    name, cell, files = case["name"], case["cell"], case["files"]
    lstm = cell == "lstm"
    L, D = case["layers"], 2 if case["bidirectional"] else 1
    T, N, I, H = case["steps"], case["batch"], case["input_size"], case["hidden_size"]
    P = case.get("proj_size", 0)
    state, cell_state, out_shape = (L * D, N, P or H), (L * D, N, H), (T, N, D * (P or H))
    names = parameter_names(case)
    problems = check_raw_savez(os.path.join(directory, "weights.npz"), names)
    worst = {"forward": (0.0, "-"), "gradient": (0.0, "-")}

    def compare(kind, what, path, expected, shape):
        actual = np.load(path) if isinstance(path, str) else path
        if actual.dtype != np.float32:
            problems.append(f"{name} {what}: dtype {actual.dtype}, expected float32")
        if actual.shape != tuple(shape) or expected.shape != tuple(shape):
            problems.append(f"{name} {what}: shape {actual.shape}, torch {expected.shape}, "
                            f"expected {tuple(shape)}")
            return
        error = relative_error(actual, expected)
        if not error <= worst[kind][0]:
            worst[kind] = (error, f"{name} {what}")
        if not error <= tolerance:
            problems.append(f"{name} {what}: relative error {error:.3g} > {tolerance:g}")

    def case_file(key):
        return os.path.join(directory, key + ".npy")

    model = ["--cell", cell, "--input-size", str(I), "--hidden-size", str(H),
             "--layers", str(L)] + (["--bidirectional"] if case["bidirectional"] else []) + \
        (["--proj-size", str(P)] if P else [])
    inputs = ["--weights", os.path.join(directory, "weights.npz"), "--input", case_file("input")]
    for key in ("lengths", "h0", "c0"):
        if files[key]:
            inputs += ["--" + key, case_file(key)]
    with tempfile.TemporaryDirectory(prefix="rnnwave-cli-torch-") as tmp:
        y, hn, cn = (os.path.join(tmp, f) for f in ("y.npy", "hn.npy", "cn.npy"))
        grads = os.path.join(tmp, "grads.npz")
        try:
            run([binary, "forward"] + model + inputs + ["--output", y, "--hn", hn] +
                (["--cn", cn] if lstm else []) + exec_flags)
            backward = ["--grad-output", case_file("grad_output"), "--grads", grads]
            for key in ("grad_hn", "grad_cn"):
                if files[key]:
                    backward += ["--" + key.replace("_", "-"), case_file(key)]
            run([binary, "backward"] + model + inputs + backward + exec_flags)
        except RuntimeError as error:
            return cell, worst, problems + [f"{name}: {error}"]

        compare("forward", "output", y, np.load(case_file("output")), out_shape)
        compare("forward", "hn", hn, np.load(case_file("hn")), state)
        if lstm:
            compare("forward", "cn", cn, np.load(case_file("cn")), cell_state)

        expected_keys = {"input", "h0"} | ({"c0"} if lstm else set()) | set(names)
        with np.load(grads) as ours, np.load(os.path.join(directory, "grads.npz")) as torch:
            keys = set(ours.files)
            if keys != expected_keys:
                problems.append(f"{name}: G.npz keys: missing {sorted(expected_keys - keys)}, "
                                f"unexpected {sorted(keys - expected_keys)}")
            if set(torch.files) != expected_keys:
                problems.append(f"{name}: the case's grads.npz has keys {sorted(torch.files)}")
            shapes = {"input": (T, N, I), "h0": state, "c0": cell_state}
            for key in sorted(keys & expected_keys & set(torch.files)):
                shape = shapes.get(key, torch[key].shape)
                compare("gradient", "grad " + key, ours[key], torch[key], shape)
    return cell, worst, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rnnwave", required=True, help="the rnnwave binary")
    parser.add_argument("--cases", default=os.environ.get(CASES_VARIABLE, ""),
                        help=f"directory written by scripts/torch_cases.py "
                             f"(default ${CASES_VARIABLE})")
    parser.add_argument("--schedule", help="passed to --schedule (default: the tool's)")
    parser.add_argument("--threads", type=int, help="passed to --threads (default: the tool's)")
    parser.add_argument("--tolerance", type=float, default=1e-5)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    index_path = os.path.join(args.cases, "cases.json")
    if not args.cases or not os.path.isfile(index_path):
        sys.exit(f"cli_torch_test.py: no PyTorch cases: {CASES_VARIABLE} / --cases is "
                 f"'{args.cases}', which holds no cases.json. Run through ctest (fixture "
                 f"torch_cases) or generate them with scripts/torch_cases.py --out DIR.")
    if not (os.path.isfile(args.rnnwave) and os.access(args.rnnwave, os.X_OK)):
        sys.exit(f"cli_torch_test.py: --rnnwave {args.rnnwave} is not an executable file")
    with open(index_path) as f:
        names = json.load(f)["cases"]
    exec_flags = []
    if args.schedule:
        exec_flags += ["--schedule", args.schedule]
    if args.threads is not None:
        exec_flags += ["--threads", str(args.threads)]

    start = time.monotonic()
    summary, problems = {}, []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_case, args.rnnwave, os.path.join(args.cases, n), exec_flags,
                               args.tolerance) for n in names]
        for future in futures:
            cell, worst, case_problems = future.result()
            problems += case_problems
            entry = summary.setdefault(cell, {"cases": 0, "forward": (0.0, "-"),
                                              "gradient": (0.0, "-")})
            entry["cases"] += 1
            for kind in ("forward", "gradient"):
                if not worst[kind][0] <= entry[kind][0]:
                    entry[kind] = worst[kind]

    print(f"rnnwave CLI vs PyTorch: {len(names)} cases in {time.monotonic() - start:.1f} s; "
          f"largest max|rnnwave - torch| / max|torch|:")
    for cell in sorted(summary):
        entry = summary[cell]
        print(f"  {cell:9} {entry['cases']:3} cases  forward {entry['forward'][0]:.3g} "
              f"({entry['forward'][1]})  gradients {entry['gradient'][0]:.3g} "
              f"({entry['gradient'][1]})")
    if problems:
        print(f"{len(problems)} problems:", file=sys.stderr)
        for problem in problems:
            print("  " + problem, file=sys.stderr)
        sys.exit(1)
    print("all agree")


if __name__ == "__main__":
    main()
