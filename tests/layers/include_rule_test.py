#!/usr/bin/env python3
"""The dependency rule between rnnwave's layers, checked on every #include.

cmake/layers.cmake enforces the rule in the build (each layer's private include directory
holds only its own src/ folders and those below); this test states the whole table in one
place, covers what the build cannot (the public headers in include/rnnwave/, which every
target sees; the order of the folders inside the engine), and names each offender:

    src/graph/foo.cpp:12: includes "train/trainer.h" (layer train); src/graph may use: ...

Layers, lowest first (docs/design.md):
    engine  src/common < kernels < cells < graph < model   (in this order inside the engine)
    io      src/io         on the engine
    data    src/data       on io
    dist    src/dist       on the engine
    train   src/train      on data and dist
    plot    src/plot       on io (the only layer that links libgd)
    run     src/run        on train and plot (a run directory: metrics, curves, progress)
    tools/ (the command-line tool), python/core (the Python module) and examples/ use the
    public headers of every layer and their own folder; never a header of src/.
"""
import argparse
import os
import re
import sys
import tempfile

# Each src/ folder: the src/ folders it may include (itself included).
ENGINE_ORDER = ["common", "kernels", "cells", "graph", "model"]
SRC_ALLOWED = {f: set(ENGINE_ORDER[: i + 1]) for i, f in enumerate(ENGINE_ORDER)}
ENGINE = set(ENGINE_ORDER)
SRC_ALLOWED["io"] = ENGINE | {"io"}
SRC_ALLOWED["data"] = ENGINE | {"io", "data"}
SRC_ALLOWED["dist"] = ENGINE | {"dist"}
SRC_ALLOWED["train"] = ENGINE | {"io", "data", "dist", "train"}
SRC_ALLOWED["plot"] = ENGINE | {"io", "plot"}
SRC_ALLOWED["run"] = SRC_ALLOWED["train"] | {"plot", "run"}

# The layer of each src/ folder.
LAYER_OF_FOLDER = {**{f: "engine" for f in ENGINE}, "io": "io", "data": "data", "dist": "dist",
                   "train": "train", "plot": "plot", "run": "run"}
# The layers whose public headers each layer may include.
LAYERS_BELOW = {
    "engine": {"engine"},
    "io": {"engine", "io"},
    "data": {"engine", "io", "data"},
    "dist": {"engine", "dist"},
    "train": {"engine", "io", "data", "dist", "train"},
    "plot": {"engine", "io", "plot"},
    "run": {"engine", "io", "data", "dist", "train", "plot", "run"},
}
ALL_LAYERS = set(LAYERS_BELOW)

# The public headers' layers: a folder of include/rnnwave/, or a header by name.
PUBLIC_FOLDERS = {"train": "train", "dist": "dist", "run": "run"}
PUBLIC_HEADERS = {
    "cell.h": "engine", "error.h": "engine", "finite.h": "engine", "model.h": "engine",
    "planner.h": "engine", "rnn.h": "engine", "schedule.h": "engine", "tensor.h": "engine",
    "trace.h": "engine", "weights.h": "engine", "random.h": "engine", "dropout.h": "engine",
    "huge_pages.h": "engine",
    "npy.h": "io",
    "rnnwave.h": "io",  # the whole public API of the engine and io (it includes npy.h)
    "dist.h": "dist",
    "plot.h": "plot",
}
PUBLIC_PREFIX_LAYERS = {"data": "data"}  # data.h, data_*.h

# Includes that break the rule today and are too deep to fix at once: (file, include) with
# the reason. Empty: keep it so; an entry here is a debt to report, not a permission.
ALLOWED_EXCEPTIONS = {}

# Folders outside src/ that use the public API: their own private folder prefix, if any.
CLIENTS = {"tools": "tools", "python/core": "core", "examples": None}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
SOURCE_SUFFIXES = (".h", ".hpp", ".cpp", ".cc")


def public_layer(header):
    """The layer of rnnwave/<header>, or None if the table does not know it."""
    parts = header.split("/")
    if len(parts) == 2 and parts[0] in PUBLIC_FOLDERS:
        return PUBLIC_FOLDERS[parts[0]]
    if len(parts) != 1:
        return None
    if header in PUBLIC_HEADERS:
        return PUBLIC_HEADERS[header]
    for prefix, layer in PUBLIC_PREFIX_LAYERS.items():
        if header == prefix + ".h" or header.startswith(prefix + "_"):
            return layer
    return None


def check_include(rel, kind, target):
    """The problem with file `rel` including `target`, or None. `kind` is '"' or '<'."""
    top = rel.split("/")[0]
    if target.startswith("rnnwave/"):
        layer = public_layer(target[len("rnnwave/"):])
        if layer is None:
            return f"includes \"{target}\", a public header the layer table does not know " \
                   f"(add it to PUBLIC_HEADERS in {os.path.basename(__file__)})"
        if top == "src":
            folder = rel.split("/")[1]
            allowed = LAYERS_BELOW[LAYER_OF_FOLDER[folder]]
        elif top == "include":
            own = public_layer(rel[len("include/rnnwave/"):])
            allowed = LAYERS_BELOW.get(own, set())
        else:
            allowed = ALL_LAYERS
        if layer not in allowed:
            return f"includes \"{target}\" (layer {layer}); {os.path.dirname(rel)} may use the " \
                   f"public headers of: {', '.join(sorted(allowed))}"
        return None
    if kind == "<":
        return None  # the standard library and third-party headers
    if ".." in target.split("/"):
        return f"includes \"{target}\": a relative path; include by folder (\"graph/x.h\")"
    first = target.split("/")[0]
    if top == "src":
        folder = rel.split("/")[1]
        if first not in SRC_ALLOWED[folder]:
            where = LAYER_OF_FOLDER.get(first, "not a layer")
            return f"includes \"{target}\" ({where}); src/{folder} may include: " \
                   f"{', '.join(sorted(SRC_ALLOWED[folder]))}"
        return None
    if top == "include":
        return f"includes \"{target}\": a public header includes only rnnwave/ headers"
    for client, own in CLIENTS.items():
        if rel.startswith(client + "/"):
            if own is not None and first == own and "/" in target:
                return None
            return f"includes \"{target}\": {client}/ includes only public headers " \
                   f"(\"rnnwave/...\")" + (f" and its own \"{own}/...\"" if own else "")
    return None


def scan(root):
    """Every offending include under root, as 'file:line: message' strings."""
    problems = []
    folders = ["src", "include", "tools", "python/core", "examples"]
    for base in folders:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, base)):
            dirnames.sort()
            for name in sorted(filenames):
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                parts = rel.split("/")
                if parts[0] == "src" and (len(parts) < 3 or parts[1] not in SRC_ALLOWED):
                    problems.append(f"{rel}: in no layer (add its folder to the layer table in "
                                    f"{os.path.basename(__file__)} and cmake/layers.cmake)")
                    continue
                with open(path, encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        problem = check_include(rel, m.group(1), m.group(2))
                        if problem and (rel, m.group(2)) not in ALLOWED_EXCEPTIONS:
                            problems.append(f"{rel}:{number}: {problem}")
    return problems


def self_test():
    """The checker finds an upward include, a private header in a client, and an unknown
    public header; and accepts the allowed forms."""
    files = {
        "src/graph/ok.cpp": '#include "graph/ok.h"\n#include "kernels/k.h"\n#include <vector>\n'
                            '#include "rnnwave/rnn.h"\n',
        "src/graph/up.cpp": '#include "train/trainer.h"\n',
        "src/kernels/up.cpp": '#include "graph/task_graph.h"\n',
        "src/model/up.cpp": '#include "rnnwave/npy.h"\n',
        "src/train/ok.cpp": '#include "kernels/packed_gemm.h"\n#include "rnnwave/train/trainer.h"\n',
        "src/train/plot.cpp": '#include "rnnwave/plot.h"\n',
        "src/run/ok.cpp": '#include "rnnwave/plot.h"\n#include "rnnwave/train/trainer.h"\n',
        "include/rnnwave/weights.h": '#include "rnnwave/npy.h"\n',
        "tools/leak.cpp": '#include "src/common/finite.h"\n#include "tools/ok.h"\n'
                          '#include "rnnwave/dist.h"\n',
        "examples/new.cpp": '#include "rnnwave/unknown.h"\n',
    }
    with tempfile.TemporaryDirectory() as root:
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w") as f:
                f.write(text)
        found = scan(root)
    expected = ["src/graph/up.cpp:1:", "src/kernels/up.cpp:1:", "src/model/up.cpp:1:",
                "src/train/plot.cpp:1:",
                "include/rnnwave/weights.h:1:", "tools/leak.cpp:1:", "examples/new.cpp:1:"]
    got = sorted(p.split(" ")[0] for p in found)
    if got != sorted(expected):
        print("self-test failed: the checker reported\n  " + "\n  ".join(found) +
              "\nexpected one problem at each of " + ", ".join(expected))
        return False
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", required=True, help="the source tree")
    args = parser.parse_args()
    if not self_test():
        return 1
    problems = scan(args.root)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} include(s) break the layer rule (tests/layers/include_rule_test.py)")
        return 1
    print("every include of src/, include/, tools/, python/core and examples/ follows the layer rule")
    return 0


if __name__ == "__main__":
    sys.exit(main())
