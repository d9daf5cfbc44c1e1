#!/usr/bin/env python3
"""rnnwave as a user gets it: `cmake --install` into a temporary prefix, then

1. the installed files: libraries, public headers, the tool, the CMake package, rnnwave.pc;
   no installed binary holds the source tree's data folder (default_data_dir());
2. examples/ configured on its own with find_package(rnnwave), built and run (the
   train-step example and a program's own task trained and resumed into a run directory:
   metrics.jsonl with one JSON object per epoch, curves.png a PNG);
3. tests/install/consumer (rnnwave::rnnwave_engine alone) configured, built and run: the
   engine links without the io, data, dist or train libraries;
4. the same program compiled with `pkg-config --static --cflags --libs rnnwave` and run;
5. the installed tool runs (`rnnwave --help`) and looks for its data in $RNNWAVE_DATA_DIR,
   else in "data" of the working directory.

Reuses the build: nothing of rnnwave is compiled again, only the small programs.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile


def run(command, what, env=None, cwd=None):
    """Runs command; on failure prints what failed with its output and exits 1."""
    result = subprocess.run(command, env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        print(f"FAILED: {what} (exit {result.returncode})\n$ {' '.join(command)}\n{result.stdout}")
        sys.exit(1)
    return result.stdout


def expect(condition, message):
    if not condition:
        print(f"FAILED: {message}")
        sys.exit(1)


def cmake_project(source, build, prefix, args, what):
    """Configures and builds a CMake project against the installed prefix only."""
    configure = ["cmake", "-S", source, "-B", build, f"-DCMAKE_PREFIX_PATH={prefix}",
                 "-DCMAKE_BUILD_TYPE=Release", f"-DCMAKE_CXX_COMPILER={args.cxx}",
                 # find the installed package, never a build tree registered by export()
                 "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF"]
    if args.launcher:
        configure.append(f"-DCMAKE_CXX_COMPILER_LAUNCHER={args.launcher}")
    log = run(configure, f"configuring {what}")
    run(["cmake", "--build", build, "-j", "2"], f"building {what}")
    return log


def check_custom_run(run_dir, epochs):
    """The run directory of example_train_custom_task: its files, metrics.jsonl one JSON
    object per epoch (1..epochs, in order, once each), curves.png a PNG."""
    for name in ["checkpoint.npz", "model.npz", "metrics.jsonl", "curves.png"]:
        path = os.path.join(run_dir, name)
        expect(os.path.isfile(path) and os.path.getsize(path) > 0, f"the example's run has no {name}")
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        lines = f.read().splitlines()
    try:
        metrics = [json.loads(line) for line in lines]
    except ValueError as e:
        expect(False, f"metrics.jsonl of the example is not one JSON object per line ({e}): {lines!r}")
    expect([m.get("epoch") for m in metrics] == list(range(1, epochs + 1)),
           f"metrics.jsonl of the example should hold epochs 1..{epochs} once each: {lines!r}")
    for m in metrics:
        expect(m.get("task") == "sign_of_sum" and isinstance(m.get("train_loss"), float),
               f"a metrics.jsonl line of the example lacks its task or train_loss: {m!r}")
    with open(os.path.join(run_dir, "curves.png"), "rb") as f:
        expect(f.read(8) == b"\x89PNG\r\n\x1a\n", "curves.png of the example is not a PNG")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", required=True, help="rnnwave's build directory")
    parser.add_argument("--source", required=True, help="rnnwave's source tree")
    parser.add_argument("--cxx", required=True, help="the C++ compiler of the build")
    parser.add_argument("--launcher", default="", help="compiler launcher (ccache), if any")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="rnnwave_install_test_")
    try:
        prefix = os.path.join(work, "prefix")
        run(["cmake", "--install", args.build, "--prefix", prefix], "cmake --install")

        # 1. What is installed.
        libdir = "lib"
        for rel in ["bin/rnnwave", "include/rnnwave/rnnwave.h", "include/rnnwave/train/trainer.h",
                    "include/rnnwave/dist/world.h", f"{libdir}/cmake/rnnwave/rnnwaveConfig.cmake",
                    f"{libdir}/cmake/rnnwave/rnnwaveConfigVersion.cmake",
                    f"{libdir}/cmake/rnnwave/rnnwaveTargets.cmake", f"{libdir}/pkgconfig/rnnwave.pc"] + \
                   [f"{libdir}/librnnwave_{layer}.a" for layer in ["engine", "io", "data", "dist", "train",
                                                                   "plot", "run"]] + \
                   ["include/rnnwave/plot.h", "include/rnnwave/run/run_dir.h",
                    "include/rnnwave/run/train_progress.h"]:
            expect(os.path.isfile(os.path.join(prefix, rel)), f"{rel} is not installed")
        for private in ["graph", "common", "workspace.h"]:
            expect(not os.path.exists(os.path.join(prefix, "include", private)),
                   f"a private header or folder is installed: include/{private}")
        data_dir = os.path.join(args.source, "..", "shared", "data").encode()
        for rel in ["bin/rnnwave", f"{libdir}/librnnwave_train.a"]:
            with open(os.path.join(prefix, rel), "rb") as f:
                expect(data_dir not in f.read(),
                       f"{rel} holds the source tree's data folder {data_dir.decode()}: "
                       "default_data_dir() must not bake it into what is installed")

        # libgd (the curves) reaches rnnwave_plot and what links it, never the Trainer.
        with open(os.path.join(prefix, libdir, "cmake", "rnnwave", "rnnwaveTargets.cmake")) as f:
            targets = f.read()
        links = dict(re.findall(r'set_target_properties\((rnnwave::\w+) PROPERTIES\n(?:.*\n)*?'
                                r'\s*INTERFACE_LINK_LIBRARIES "([^"]*)"', targets))
        expect("PkgConfig::GD" in links.get("rnnwave::rnnwave_plot", ""),
               f"rnnwave::rnnwave_plot does not link libgd: {links!r}")
        expect("rnnwave::rnnwave_plot" in links.get("rnnwave::rnnwave_run", ""),
               f"rnnwave::rnnwave_run does not link rnnwave_plot: {links!r}")
        for target in ["rnnwave::rnnwave_train", "rnnwave::rnnwave_data", "rnnwave::rnnwave_io"]:
            expect(target in links and "GD" not in links[target] and "plot" not in links[target],
                   f"{target} links the plot or libgd: {links.get(target)!r}")

        # 2. examples/ on its own, against the installed package.
        examples = os.path.join(work, "examples")
        log = cmake_project(os.path.join(args.source, "examples"), examples, prefix, args, "examples/")
        output = run([os.path.join(examples, "example_train_step")], "running example_train_step")
        expect("after one step" in output, f"example_train_step printed {output!r}")
        # A program's own task trained by the installed Trainer into a run directory in `work`.
        run_dir = os.path.join(work, "custom_run")
        output = run([os.path.join(examples, "example_train_custom_task"), run_dir],
                     "running example_train_custom_task")
        expect("resumed run equals the uninterrupted one" in output,
               f"example_train_custom_task printed {output!r}")
        check_custom_run(run_dir, epochs=4)
        # It was found in the prefix, not in the source or build tree.
        cache = open(os.path.join(examples, "CMakeCache.txt")).read()
        expect(f"rnnwave_DIR:PATH={prefix}/{libdir}/cmake/rnnwave" in cache,
               f"examples/ did not find rnnwave in {prefix}:\n{log}")

        # 3. The engine alone through find_package.
        consumer = os.path.join(work, "consumer")
        cmake_project(os.path.join(args.source, "tests", "install", "consumer"), consumer, prefix,
                      args, "the engine-only consumer")
        output = run([os.path.join(consumer, "engine_only")], "running engine_only (find_package)")
        expect("squared norm" in output, f"engine_only printed {output!r}")
        link = ""  # the link line, from either generator's files
        for rel in [os.path.join("CMakeFiles", "engine_only.dir", "link.txt"), "build.ninja"]:
            if os.path.isfile(os.path.join(consumer, rel)):
                link += open(os.path.join(consumer, rel)).read()
        expect("librnnwave_engine.a" in link, f"no link line of engine_only found in {consumer}")
        for layer in ["io", "data", "dist", "train"]:
            expect(f"librnnwave_{layer}.a" not in link,
                   f"linking rnnwave::rnnwave_engine pulled in librnnwave_{layer}.a: {link}")
        for dependency in ["libzip", "sndfile", "fftw", "nlohmann", "libgd."]:
            expect(dependency not in link, f"the engine's link line names {dependency}: {link}")

        # 4. pkg-config.
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, libdir, "pkgconfig"))
        flags = run(["pkg-config", "--static", "--cflags", "--libs", "rnnwave"],
                    "pkg-config --static --cflags --libs rnnwave", env=env).split()
        version = run(["pkg-config", "--modversion", "rnnwave"], "pkg-config --modversion", env=env)
        expect(version.strip() == "0.1.0", f"pkg-config --modversion rnnwave gave {version!r}")
        program = os.path.join(work, "engine_only_pc")
        run([args.cxx, "-std=c++20", "-O1",
             os.path.join(args.source, "tests", "install", "consumer", "engine_only.cpp"),
             "-o", program] + flags, "compiling with pkg-config's flags")
        output = run([program], "running engine_only (pkg-config)")
        expect("squared norm" in output, f"engine_only (pkg-config) printed {output!r}")

        # 5. The installed tool.
        output = run([os.path.join(prefix, "bin", "rnnwave"), "--help"], "the installed rnnwave --help")
        expect("forward" in output and "train" in output, f"rnnwave --help printed {output!r}")
        # Its data folder: $RNNWAVE_DATA_DIR, else "data" in the working directory (never the
        # source tree's). Asked for the spoken digits where there are none, it names the folder.
        tool = os.path.join(prefix, "bin", "rnnwave")
        empty = os.path.join(work, "empty")
        os.makedirs(empty)
        for data_env, expected in [(None, "'data/fsdd/recordings'"),
                                   (os.path.join(work, "nowhere"), f"'{work}/nowhere/fsdd/recordings'")]:
            env = {k: v for k, v in os.environ.items() if k != "RNNWAVE_DATA_DIR"}
            if data_env:
                env["RNNWAVE_DATA_DIR"] = data_env
            result = subprocess.run([tool, "train", "--task", "digits", "--epochs", "1", "--out", "run"],
                                    cwd=empty, env=env, capture_output=True, text=True)
            expect(result.returncode != 0 and expected in result.stderr,
                   f"the installed tool with RNNWAVE_DATA_DIR={data_env} should look for {expected}; "
                   f"exit {result.returncode}, stderr {result.stderr!r}")
        print(f"installed into a temporary prefix; examples/, the engine-only program "
              f"(find_package and pkg-config) and the tool built and ran against it")
        return 0
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
