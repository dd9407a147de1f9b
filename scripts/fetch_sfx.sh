#!/usr/bin/env bash
# Fetch the real sound-effect recordings the default model is trained on, from Debian packages,
# without installing them: `apt-get download` then `dpkg -x`, keeping only the sound files.
#
#   scripts/fetch_sfx.sh [DEST]        (default: data/sfx)
#
# DEST/<package>/... holds the sounds under their original paths; DEST/<package>/LICENSE names
# the package's licence and copyright file. Captions come later, from the paths
# (`avsync dataset`). Running it again skips packages already extracted.
set -euo pipefail

dest=${1:-data/sfx}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# package, licence (from the package's debian/copyright), where its sounds are; music and
# voice lines are dropped later, by `avsync dataset`
packages=(
  "0ad-data|CC-BY-SA-3.0|public.zip:audio/"
  "megaglest-data|CC-BY-SA-3.0|usr/share"
  "wesnoth-1.16-data|GPL-2+|usr/share"
  "tuxpaint-stamps-default|GPL-2|usr/share"
)

for entry in "${packages[@]}"; do
  IFS='|' read -r pkg licence where <<<"$entry"
  out="$dest/$pkg"
  if [[ -f "$out/LICENSE" ]]; then
    echo "$pkg: already fetched"
    continue
  fi
  echo "$pkg: downloading"
  (cd "$work" && apt-get download -q "$pkg" >/dev/null)
  deb=$(ls "$work"/"${pkg}"_*.deb)
  rm -rf "$work/x" "$out.partial" "$out"
  mkdir -p "$work/x" "$out.partial"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work/x" --wildcards \
    '*.ogg' '*.wav' '*.flac' '*.mp3' '*.zip' '*/copyright' 2>/dev/null || true
  rm -f "$deb"
  if [[ "$where" == public.zip:* ]]; then
    inner=${where#public.zip:}
    zip=$(find "$work/x" -name public.zip | head -n 1)
    [[ -n "$zip" ]] || { echo "$pkg: public.zip not found" >&2; exit 1; }
    (cd "$out.partial" && python3 -c '
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for n in z.namelist():
    if n.startswith(sys.argv[2]) and n.lower().endswith((".ogg", ".wav", ".flac")):
        z.extract(n, ".")
' "$zip" "$inner")
  else
    src="$work/x/$where"
    (cd "$src" && find . -type f \( -iname '*.ogg' -o -iname '*.wav' -o -iname '*.flac' \) \
      -print0 | tar --null -cf - -T -) | tar -xf - -C "$out.partial"
  fi
  copyright=$(find "$work/x" -path "*/doc/*/copyright" | head -n 1)
  [[ -n "$copyright" ]] && cp "$copyright" "$out.partial/copyright"
  printf 'package: %s\nlicence: %s\nsource: Debian package %s (see copyright)\n' \
    "$pkg" "$licence" "$pkg" >"$out.partial/LICENSE"
  rm -rf "$work/x"
  mv "$out.partial" "$out"
  echo "$pkg: $(find "$out" -type f \( -iname '*.ogg' -o -iname '*.wav' -o -iname '*.flac' \) | wc -l) sound files"
done
