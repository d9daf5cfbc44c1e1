#!/usr/bin/env bash
# Installs the dependencies, builds rnnwave and runs the demonstration: forward and
# backward passes of a 2-layer bidirectional LSTM (H = 256, T = 100, N = 32) on synthetic
# data, timed under each schedule at every thread count this machine has, a trace of the
# wavefront rendered as a PNG, then a short training run on the adding problem (synthetic
# data: no data set needed) with its checkpoint, metrics and learning curves, and the
# Python package's drop-in LSTM.
#
# Usage: scripts/run_demo.sh [--short]
#   --short  fewer timed repetitions and a 2-epoch training run (what CI runs); the same
#            steps otherwise, ending with the training run, its evaluation and the PNGs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

short=0
for arg in "$@"; do
  case "$arg" in
    --short) short=1 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run_demo.sh: unknown argument '$arg' (expected --short)" >&2; exit 2 ;;
  esac
done
repeats=5
epochs=10
if [ "$short" = 1 ]; then
  repeats=1
  epochs=2
fi

scripts/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j "$(nproc)" --target rnnwave_cli

model=(--cell lstm --layers 2 --bidirectional --hidden-size 256 --input-size 256
       --seq-len 100 --batch 32)
echo "== 2-layer bidirectional LSTM, H=256, T=100, N=32 (times per pass)"
for mode in inference training; do
  build/rnnwave bench "${model[@]}" --repeats "$repeats" --mode "$mode" --schedule sequential --threads 1
  for threads in $(seq 1 "$(nproc)"); do
    for schedule in layerwise wavefront; do
      build/rnnwave bench "${model[@]}" --repeats "$repeats" --mode "$mode" --schedule "$schedule" \
        --threads "$threads"
    done
  done
done

mkdir -p out
build/rnnwave bench "${model[@]}" --mode training --repeats 1 --trace out/demo_trace.json > /dev/null
/usr/bin/python3 scripts/plot_trace.py out/demo_trace.json out/demo_trace.png \
  --title "2-layer BiLSTM training step, wavefront schedule"
echo "== timeline of the last training step: out/demo_trace.json (Perfetto), out/demo_trace.png"

echo "== training: the adding problem (1 x 64 LSTM, $epochs epochs, synthetic data)"
rm -rf out/demo_run
build/rnnwave train --task synthetic --epochs "$epochs" --out out/demo_run
build/rnnwave eval --model out/demo_run
for file in out/demo_trace.png out/demo_run/checkpoint.npz out/demo_run/curves.png; do
  [ -s "$file" ] || { echo "run_demo.sh: $file was not written" >&2; exit 1; }
done

# The Python package: rnnwave.torch.LSTM in place of torch.nn.LSTM, with the same weights.
scripts/install_python.sh
.venv/bin/python examples/torch_drop_in.py

cat <<'DONE'
== demo done; look at:
   out/demo_trace.png        the task timeline of one training step (out/demo_trace.json opens
                             in ui.perfetto.dev)
   out/demo_run/             the training run: checkpoint.npz, config.json, metrics.jsonl,
                             initial.npz, model.npz (docs/training.md)
   out/demo_run/curves.png   its learning curves
DONE
