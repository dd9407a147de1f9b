#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser that reads a file a user may get from anywhere
# (fuzz/fuzz_targets/). Each target runs from its committed seeds (fuzz/corpus/TARGET/seed-*)
# until it has executed RUNS inputs, or for MEDIA_SECONDS for the media path, whose inputs
# are slow; new coverage is kept in the corpus folder (not committed), crashes are written
# to fuzz/artifacts/TARGET/ and stop that target.
#
#   scripts/fuzz.sh                      # every target, 1,000,000 runs (media: 30 minutes)
#   RUNS=100000 MEDIA_SECONDS=300 scripts/fuzz.sh csv media
#
# Needs the nightly toolchain (libFuzzer's instrumentation) and cargo-fuzz, which this script
# installs when it is missing. A summary line per target goes to fuzz/results.txt.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

RUNS=${RUNS:-1000000}
MEDIA_SECONDS=${MEDIA_SECONDS:-1800}
ALL=(safetensors wav_roundtrip project configs tokenizer csv library_index media)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL[@]}"); fi

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# No sanitizer: the targets are safe Rust over FFmpeg's C, which is not instrumented either,
# and an uninstrumented allocator runs several times faster. Debug assertions (overflow
# checks included) are on.
cargo +nightly fuzz build --sanitizer none --debug-assertions
BIN=target/x86_64-unknown-linux-gnu/release

mkdir -p logs
status=0
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  if [ "$t" = media ]; then limit=(-max_total_time="$MEDIA_SECONDS"); else limit=(-runs="$RUNS"); fi
  echo "== $t (${limit[*]})"
  start=$(date +%s)
  set +e
  "$BIN/$t" "corpus/$t" "${limit[@]}" -timeout=20 -rss_limit_mb=4096 -max_len=65536 \
    -artifact_prefix="artifacts/$t/" -print_final_stats=1 >"logs/$t.log" 2>&1
  rc=$?
  set -e
  seconds=$(($(date +%s) - start))
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$' || echo 0)
  corpus=$(find "corpus/$t" -type f | wc -l)
  if [ $rc -eq 0 ]; then verdict=clean; else verdict="FAILED (rc $rc, see fuzz/logs/$t.log and fuzz/artifacts/$t/)"; status=1; fi
  line="$t: ${runs:-0} runs in ${seconds} s, corpus $corpus, $verdict"
  echo "$line"
  echo "$(date -u +%FT%TZ) $line" >>results.txt
done
exit $status
