#!/usr/bin/env bash
# Installs the dependencies, builds rnnwave and runs the demonstration: forward and
# backward passes of a 2-layer bidirectional LSTM (H = 256, T = 100, N = 32) on synthetic
# data, timed under each schedule at every thread count this machine has, a trace of the
# wavefront rendered as a PNG, then a short training run on the adding problem (synthetic
# data: no data set needed) with its checkpoint, metrics and learning curves.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j "$(nproc)" --target rnnwave_cli

model=(--cell lstm --layers 2 --bidirectional --hidden-size 256 --input-size 256
       --seq-len 100 --batch 32 --repeats 5)
echo "== 2-layer bidirectional LSTM, H=256, T=100, N=32 (times per pass)"
for mode in inference training; do
  build/rnnwave bench "${model[@]}" --mode "$mode" --schedule sequential --threads 1
  for threads in $(seq 1 "$(nproc)"); do
    for schedule in layerwise wavefront; do
      build/rnnwave bench "${model[@]}" --mode "$mode" --schedule "$schedule" --threads "$threads"
    done
  done
done

mkdir -p out
build/rnnwave bench "${model[@]}" --mode training --repeats 1 --trace out/demo_trace.json > /dev/null
/usr/bin/python3 scripts/plot_trace.py out/demo_trace.json out/demo_trace.png \
  --title "2-layer BiLSTM training step, wavefront schedule"
echo "== timeline of the last training step: out/demo_trace.json (Perfetto), out/demo_trace.png"

echo "== training: the adding problem (1 x 64 LSTM, 10 epochs, synthetic data)"
rm -rf out/demo_run
build/rnnwave train --task synthetic --out out/demo_run
build/rnnwave eval --model out/demo_run
echo "== run directory: out/demo_run (checkpoint.npz, metrics.jsonl, curves.png)"

# The Python package: rnnwave.torch.LSTM in place of torch.nn.LSTM, with the same weights.
scripts/install_python.sh
.venv/bin/python examples/torch_drop_in.py
