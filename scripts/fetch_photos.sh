#!/usr/bin/env bash
# Fetch real photographs for the no-event footage (`avsync footage`): the sample pictures the
# scikit-image wheel carries (public-domain or CC0 photographs: an astronaut, a cat, coffee, a
# rocket, motorcycles, grass, gravel, a brick wall, coins, the moon), without installing it.
#
#   scripts/fetch_photos.sh [DEST]        (default: data/photos)
set -euo pipefail

dest=${1:-data/photos}
mkdir -p "$dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

photos=(astronaut.png chelsea.png coffee.png rocket.jpg motorcycle_left.png grass.png
  gravel.png brick.png coins.png moon.png camera.png hubble_deep_field.jpg)
missing=0
for p in "${photos[@]}"; do [ -s "$dest/$p" ] || missing=1; done
if [ "$missing" = 0 ]; then
  echo "$dest: all ${#photos[@]} photographs present"
  exit 0
fi
python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$work" "scikit-image==0.26.0"
wheel=$(ls "$work"/scikit_image-*.whl)
python3 - "$wheel" "$dest" "${photos[@]}" <<'PY'
import sys, zipfile, pathlib
wheel, dest, names = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for n in names:
        (dest / n).write_bytes(z.read(f"skimage/data/{n}"))
PY
echo "$dest: ${#photos[@]} photographs"
