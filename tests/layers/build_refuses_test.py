#!/usr/bin/env python3
"""The build refuses an upward include: a one-line file compiled with the exact flags of a
layer's own source (from compile_commands.json) compiles when it includes a header of its
layer or one below, and fails when it includes a header of a layer above. Each case names
the target, the include and whether it must compile.

cmake/layers.cmake gives each layer a private include directory of links to its own src/
folders and those below; this test proves that the flags the build really uses keep it so.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

# (a source of the layer, the include, whether it must compile)
CASES = [
    ("src/graph/trace.cpp", "graph/task_graph.h", True),
    ("src/graph/trace.cpp", "kernels/packed_gemm.h", True),
    ("src/graph/trace.cpp", "io/zip_archive.h", False),
    ("src/graph/trace.cpp", "train/check.h", False),
    ("src/model/model.cpp", "data/real_fft.h", False),
    ("src/io/npy.cpp", "io/npy_header.h", True),
    ("src/io/npy.cpp", "data/real_fft.h", False),
    ("src/io/npy.cpp", "train/checkpoint.h", False),
    ("src/data/wav_file.cpp", "io/zip_archive.h", True),
    ("src/data/wav_file.cpp", "train/check.h", False),
    ("src/dist/shard_tree.cpp", "common/strings.h", True),
    ("src/dist/shard_tree.cpp", "io/zip_archive.h", False),
    ("src/train/check.cpp", "kernels/packed_gemm.h", True),
    ("src/train/check.cpp", "dist/transport.h", True),
    ("src/plot/plot_png.cpp", "io/zip_archive.h", True),
    ("src/plot/plot_png.cpp", "train/check.h", False),
    ("src/run/run_dir.cpp", "train/check.h", True),
    ("src/run/run_dir.cpp", "plot/plot_png.cpp", True),
    ("src/train/check.cpp", "plot/plot_png.cpp", False),
    ("tools/cmd_eval.cpp", "tools/problem_files.h", True),
    ("tools/cmd_eval.cpp", "common/finite.h", False),
    ("tools/cmd_eval.cpp", "src/common/finite.h", False),
]


def compile_command(commands, source, root):
    """The build's command for `source` (the library's object, not a test's copy)."""
    path = os.path.join(root, source)
    for c in commands:
        if os.path.normpath(c["file"]) == path and "/tests/" not in c.get("output", c["command"]):
            return c
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", required=True, help="the build directory")
    parser.add_argument("--root", required=True, help="the source tree")
    args = parser.parse_args()
    root = os.path.realpath(args.root)
    with open(os.path.join(args.build, "compile_commands.json")) as f:
        commands = json.load(f)
    failures = []
    with tempfile.TemporaryDirectory() as work:
        probe = os.path.join(work, "probe.cpp")
        for source, include, must_compile in CASES:
            c = compile_command(commands, source, root)
            if c is None:
                failures.append(f"{source}: not in compile_commands.json")
                continue
            with open(probe, "w") as f:
                f.write(f'#include "{include}"\n')
            argv = [a for a in shlex.split(c["command"]) if a != "ccache"]
            argv[argv.index("-c") + 1] = probe
            argv[argv.index("-o") + 1] = os.devnull
            result = subprocess.run(argv + ["-fsyntax-only"], cwd=c["directory"],
                                    capture_output=True, text=True)
            compiled = result.returncode == 0
            verdict = "compiles" if compiled else "refused"
            print(f"{source}: #include \"{include}\" {verdict}")
            if compiled != must_compile:
                first = (result.stderr.strip().splitlines() or [""])[0]
                failures.append(f"{source}: #include \"{include}\" must "
                                f"{'compile' if must_compile else 'be refused'}, it {verdict} {first}")
    for f in failures:
        print("FAILED: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
