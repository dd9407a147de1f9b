#!/usr/bin/env python3
"""Convert the aiSFX sound-effects embedding network (Ma and Lerch, "Representation Learning for
the Automatic Indexing of Sound Effects Libraries", ISMIR 2022) as the PyPI package `aisfx`
0.1.2 ships it into the files AvSync Studio embeds (assets/models/aisfx/):

- model.safetensors: the `embedding_net.*` tensors of `aisfx/models/checkpoint.pth` (the four
  conv blocks: conv weights and BatchNorm weight / bias / running statistics) in float16, keys
  without the `embedding_net.` prefix (`conv_block1.conv1.weight`, `conv_block1.bn1.running_var`,
  ...). The per-dataset classifier heads (`fc.*`) and the `num_batches_tracked` counters are
  not needed for embeddings and are left out.
- config.json: the network width and the front end the embeddings were trained with.
- LICENSE: the licence file of the wheel, unchanged.

The wheel is fetched with pip (`pip download aisfx==0.1.2 --no-deps`); torch reads the
checkpoint (a pickled `(state_dict, ds_dict)` pair, hence `weights_only=False`).

    python -m venv .venv && .venv/bin/pip install torch safetensors numpy
    .venv/bin/python scripts/convert_aisfx.py
"""
import base64
import hashlib
import json
import pathlib
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
import torch

from safetensors_io import write_safetensors

VERSION = "0.1.2"
PREFIX = "embedding_net."
# sha256 of aisfx/models/checkpoint.pth as the wheel's RECORD lists it.
CHECKPOINT_SHA256 = "SZ6nWQnJMqL5TDX6ci-k-rxby36EkXIJzF90AmJ7frU"


dst = pathlib.Path(__file__).resolve().parent.parent / "assets" / "models" / "aisfx"
dst.mkdir(parents=True, exist_ok=True)

with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", f"aisfx=={VERSION}", "--no-deps",
         "--only-binary", ":all:", "-d", str(tmp), "--quiet"],
        check=True,
    )
    (wheel,) = tmp.glob(f"aisfx-{VERSION}-*.whl")
    with zipfile.ZipFile(wheel) as z:
        z.extract("aisfx/models/checkpoint.pth", tmp)
        licence = z.read(f"aisfx-{VERSION}.dist-info/licenses/LICENSE")
    digest = hashlib.sha256((tmp / "aisfx/models/checkpoint.pth").read_bytes()).digest()
    if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != CHECKPOINT_SHA256:
        sys.exit("checkpoint.pth does not match the published aisfx 0.1.2 wheel")
    state, _datasets = torch.load(tmp / "aisfx/models/checkpoint.pth", map_location="cpu",
                                  weights_only=False)

half = {
    k[len(PREFIX):]: v.numpy().astype(np.float16)
    for k, v in sorted(state.items())
    if k.startswith(PREFIX) and not k.endswith("num_batches_tracked")
}
write_safetensors(dst / "model.safetensors", half,
                  {"format": "pt", "source": f"aisfx {VERSION} aisfx/models/checkpoint.pth"})
(dst / "LICENSE").write_bytes(licence)

config = {
    "model": "aisfx X-Sequential-CE embedding net (Cnn_9layers, max pooling)",
    "hl1": 64,
    "sample_rate": 44100,
    "n_fft": 2048,
    "win_length": 2048,
    "hop_length": 1024,
    "n_mels": 96,
    "fmin": 0.0,
    "fmax": 22050.0,
    "mel_scale": "htk",
    "mel_norm": "l1",
    "spec_min": 0.0,
    "spec_max": 9.457798957824707,
    "block": 100,
    "block_hop": 50,
    "batch_norm_eps": 1e-5,
}
(dst / "config.json").write_text(json.dumps(config, indent=2) + "\n")

size = (dst / "model.safetensors").stat().st_size
print(f"{len(half)} tensors, {sum(v.size for v in half.values())} values, {size} bytes")
