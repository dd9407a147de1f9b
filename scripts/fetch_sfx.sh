#!/usr/bin/env bash
# Fetch the real sound-effect recordings the default model is trained on, from Debian packages,
# without installing them: `apt-get download` then `dpkg -x`, keeping only the sound files.
#
#   scripts/fetch_sfx.sh [DEST]        (default: data/sfx)
#
# DEST/<package>/... holds the sounds under their original paths; DEST/<package>/LICENSE names
# the package's licence and copyright file. Captions come later, from the paths
# (`avsync dataset`). Running it again skips packages already extracted. A sound whose bytes an
# earlier package (in the order below) already holds is dropped, since several games ship the
# same recordings.
set -euo pipefail

dest=${1:-data/sfx}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# package, licence (from the package's debian/copyright), where its sounds are: a folder, or
# ARCHIVE:PREFIX for sounds inside archives named ARCHIVE (zip, pk3 and wz are zips; ocg is an
# OpenClonk group; cat is OpenTTD's sound catalogue) under PREFIX. Music and voice lines are
# dropped later, by `avsync dataset`. Ordered by usable effect seconds per MB downloaded, after
# the first four. Left out: cube2-data, hedgewars-data, warzone2100-data, supertuxkart-data,
# torcs-data and freecol give under one second of effects per MB (the rest is voices, music and
# maps), or name their files after authors, car models or abbreviations rather than the sound.
packages=(
  "0ad-data|CC-BY-SA-3.0|public.zip:audio/"
  "megaglest-data|CC-BY-SA-3.0|usr/share"
  "wesnoth-1.16-data|GPL-2+|usr/share"
  "tuxpaint-stamps-default|GPL-2|usr/share"
  "ufoai-sound|GPL-2+ (some files CC-BY-3.0, CC-BY-SA-3.0 or public domain)|0snd.pk3:sound/"
  "openttd-opensfx|CC-BY-SA-3.0 (files CC-BY-3.0 or CC0-1.0)|opensfx.cat:"
  "scorched3d-data|GPL-2+|usr/share"
  "lincity-ng-data|GPL-2+|usr/share"
  "openclonk-data|CC-BY-3.0 (some files CC0-1.0; see authors.txt)|Sound.ocg:"
  "openarena-data|GPL-2+|*.pk3:sound/"
  "btanks-data|GPL-2 with the Battle Tanks exception|usr/share"
  "ardentryst|CC-BY-SA-3.0|usr/share"
  "extremetuxracer-data|GPL-2+|usr/share"
  "lugaru-data|CC-BY-SA-3.0|usr/share"
  "nexuiz-data|GPL-2+|data.pk3:sound/"
  "endless-sky-data|public domain (a few files CC-BY-SA)|usr/share"
  "flare-game|CC-BY-SA-3.0+|usr/share"
  "widelands-data|GPL-2+|usr/share"
  "warmux-data|GPL-2+|usr/share"
  "redeclipse-data|CC-BY-SA-3.0 (some files CC-BY-3.0)|usr/share"
)

# Sounds from archives: extract_archives PREFIX OUT ARCHIVE...
extract_archives() {
  python3 - "$@" <<'EOF'
import gzip, io, os, re, struct, sys, zipfile

prefix, out, archives = sys.argv[1], sys.argv[2], sys.argv[3:]
SOUND = (".ogg", ".wav", ".flac")

def write(path, data):
    path = os.path.join(out, path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)

def c4group(raw, base, folder):
    # OpenClonk group: a scrambled header, 316-byte entries, then their contents; folders nest.
    head = bytearray(b ^ 237 for b in raw[base:base + 204])
    for i in range(0, len(head) - 2, 3):
        head[i], head[i + 2] = head[i + 2], head[i]
    if not head.startswith(b"RedWolf Design GrpFolder"):
        sys.exit("not an OpenClonk group")
    count = struct.unpack("<i", head[36:40])[0]
    data = base + 204 + count * 316
    for i in range(count):
        e = raw[base + 204 + i * 316:base + 204 + (i + 1) * 316]
        name = e[:260].split(b"\0")[0].decode("latin-1")
        _, child, size, _, offset = struct.unpack("<5i", e[260:280])
        path = folder + name.removesuffix(".ocg")
        if child:
            yield from c4group(raw, data + offset, path + "/")
        else:
            yield path, raw[data + offset:data + offset + size]

for archive in archives:
    if archive.endswith(".ocg"):
        gz = open(archive, "rb").read()
        raw = gzip.GzipFile(fileobj=io.BytesIO(b"\x1f\x8b" + gz[2:])).read()
        for path, data in c4group(raw, 0, ""):
            if path.startswith(prefix) and path.lower().endswith(SOUND + ("authors.txt",)):
                write(path, data)
    elif archive.endswith(".cat"):
        # OpenTTD sound catalogue: (offset, size) pairs, each entry a length-prefixed title
        # ("Ship horn". By ...) and a WAV file; files are named after the titles.
        cat = open(archive, "rb").read()
        for i in range((struct.unpack("<I", cat[:4])[0] & 0x7FFFFFFF) // 8):
            offset, size = struct.unpack("<II", cat[i * 8:i * 8 + 8])
            offset &= 0x7FFFFFFF
            n = cat[offset]
            title = re.match(r'"([^"]*)"', cat[offset + 1:offset + 1 + n].decode("latin-1"))
            wav = cat[offset + 1 + n:offset + size]
            # the good- and bad-year jingles are music
            if not title or not wav.startswith(b"RIFF") or title[1] in ("Good Year", "Bad Year"):
                continue
            name = re.sub(r"[^a-z0-9]+", "_", title[1].lower()).strip("_")
            write(prefix + name + ".wav", wav)
    else:
        z = zipfile.ZipFile(archive)
        for n in z.namelist():
            if n.startswith(prefix) and n.lower().endswith(SOUND):
                write(n, z.read(n))
EOF
}

# Drop sound files whose bytes were seen before (in an earlier package or earlier in this one);
# with `record`, only remember them. dedupe FOLDER prune|record
dedupe() {
  python3 - "$1" "$2" "$work/seen" <<'EOF'
import hashlib, os, sys

root, mode, seen_file = sys.argv[1:]
seen = set(open(seen_file).read().split()) if os.path.exists(seen_file) else set()
dropped = 0
for folder, _, files in sorted(os.walk(root)):
    for name in sorted(files):
        if not name.lower().endswith((".ogg", ".wav", ".flac")):
            continue
        path = os.path.join(folder, name)
        with open(path, "rb") as f:
            digest = hashlib.sha1(f.read()).hexdigest()
        if digest in seen and mode == "prune":
            os.remove(path)
            dropped += 1
        seen.add(digest)
with open(seen_file, "w") as f:
    f.write("\n".join(seen))
if dropped:
    print(f"{os.path.basename(root.removesuffix('.partial'))}: {dropped} duplicate sounds dropped")
EOF
}

for entry in "${packages[@]}"; do
  IFS='|' read -r pkg licence where <<<"$entry"
  out="$dest/$pkg"
  if [[ -f "$out/LICENSE" ]]; then
    echo "$pkg: already fetched"
    dedupe "$out" record
    continue
  fi
  echo "$pkg: downloading"
  (cd "$work" && apt-get download -q "$pkg" >/dev/null)
  deb=$(ls "$work"/"${pkg}"_*.deb)
  echo "$pkg: $(($(stat -c %s "$deb") / 1000000)) MB"
  rm -rf "$work/x" "$out.partial" "$out"
  mkdir -p "$work/x" "$out.partial"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work/x" --wildcards \
    '*.ogg' '*.wav' '*.flac' '*.mp3' '*.zip' '*.pk3' '*.wz' '*.ocg' '*.cat' '*/copyright' \
    2>/dev/null || true
  rm -f "$deb"
  if [[ "$where" == *:* ]]; then
    mapfile -t archives < <(find "$work/x" -type f -name "${where%%:*}" | sort)
    ((${#archives[@]})) || { echo "$pkg: ${where%%:*} not found" >&2; exit 1; }
    extract_archives "${where#*:}" "$out.partial" "${archives[@]}"
  else
    src="$work/x/$where"
    (cd "$src" && find . -type f \( -iname '*.ogg' -o -iname '*.wav' -o -iname '*.flac' \) \
      -print0 | tar --null -cf - -T -) | tar -xf - -C "$out.partial"
  fi
  dedupe "$out.partial" prune
  copyright=$(find "$work/x" -path "*/doc/*/copyright" | head -n 1)
  [[ -n "$copyright" ]] && cp "$copyright" "$out.partial/copyright"
  printf 'package: %s\nlicence: %s\nsource: Debian package %s (see copyright)\n' \
    "$pkg" "$licence" "$pkg" >"$out.partial/LICENSE"
  rm -rf "$work/x"
  mv "$out.partial" "$out"
  echo "$pkg: $(find "$out" -type f \( -iname '*.ogg' -o -iname '*.wav' -o -iname '*.flac' \) | wc -l) sound files"
done
