#!/usr/bin/env bash
# Installs the dependencies, builds rnnwave and runs every test:
#   1. the test suite (GoogleTest via ctest, PyTorch agreement, the CLI on bad input), then
#      the Python package's tests (pytest, tests/python/) in the .venv it is installed into;
#   2. the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. a short libFuzzer run of every file reader (.npy, .npz, checkpoint, WAV, WikiText).
# Usage: scripts/run_tests.sh [FUZZ_SECONDS]   (default 30 per harness)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fuzz_seconds="${1:-30}"
jobs="$(nproc)"

scripts/install_deps.sh

# Tests run several multi-threaded processes at once on few cores: OpenMP threads that
# spin while waiting would steal the cores the others need. (Speed is measured by the
# benchmarks, never by the tests.)
export OMP_WAIT_POLICY=passive

echo "== build (Release) and test"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j "$jobs")

# The Python package, installed into .venv as docs/python.md says, and its tests.
scripts/install_python.sh
.venv/bin/python -m pytest -q tests/python

echo "== build with AddressSanitizer + UndefinedBehaviorSanitizer and test"
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRNNWAVE_SANITIZE=ON \
  -DRNNWAVE_BENCH=OFF
cmake --build build-sanitize -j "$jobs" --target rnnwave_tests rnnwave_cli
# One process for the whole suite (a process per test would repeat the sanitizer start-up).
ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=tests/sanitizer/lsan.supp \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  build-sanitize/tests/rnnwave_tests --gtest_brief=1

echo "== fuzz the file readers (${fuzz_seconds}s each)"
tests/fuzz/run_fuzzers.sh build-fuzz "$fuzz_seconds"

echo "== all tests passed"
