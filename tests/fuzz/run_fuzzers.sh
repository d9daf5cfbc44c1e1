#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang and runs each on a fresh seed corpus: the
# .npy and .npz readers, the checkpoint reader with its config JSON, the WAV reader and
# the WikiText tokenizer.
#
# Usage: tests/fuzz/run_fuzzers.sh [BUILD_DIR] [SECONDS]
#   BUILD_DIR  build directory for the clang build (default: build-fuzz in the source tree)
#   SECONDS    how long each harness runs (default: 30)
#   RNNWAVE_FUZZ_SEED  libFuzzer's seed (default 1). A fixed seed makes a short run (the
#                      test suite's) walk the same inputs each time, so that it passes or
#                      fails with the code, not with chance; set another, or 0 (random),
#                      and a longer time to search further.
#
# Exits non-zero if a harness reports a crash, sanitizer error, leak, timeout or
# out-of-memory; the input that caused it is left in BUILD_DIR/fuzz-artifacts/ and can be
# replayed with BUILD_DIR/tests/fuzz/fuzz_npy FILE (or fuzz_npz, fuzz_checkpoint, ...).
set -euo pipefail

source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="${1:-$source_dir/build-fuzz}"
seconds="${2:-30}"

cmake -S "$source_dir" -B "$build_dir" -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRNNWAVE_FUZZ=ON -DRNNWAVE_TESTS=OFF -DRNNWAVE_BENCH=OFF
harnesses=(npy npz checkpoint wav wikitext)
cmake --build "$build_dir" -j "$(nproc)" --target "${harnesses[@]/#/fuzz_}"

corpus="$build_dir/fuzz-corpus"
artifacts="$build_dir/fuzz-artifacts"
rm -rf "$corpus"
mkdir -p "$artifacts"
/usr/bin/python3 "$source_dir/tests/fuzz/make_corpus.py" "$corpus/seeds"

export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export ASAN_OPTIONS="abort_on_error=0:detect_leaks=1"

status=0
for harness in "${harnesses[@]}"; do
  dict="$source_dir/tests/fuzz/$harness.dict"
  [ "$harness" = npz ] && dict="$source_dir/tests/fuzz/npy.dict"
  max_len=8192
  [ "$harness" = checkpoint ] && max_len=16384  # a checkpoint of a tiny model is ~7 KB
  # New inputs go to a work directory so the seeds stay as generated.
  work="$corpus/$harness-work"
  mkdir -p "$work"
  echo "== fuzz_$harness for ${seconds}s"
  if ! "$build_dir/tests/fuzz/fuzz_$harness" \
      -seed="${RNNWAVE_FUZZ_SEED:-1}" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
      -dict="$dict" -artifact_prefix="$artifacts/$harness-" \
      -print_final_stats=1 "$work" "$corpus/seeds/$harness"; then
    echo "fuzz_$harness found a problem; reproducer in $artifacts/" >&2
    status=1
  fi
done
exit "$status"
