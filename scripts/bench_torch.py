#!/usr/bin/env python3
"""Side by side with PyTorch: the same networks, inputs of the same shapes, on this machine.

For each case it times PyTorch (diffusers' UNet2DConditionModel / AutoencoderKL, float32,
inference mode, the same thread count) and then the engine (`cargo bench --bench model --
unet-forward|vae-decode MODEL BATCH`, with as many threads), and prints both and the ratio
engine / PyTorch:

- `default`: the shipped default model's U-Net and VAE, loaded from `assets/models/default`
  (their diffusers-layout weights load unchanged and strictly), 2.56 s windows (8x64x16
  latents), 16 text tokens 384 wide; batch 2 is one window with guidance, 6 three windows.
- `tango2`: the Tango-2 preset (the full tier's U-Net, 866 M parameters, and the AudioLDM
  VAE) with random weights, 10.24 s (8x256x16 latents), 16 text tokens 1024 wide.

Each side's number is the median of five runs after one warm-up; the sides alternate for
`--rounds` rounds and the medians of the rounds are compared.

    pip install torch==2.15.0 diffusers==0.42.1 safetensors==0.8.0 numpy==2.4.6
    python scripts/bench_torch.py [--threads 2] [--cases default,tango2]
"""

import argparse
import json
import os
import subprocess
import statistics
import time
from pathlib import Path

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "assets/models/default"

TANGO2_UNET = {
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    "block_out_channels": [320, 640, 1280, 1280],
    "in_channels": 8,
    "out_channels": 8,
    "layers_per_block": 2,
    "attention_head_dim": [5, 10, 20, 20],
    "cross_attention_dim": 1024,
    "norm_num_groups": 32,
    "norm_eps": 1e-5,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "use_linear_projection": True,
    "upcast_attention": True,
    "downsample_padding": 1,
}

AUDIOLDM_VAE = {
    "in_channels": 1,
    "out_channels": 1,
    "latent_channels": 8,
    "block_out_channels": [128, 256, 512],
    "layers_per_block": 2,
    "norm_num_groups": 32,
}


def vae_config(cfg):
    n = len(cfg["block_out_channels"])
    keep = ("in_channels", "out_channels", "latent_channels", "block_out_channels",
            "layers_per_block", "norm_num_groups")
    out = {k: cfg[k] for k in keep}
    out["down_block_types"] = ["DownEncoderBlock2D"] * n
    out["up_block_types"] = ["UpDecoderBlock2D"] * n
    return out


def shipped(part, make):
    cfg = json.loads((DEFAULT / part / "config.json").read_text())
    model = make(cfg)
    state = load_file(DEFAULT / part / "diffusion_pytorch_model.safetensors")
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    return model.eval(), cfg


def median_time(f, runs=5):
    with torch.inference_mode():
        f()
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            f()
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def torch_unet(model, batch):
    if model == "default":
        unet, cfg = shipped("unet", lambda c: UNet2DConditionModel(**c))
        frames = 64
    else:
        torch.manual_seed(0)
        cfg = TANGO2_UNET
        unet = UNet2DConditionModel(**cfg).eval()
        frames = 256
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 8, frames, 16, generator=g)
    text = torch.randn(batch, 16, cfg["cross_attention_dim"], generator=g)
    mask = torch.ones(batch, 16)
    t = torch.full((batch,), 500.0)
    return median_time(lambda: unet(x, t, text, encoder_attention_mask=mask).sample)


def torch_vae(model, batch):
    if model == "default":
        vae, _ = shipped("vae", lambda c: AutoencoderKL(**vae_config(c)))
        frames = 64
    else:
        torch.manual_seed(0)
        vae = AutoencoderKL(**vae_config(AUDIOLDM_VAE)).eval()
        frames = 256
    z = torch.randn(batch, 8, frames, 16, generator=torch.Generator().manual_seed(0))
    return median_time(lambda: vae.decode(z).sample)


def engine(case, model, batch, threads):
    cmd = ["cargo", "bench", "--quiet", "-p", "avsync-engine", "--bench", "model", "--",
           case, model, str(batch)]
    env = {**os.environ, "RAYON_NUM_THREADS": str(threads)}
    out = subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True,
                         text=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("RESULT "))
    return float(line.split()[2])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cases", default="default,tango2")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cases = []
    for model in a.cases.split(","):
        for batch in [2, 6] if model == "default" else [2]:
            cases.append(("unet-forward", model, batch, torch_unet))
        for batch in [1, 3] if model == "default" else [1]:
            cases.append(("vae-decode", model, batch, torch_vae))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"median of {a.rounds} alternating rounds")
    print(f"{'case':<28}{'PyTorch s':>11}{'engine s':>11}{'ratio':>8}")
    for case, model, batch, run_torch in cases:
        # The two sides alternate, so a change in the machine's speed (a shared VM) touches both.
        ts, es = [], []
        for _ in range(a.rounds):
            ts.append(run_torch(model, batch))
            es.append(engine(case, model, batch, a.threads))
        t, e = statistics.median(ts), statistics.median(es)
        print(f"{case + ' ' + model + ' b' + str(batch):<28}{t:>11.4f}{e:>11.4f}{e / t:>8.2f}",
              flush=True)


if __name__ == "__main__":
    main()
