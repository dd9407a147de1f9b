#!/usr/bin/env python3
"""A short real recording for the tests that need one (``fixtures/real_clip.safetensors``).

``pcm`` (16000) I16: the first second of ``audio/actor/fauna/animal/cattle_02.ogg`` of the
Debian package ``0ad-data`` 0.0.26 (0 A.D., Wildfire Games; CC BY-SA 3.0), as
``avsync dataset`` decodes it: 16 kHz mono 16-bit PCM. A cow's low: harmonics over breath
noise, so both the tonal and the broadband side of a spectrogram mapping are exercised. The
safetensors metadata records the source and the licence.

Re-run from the repository root with a sound set built from that package (the clip is looked
up by its source path in the set's ``sounds.json``)::

    python tests/parity/real_clip.py /path/to/sound/set

Needs numpy and safetensors.
"""

import json
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

SOURCE = "0ad-data/audio/actor/fauna/animal/cattle_02.ogg"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} SOUND_SET_DIR")
    set_dir = Path(sys.argv[1])
    index = json.loads((set_dir / "sounds.json").read_text())
    assert index["sample_rate"] == 16000
    (sound,) = [s for s in index["sounds"] if s["source"] == SOURCE]
    pcm = np.memmap(set_dir / "sounds.pcm", dtype="<i2", mode="r")
    clip = np.array(pcm[sound["offset"]:sound["offset"] + min(sound["len"], 16000)], dtype=np.int16)
    save_file({"pcm": clip}, str(FIXTURES / "real_clip.safetensors"), metadata={
        "source": "Debian 0ad-data 0.0.26, " + SOURCE[len("0ad-data/"):] + ", first second",
        "licence": "CC-BY-SA-3.0 (0 A.D., Wildfire Games)",
        "sample_rate": "16000",
    })
    print(len(clip), "samples")


if __name__ == "__main__":
    main()
