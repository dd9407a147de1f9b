#!/usr/bin/env bash
# The main job on the bundled clip: probe, sample frames, make a sync-pop tone, render its
# spectrogram, measure and mux it; then generate candidates with the default model when it is
# installed, otherwise with a tiny untrained model (a check of the pipeline: its audio is noise).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${CARGO_TARGET_DIR:-target}/release/avsync"
clip=assets/cockatoo.mp4
out=out/demo
mkdir -p "$out"

"$bin" probe "$clip" > "$out/probe.json"
"$bin" frames "$clip" --n 16 --size 224 --out "$out/frames"
"$bin" tone --out "$out/pops.wav" --pops-fps 20 --duration 14 --level -12
"$bin" mel "$out/pops.wav" --png "$out/pops_mel.png"
"$bin" loudness "$out/pops.wav" > "$out/pops_loudness.json"
"$bin" mux "$clip" "$out/pops.wav" --out "$out/cockatoo_pops.mp4" --offset-frames 2 --keep-original-audio
"$bin" probe "$out/cockatoo_pops.mp4" > "$out/cockatoo_pops.json"
if [ -f assets/models/default/avsync_model.json ]; then
  model=default
else
  model="$out/untrained-tiny-model"
  [ -f "$model/avsync_model.json" ] || "$bin" model init --preset tiny --name "untrained tiny" --out "$model"
  echo "note: the default model is not installed; generating with an untrained tiny model (noise)"
fi
"$bin" generate --video "$clip" --text "a cockatoo squawks and flaps its wings" \
  --model "$model" --out "$out/generate" --candidates 4 --gmds-iters 1 --keep 2 --device cpu
echo "demo results in $out/"
