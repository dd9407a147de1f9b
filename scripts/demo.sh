#!/usr/bin/env bash
# The main job on the bundled clip: probe, sample frames, make a sync-pop tone, render its
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
echo "demo results in $out/"
