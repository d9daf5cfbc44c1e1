#!/usr/bin/env python3
"""The engine never names a cell kind: it asks the cell's definition (src/cells/).

Reads the kinds from the CellKind enum of include/rnnwave/cell.h and fails, naming the
file and line, if a source file of the engine (src/graph, src/model, src/kernels,
src/common) mentions one: as code (CellKind::lstm) or as a word in a string or a comment
("LSTM", "GRU", any case). A new cell then cannot need an edit of the engine, and the
engine cannot grow a special case for one.

Usage: engine_names_test.py --root SOURCE_DIR
"""

import argparse
import os
import re
import sys

ENGINE = ("src/graph", "src/model", "src/kernels", "src/common")


def cell_kinds(root):
    with open(os.path.join(root, "include/rnnwave/cell.h")) as f:
        text = f.read()
    match = re.search(r"enum class CellKind\s*\{([^}]*)\}", text)
    if not match:
        sys.exit("engine_names_test.py: no CellKind enum in include/rnnwave/cell.h")
    return [k.strip() for k in match.group(1).split(",") if k.strip()]


def mentions(root, directories, pattern):
    """(path, line number, line) of every line under `directories` matching `pattern`."""
    found = []
    for directory in directories:
        for folder, _, files in os.walk(os.path.join(root, directory)):
            for name in sorted(files):
                if not name.endswith((".h", ".cpp", ".txt")):
                    continue
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    for number, line in enumerate(f, 1):
                        if pattern.search(line):
                            found.append((os.path.relpath(path, root), number, line.rstrip()))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", required=True, help="the source tree")
    root = parser.parse_args().root
    kinds = cell_kinds(root)
    # Every kind, and the families their names start with (rnn_tanh -> rnn, gru_rb -> gru).
    words = sorted(set(kinds) | {k.split("_")[0] for k in kinds} - {"rnn"}, key=len, reverse=True)
    pattern = re.compile(r"CellKind::|\b(" + "|".join(map(re.escape, words)) + r")\b",
                         re.IGNORECASE)
    # The check itself must see names where they belong, or it would pass vacuously.
    if len(kinds) < 4 or not mentions(root, ["src/cells"], pattern):
        sys.exit(f"engine_names_test.py: the pattern finds no cell kind in src/cells "
                 f"(kinds read: {kinds}); the check is broken")
    found = mentions(root, ENGINE, pattern)
    for path, number, line in found:
        print(f"{path}:{number}: names a cell kind: {line.strip()}", file=sys.stderr)
    if found:
        sys.exit(f"{len(found)} lines of the engine name a cell kind; ask the cell's "
                 f"definition instead (src/cells/cell_def.h)")
    print(f"no engine file names a cell kind ({', '.join(kinds)}; {len(ENGINE)} folders)")


if __name__ == "__main__":
    main()
