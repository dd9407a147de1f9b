#!/usr/bin/env python3
"""Reference fixtures for the model side of the Rust port (UNet, AvSync adapters, VAE, vocoder, schedulers).

Builds tiny, randomly initialised versions of the Tango-2 style components with the reference
Python libraries (diffusers / transformers), runs them on seeded inputs and writes the weights
and the input/output tensors as float32 safetensors into ``fixtures/`` beside this script. The
Rust side loads the weights exactly as it would load a real checkpoint and compares its outputs
with the stored ones.

Re-run (from the repository root)::

    /work/.parity-venv/bin/python tests/parity/model_reference.py      # or any python with the pins below

Package versions used for the committed fixtures (CPU only)::

    python 3.11, torch 2.15.0, diffusers 0.42.1, transformers 5.24.0, accelerate 1.15.0,
    safetensors 0.8.0, numpy 2.4.6

    pip install torch==2.15.0 diffusers==0.42.1 transformers==5.24.0 accelerate==1.15.0 \
        safetensors==0.8.0 numpy==2.4.6

Everything is seeded and the script runs single-threaded, so a re-run with the same versions
reproduces the files byte for byte (the script takes a few seconds).

Tolerance on the Rust side: every output is compared in f32 with a relative tolerance of 1e-4
(|rust - ref| <= 1e-4 * max(|ref|) per tensor, or elementwise with a small absolute floor).
Inputs are stored in the fixtures, so the Rust tests need no random generator.

What each fixture checks
========================

``tiny_tango/unet/`` + ``unet_io.safetensors``  (diffusers ``UNet2DConditionModel``)
    The full denoiser forward: sinusoidal timestep embedding + MLP, ResNet blocks with time
    injection, GroupNorm, Transformer2D blocks (linear proj_in/proj_out, self-attention,
    text cross-attention with a padding mask, GEGLU feed-forward), down/up sampling, skip
    concatenation, output head. Debug tensors pin down the first layers.

``tiny_tango/adapter/`` + ``adapter_io.safetensors``  (AvSync adapters, spec below)
    Decoupled video cross-attention in ``attn2``, RoPE frame cross-attention and audio
    cross-attention in every transformer block, plus the condition projections, for three
    scale settings. Scales (0, 0, 0) reproduce ``unet_io``'s output exactly (asserted here).

``tiny_tango/vae/`` + ``vae_io.safetensors``  (diffusers ``AutoencoderKL``, AudioLDM layout)
    Encoder + quant_conv (posterior mean / logvar) and post_quant_conv + decoder.

``tiny_tango/vocoder/`` + ``vocoder_io.safetensors``  (transformers ``SpeechT5HifiGan``)
    HiFi-GAN: log-mel (B, T, 64) -> waveform (B, 160 * T + 32).

``schedulers/*.safetensors``  (DDPM, DDIM, DPM-Solver++ x epsilon / v_prediction)
    alphas_cumprod, set_timesteps(10), a full 10-step trajectory with a fixed synthetic
    model, the DDPM noise injected at each step, add_noise (and get_velocity).

Configurations
==============

UNet. Fields copied from Tango-2's ``tango2/configs/diffusion_model_config.json`` (declare-lab/
tango; Tango 1 ``configs/diffusion_model_config.json`` has the same fields): act_fn silu,
center_input_sample false, down_block_types [CrossAttnDownBlock2D x3, DownBlock2D],
up_block_types [UpBlock2D, CrossAttnUpBlock2D x3], downsample_padding 1,
dual_cross_attention false, flip_sin_to_cos true, freq_shift 0, in/out_channels 8,
layers_per_block 2, mid_block_scale_factor 1, norm_eps 1e-5, num_class_embeds null,
only_cross_attention false, sample_size [32, 2] (unused by the forward),
use_linear_projection true, upcast_attention true; mid_block_type is the diffusers default
UNetMidBlock2DCrossAttn (Tango's JSON leaves it to the default too).
Shrunk: block_out_channels [16, 32, 32, 32] (Tango: [320, 640, 1280, 1280]);
attention_head_dim [2, 4, 2, 4] (Tango: [5, 10, 20, 20]); cross_attention_dim 24 (Tango: 1024,
FLAN-T5-large); norm_num_groups 8 (Tango: 32). The channel widths keep the weight file at a
few MB; the head counts are chosen so that the head dim differs between levels (8 and 16),
which Tango's uniform 64 would not exercise.
``attention_head_dim`` is the legacy diffusers field that really holds the NUMBER OF HEADS:
UNet2DConditionModel.__init__ does ``num_attention_heads = num_attention_heads or
attention_head_dim`` and the blocks build ``Transformer2DModel(num_heads, out_channels //
num_heads, ...)``, so head_dim = out_channels // heads (64 at every level in Tango-2). Down
block i uses heads[i]; the mid block uses heads[-1]; up block i uses reversed(heads)[i] (the
same level as down block 3 - i). Here (dim / heads / head_dim):
  down_blocks.0 16/2/8, down_blocks.1 32/4/8, down_blocks.2 32/2/16, mid_block 32/4/8,
  up_blocks.1 32/2/16, up_blocks.2 32/4/8, up_blocks.3 16/2/8.

VAE. AudioLDM (audioldm-s-full) layout as diffusers' convert_original_audioldm_to_diffusers.py
builds it: in/out_channels 1, latent_channels 8, 3 x DownEncoderBlock2D / UpDecoderBlock2D,
layers_per_block 2, act_fn silu, sample_size 512, scaling_factor 0.9227914214134216 (the
learnt ``scale_factor`` of the AudioLDM checkpoint that Tango ships in its vae_config.json).
Shrunk: block_out_channels [16, 32, 32] (AudioLDM: [128, 256, 512]); norm_num_groups 8
(AudioLDM: 32).

Vocoder. AudioLDM's HiFi-GAN as the same conversion script builds it: model_in_dim 64,
sampling_rate 16000, upsample_rates [5, 4, 2, 2, 2], upsample_kernel_sizes [16, 16, 8, 4, 4],
resblock_kernel_sizes [3, 7, 11], resblock_dilation_sizes [[1, 3, 5]] * 3,
normalize_before false, leaky_relu_slope 0.1. Shrunk: upsample_initial_channel 32 (AudioLDM:
1024), so the stage channels are 16, 8, 4, 2, 1.

Schedulers. Tango builds ``DDPMScheduler.from_pretrained("stabilityai/stable-diffusion-2-1",
subfolder="scheduler")``; that scheduler_config.json is ``SD21_SCHEDULER_CONFIG`` below. The
same dict is given to DDIMScheduler and DPMSolverMultistepScheduler (keys a class does not
know are ignored, keys it lacks take the class default). The fully resolved config of each
scheduler is stored in the fixture metadata under "config".

AvSync adapter specification (the reference implementation is ``AvSyncAdapter`` below)
======================================================================================

Conditions, projected once per forward and shared by all blocks (C = cross_attention_dim):

* video  (B, d_video)          -> video_proj: Linear(d_video, T * C, bias) -> reshape (B, T, C)
                                  -> LayerNorm(C, eps 1e-5, affine)                (T = num_video_tokens)
* frames (B, N, d_frame)       -> frame_proj: Linear(d_frame, C, bias) -> RMSNorm(C)
* audio  (B, A, d_audio)       -> audio_proj: Linear(d_audio, C, bias) -> RMSNorm(C)

RMSNorm(x) = x * rsqrt(mean(x^2, last dim) + 1e-6) * weight, computed in float32.

In every BasicTransformerBlock of the UNet (down, mid and up; 16 blocks here), with x the
block's tokens (B, H*W, dim), H*W the row-major flattened (H, W) feature map, H = time axis:

1. x = x + attn1(norm1(x))                                   (unchanged)
2. q = attn2.to_q(norm2(x)); per head, d = head dim:
   o = softmax(q k_text^T / sqrt(d) + text_mask_bias) v_text
       + video_scale * softmax(q k_video^T / sqrt(d)) v_video
   with k_text/v_text = attn2.to_k/to_v(text), k_video/v_video =
   attn2.to_k_video/to_v_video(video tokens) (Linear C -> inner, no bias), no mask on the
   video tokens; x = x + attn2.to_out[0](o)                 (IP-Adapter decoupled attention)
3. x = x + frame_scale * attn_frame(norm_frame(x), frame tokens, RoPE)
4. x = x + audio_scale * attn_audio(norm_audio(x), audio tokens)
5. x = x + ff(norm3(x))                                      (unchanged)

norm_frame / norm_audio: LayerNorm(dim, eps 1e-5, affine). attn_frame / attn_audio: same head
count and head dim as the block's attn2; to_q Linear(dim, inner, no bias), to_k / to_v
Linear(C, inner, no bias), to_out.0 Linear(inner, dim, bias); scaled dot product attention
with scale 1/sqrt(d), no mask. In attn_frame RoPE is applied per head to q and k (after the
projections and the head split, before the dot product); attn_audio has no RoPE.

RoPE (rotate-half, LLaMA / GPT-NeoX convention), all in float32:
  inv_freq[i] = 1 / 10000^(2i / d), i in [0, d/2)
  angle(pos)  = cat(pos * inv_freq, pos * inv_freq)            (length d)
  rope(x)     = x * cos(angle) + rotate_half(x) * sin(angle),  rotate_half(x) = cat(-x2, x1)
  key j (frame j of N)                    : pos = j
  query token t = h * W + w (row h of H) : pos = (h + 0.5) * N / H
  H is the height of the feature map entering the block's Transformer2DModel (32, 16, 8, 4
  for the levels here), so every resolution level has its own query table.

Adapter weight file keys: ``video_proj.proj.{weight,bias}``, ``video_proj.norm.{weight,bias}``,
``frame_proj.proj.{weight,bias}``, ``frame_proj.norm.weight``, ``audio_proj.proj.{weight,bias}``,
``audio_proj.norm.weight`` and, for each block path P such as
``down_blocks.0.attentions.0.transformer_blocks.0``: ``P.attn2.to_k_video.weight``,
``P.attn2.to_v_video.weight``, ``P.norm_frame.{weight,bias}``, ``P.attn_frame.to_q.weight``,
``P.attn_frame.to_k.weight``, ``P.attn_frame.to_v.weight``, ``P.attn_frame.to_out.0.{weight,bias}``
and the same six ``norm_audio`` / ``attn_audio`` entries. Linear weights are (out, in).

diffusers behaviour the Rust port must match (as read in the installed sources)
==============================================================================

* Timestep embedding: half = C/2 (C = block_out_channels[0]); freq[i] = exp(-ln(10000) * i /
  (half - freq_shift)) in f32; arg = t.float() * freq; emb = cat(sin, cos) and, with
  flip_sin_to_cos, cat(cos, sin). Integer (int64) and float32 timesteps give identical
  results (diffusers casts with ``.float()``); the fixtures store them as float32.
  time_embedding = linear_2(silu(linear_1(emb))), dim 4 * C. No activation after it.
* encoder_attention_mask (1 keep / 0 pad) becomes an additive bias (1 - mask) * -10000.0
  (not -inf), broadcast over heads and queries, added to the scaled scores before softmax.
  Only attn2 (text cross-attention) sees it; self-attention has no mask.
* Attention uses torch SDPA (AttnProcessor2_0): softmax(q k^T / sqrt(d) + bias) v in the input
  dtype. upcast_attention=true only matters for the legacy processor / half precision; in
  f32 there is nothing to do. to_q/to_k/to_v have no bias (attention_bias false); to_out.0 has.
* Transformer2DModel: GroupNorm(groups, eps 1e-6) -> permute to (B, H*W, C) -> proj_in Linear
  -> blocks -> proj_out Linear -> back to (B, C, H, W) -> + residual. Block LayerNorms eps 1e-5.
  FeedForward = GEGLU: proj Linear(dim, 2 * 4 * dim), chunk(2) -> a * gelu(b) (exact erf gelu,
  first half is the value, second half the gate) -> Linear(4 * dim, dim).
* ResnetBlock2D (UNet): GroupNorm eps norm_eps 1e-5; time_emb_proj(silu(temb)) added after
  conv1 as [:, :, None, None]; output_scale_factor 1; 1x1 conv_shortcut when channels change.
  VAE resnets/attention use GroupNorm eps 1e-6 and no time embedding.
* UNet Downsample2D: conv 3x3 stride 2 padding 1. VAE Downsample2D: pad (0, 1, 0, 1) (right and
  bottom only) with zeros, then conv 3x3 stride 2 padding 0. Upsample2D: nearest x2, conv 3x3.
* VAE mid block has one single-head self-attention (group_norm, to_q/k/v with bias, to_out,
  residual, rescale 1). DiagonalGaussianDistribution clamps logvar to [-30, 20]; the stored
  logvar is the raw quant_conv split (inside that range here). No scaling_factor is applied
  inside the VAE (pipelines multiply latents by it after encode and divide before decode).
* HiFi-GAN: leaky_relu(0.1) before each upsampler, ConvTranspose1d padding (k - u) // 2 (the
  first stage yields 5 * T + 1 samples, hence 160 * T + 32 at the end), resblock outputs
  averaged over the 3 kernels, final leaky_relu with torch's DEFAULT slope 0.01, conv_post,
  tanh. normalize_before=false: the random ``mean``/``scale`` buffers in the checkpoint must be
  loaded but NOT applied.
* Schedulers compute betas / alphas_cumprod in float32 torch (scaled_linear: linspace of
  sqrt(beta) in f32, squared). DDPM/DDIM "leading" spacing with steps_offset 1 gives
  [901, 801, ..., 1]; DPMSolverMultistep defaults to "linspace" spacing (steps_offset not used)
  and gives [999, 899, 799, 699, 599, 500, 400, 300, 200, 100]. See the scheduler section.

Scheduler fixtures
==================

One file per (scheduler, prediction_type): ``schedulers/{ddpm,ddim,dpmsolver}_{epsilon,
v_prediction}.safetensors``. Metadata: "config" (the resolved config, strict JSON; non-finite
floats as the strings "-inf"/"inf"/"nan"; "_diffusers_version" there is the one of the source
JSON), "source_config" (SD 2.1's JSON as given), "scheduler", "diffusers_version",
"prediction_type", "num_inference_steps" ("10"), "model_fn".

Trajectory: set_timesteps(10); sample_0 = initial_sample; for step i with timestep t_i:
model_output[i] = 0.3 * sample_i + 0.1 * sin(float32(t_i) / 100) (float32), sample_{i+1} =
prev_sample[i] = step(model_output[i], t_i, sample_i). A Rust test can feed the stored
model_output[i] and sample_i (initial_sample or prev_sample[i-1]) to step i and compare
prev_sample[i] step by step, and also run the closed loop with the same model function.
DPM-Solver is multistep (it keeps the previous x0 prediction), so its steps must be taken in
order from step 0 on one scheduler state.

* DDPM: variance_type fixed_small: std_t = sqrt(clamp((1 - acp_prev) / (1 - acp_t) * (1 -
  acp_t / acp_prev), min 1e-20)), with acp_prev = 1 after the last timestep. Noise is drawn
  whenever t > 0, so also at the last step t = 1, where std is 1e-10 (the clamp).
  ``noise[i]`` is the exact standard normal draw diffusers' step used (randn_tensor on the
  step's torch.Generator) and ``variance_std[i]`` the std it was scaled by; prev_sample =
  mean + variance_std * noise. ``pred_original_sample`` is stored too.
* DDIM: eta 0 (no noise); prev timestep = t - 100; after the last step (t = 1) the "previous"
  alpha is final_alpha_cumprod = alphas_cumprod[0] (set_alpha_to_one false).
* DPM-Solver++ (2M, midpoint): first step and, because lower_order_final and fewer than 15
  steps, the last step are first order; final_sigmas_type "zero" makes the last sigma 0, so
  the last update returns the x0 prediction (lambda = +inf there, exp(-h) = 0). ``sigmas`` (11)
  is the scheduler's sigma table ((1 - acp) / acp) ** 0.5 at the timesteps, plus the final 0.
  Its add_noise looks timesteps up in the current schedule, so its add_noise timesteps are
  schedule entries (999, 699, 400, 100), computed as alpha_t * x0 + sigma_t * noise with
  alpha_t = 1 / sqrt(sigma^2 + 1), sigma_t = sigma * alpha_t.
* add_noise (DDPM, DDIM): sqrt(acp_t) * x0 + sqrt(1 - acp_t) * noise for t in
  [0, 1, 250, 500, 999]; ``velocity`` = get_velocity = sqrt(acp_t) * noise - sqrt(1 - acp_t) * x0.

Deviations from Tango's real sizes are only the shrinking listed above.
"""

from __future__ import annotations

import copy
import json
import math
import struct
import types
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file

import diffusers
import transformers
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    UNet2DConditionModel,
)
from diffusers.models.attention import BasicTransformerBlock
from diffusers.models.attention_processor import AttnProcessor2_0
from diffusers.models.transformers.transformer_2d import Transformer2DModel
from diffusers.utils.torch_utils import randn_tensor
from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
TINY = FIXTURES / "tiny_tango"
SCHED_DIR = FIXTURES / "schedulers"

torch.set_num_threads(1)
diffusers.utils.logging.set_verbosity_error()
transformers.utils.logging.set_verbosity_error()

# ---------------------------------------------------------------------------------------------
# Configurations
# ---------------------------------------------------------------------------------------------

UNET_CONFIG = {
    # copied from Tango-2's diffusion_model_config.json
    "act_fn": "silu",
    "center_input_sample": False,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "downsample_padding": 1,
    "dual_cross_attention": False,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 8,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "mid_block_type": "UNetMidBlock2DCrossAttn",
    "norm_eps": 1e-05,
    "num_class_embeds": None,
    "only_cross_attention": False,
    "out_channels": 8,
    "sample_size": [32, 2],
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    "use_linear_projection": True,
    "upcast_attention": True,
    # shrunk for the fixture
    "block_out_channels": [16, 32, 32, 32],
    "attention_head_dim": [2, 4, 2, 4],  # legacy name: number of heads per down block
    "cross_attention_dim": 24,
    "norm_num_groups": 8,
}

VAE_CONFIG = {
    "act_fn": "silu",
    "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
    "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"],
    "in_channels": 1,
    "out_channels": 1,
    "latent_channels": 8,
    "layers_per_block": 2,
    "sample_size": 512,
    "scaling_factor": 0.9227914214134216,
    # shrunk for the fixture
    "block_out_channels": [16, 32, 32],
    "norm_num_groups": 8,
}

VOCODER_CONFIG = {
    "model_in_dim": 64,
    "sampling_rate": 16000,
    "upsample_rates": [5, 4, 2, 2, 2],
    "upsample_kernel_sizes": [16, 16, 8, 4, 4],
    "resblock_kernel_sizes": [3, 7, 11],
    "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
    "normalize_before": False,
    "leaky_relu_slope": 0.1,
    "initializer_range": 0.01,
    # shrunk for the fixture
    "upsample_initial_channel": 32,
}

# stabilityai/stable-diffusion-2-1, scheduler/scheduler_config.json (what Tango loads).
SD21_SCHEDULER_CONFIG = {
    "_class_name": "DDIMScheduler",
    "_diffusers_version": "0.8.0",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "num_train_timesteps": 1000,
    "prediction_type": "v_prediction",
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "trained_betas": None,
}

ADAPTER_CONFIG = {
    "d_video": 20,
    "num_video_tokens": 2,
    "d_frame": 12,
    "d_audio": 16,
    "cross_attention_dim": UNET_CONFIG["cross_attention_dim"],
    "rope_theta": 10000,
}
NUM_FRAMES = 5  # N
NUM_AUDIO_TOKENS = 9  # A
ADAPTER_SCALES = [  # (video, frame, audio), in the order of the stored outputs
    ("v1_f1_a1", (1.0, 1.0, 1.0)),
    ("v0p5_f0_a1p5", (0.5, 0.0, 1.5)),
    ("v0_f0_a0", (0.0, 0.0, 0.0)),
]

NUM_INFERENCE_STEPS = 10
SCHED_SAMPLE_SHAPE = (1, 8, 4, 2)
ADD_NOISE_TIMESTEPS = [0, 1, 250, 500, 999]

# Seeds (one torch.Generator per purpose).
SEED_UNET_W, SEED_UNET_IN = 1000, 1001
SEED_ADAPTER_W, SEED_ADAPTER_IN = 2000, 2001
SEED_VAE_W, SEED_VAE_IN = 3000, 3001
SEED_VOC_W, SEED_VOC_IN = 4000, 4001
SEED_SCHED_IN, SEED_SCHED_NOISE = 5000, 5001

NORM_TYPES = (nn.GroupNorm, nn.LayerNorm)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def randomize_(module: nn.Module, gen: torch.Generator, bias_std: float = 0.05, norm_std: float = 0.1) -> None:
    """Overwrite every parameter with seeded random values, non-zero everywhere.

    Linear / conv weights: N(0, 1 / fan_in) (fan_in = in * kernel; for transposed convs
    in * kernel / stride), so activations stay O(1). Biases: N(0, bias_std^2). Norm weights:
    1 + N(0, norm_std^2), norm biases N(0, bias_std^2). Parameters are visited in
    named_modules order, which is deterministic.
    """
    with torch.no_grad():
        for _, mod in module.named_modules():
            is_norm = isinstance(mod, NORM_TYPES) or isinstance(mod, RMSNorm)
            for pname, p in mod.named_parameters(recurse=False):
                if is_norm and pname == "weight":
                    p.copy_(1.0 + norm_std * torch.randn(p.shape, generator=gen))
                elif p.ndim == 1:
                    p.copy_(bias_std * torch.randn(p.shape, generator=gen))
                else:
                    if isinstance(mod, (nn.ConvTranspose1d, nn.ConvTranspose2d)):
                        fan_in = p.shape[0] * int(np.prod(p.shape[2:])) / mod.stride[0]
                    else:
                        fan_in = int(np.prod(p.shape[1:]))
                    p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in))


def f32(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to(torch.float32).contiguous().clone()


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """Write a float32 safetensors file with a reproducible byte layout.

    safetensors' own writer keeps metadata in a hash map, so with several metadata entries
    their order (and the file bytes) changes from run to run. This writer emits the same
    format (8-byte little-endian header length, JSON header padded with spaces to a multiple
    of 8, raw little-endian data) with ``__metadata__`` first and its keys and the tensor
    names sorted. The result is read back with safetensors and compared.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    md = {"format": "pt"}
    md.update(metadata or {})
    header: dict = {"__metadata__": dict(sorted(md.items()))}
    blobs, offset = [], 0
    for name in sorted(tensors):
        arr = f32(tensors[name]).numpy().astype("<f4")
        data = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)
    path.write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))

    back = load_file(str(path))
    assert set(back) == set(tensors) and all(torch.equal(back[k], f32(tensors[k])) for k in tensors)
    with safe_open(str(path), framework="pt") as fh:
        assert fh.metadata() == md


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def first(x):
    return x[0] if isinstance(x, (tuple, list)) else getattr(x, "sample", x)


def capture(model: nn.Module, names: dict[str, str]):
    """Register forward hooks storing the outputs of the named submodules; returns (store, handles)."""
    store: dict[str, torch.Tensor] = {}
    handles = []
    modules = dict(model.named_modules())
    for key, mod_name in names.items():
        def hook(_m, _inp, out, key=key):
            o = out[0] if isinstance(out, (tuple, list)) else getattr(out, "sample", out)
            store[key] = o.detach().clone()
        handles.append(modules[mod_name].register_forward_hook(hook))
    return store, handles


# ---------------------------------------------------------------------------------------------
# 1. Tiny Tango UNet
# ---------------------------------------------------------------------------------------------


def unet_inputs() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(SEED_UNET_IN)
    sample = torch.randn(2, 8, 32, 16, generator=g)
    encoder_hidden_states = torch.randn(2, 7, 24, generator=g)
    mask = torch.ones(2, 7)
    mask[1, 4:] = 0.0  # second item: 4 real tokens, 3 padding
    timesteps = torch.tensor([999.0, 17.0], dtype=torch.float32)
    return {
        "sample": sample,
        "timesteps": timesteps,
        "encoder_hidden_states": encoder_hidden_states,
        "encoder_attention_mask": mask,
    }


def build_unet() -> UNet2DConditionModel:
    torch.manual_seed(0)  # only affects the default init, which is overwritten
    unet = UNet2DConditionModel(**copy.deepcopy(UNET_CONFIG)).eval()
    randomize_(unet, torch.Generator().manual_seed(SEED_UNET_W))
    for name, proc in unet.attn_processors.items():
        assert isinstance(proc, AttnProcessor2_0), (name, type(proc))
    return unet


UNET_DEBUG_HOOKS = {
    "time_proj": "time_proj",
    "time_embedding": "time_embedding",
    "dbg_conv_in": "conv_in",
    "dbg_down0_resnet0": "down_blocks.0.resnets.0",
    "dbg_down0_attn0_block0": "down_blocks.0.attentions.0.transformer_blocks.0",
    "dbg_down0_attn0": "down_blocks.0.attentions.0",
    "dbg_mid": "mid_block",
}


def run_unet(unet, inp, hooks=True):
    store, handles = capture(unet, UNET_DEBUG_HOOKS) if hooks else ({}, [])
    with torch.no_grad():
        out = unet(
            inp["sample"],
            inp["timesteps"],
            encoder_hidden_states=inp["encoder_hidden_states"],
            encoder_attention_mask=inp["encoder_attention_mask"],
        ).sample
    for h in handles:
        h.remove()
    return out, store


def make_unet_fixture():
    unet = build_unet()
    inp = unet_inputs()
    out, dbg = run_unet(unet, inp)

    # int64 timesteps (what the schedulers hand out) give the same result as float32 ones
    inp_int = dict(inp, timesteps=inp["timesteps"].to(torch.int64))
    out_int, _ = run_unet(unet, inp_int, hooks=False)
    assert torch.equal(out, out_int)
    # boolean mask (what Tango passes) gives the same result as the 1/0 float mask
    out_bool, _ = run_unet(unet, dict(inp, encoder_attention_mask=inp["encoder_attention_mask"] > 0.5), hooks=False)
    assert torch.equal(out, out_bool)

    unet_dir = TINY / "unet"
    unet.save_pretrained(unet_dir, safe_serialization=True)
    reloaded = UNet2DConditionModel.from_pretrained(unet_dir).eval()
    out_re, _ = run_unet(reloaded, inp, hooks=False)
    assert torch.equal(out, out_re), "reloaded UNet differs"

    tensors = dict(inp)
    tensors.update(dbg)
    tensors["out"] = out
    save_tensors(FIXTURES / "unet_io.safetensors", tensors)
    return unet, inp, out


# ---------------------------------------------------------------------------------------------
# 2. AvSync adapters (reference implementation of the spec in the header)
# ---------------------------------------------------------------------------------------------


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        x32 = x.to(torch.float32)
        y = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return (y * self.weight.to(torch.float32)).to(x.dtype)


class VideoProj(nn.Module):
    """IP-Adapter ImageProjModel: Linear -> reshape to tokens -> LayerNorm."""

    def __init__(self, d_in: int, num_tokens: int, dim: int):
        super().__init__()
        self.num_tokens, self.dim = num_tokens, dim
        self.proj = nn.Linear(d_in, num_tokens * dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        return self.norm(self.proj(x).reshape(x.shape[0], self.num_tokens, self.dim))


class TokenProj(nn.Module):
    def __init__(self, d_in: int, dim: int):
        super().__init__()
        self.proj = nn.Linear(d_in, dim)
        self.norm = RMSNorm(dim)

    def forward(self, x):
        return self.norm(self.proj(x))


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def rope_cos_sin(pos: torch.Tensor, head_dim: int, theta: float):
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).to(torch.float32) / head_dim))
    angle = pos.to(torch.float32)[:, None] * inv_freq[None, :]
    emb = torch.cat((angle, angle), dim=-1)
    return emb.cos(), emb.sin()


def query_positions(height: int, num_frames: int) -> torch.Tensor:
    return (torch.arange(height, dtype=torch.float32) + 0.5) * num_frames / height


def key_positions(num_frames: int) -> torch.Tensor:
    return torch.arange(num_frames, dtype=torch.float32)


class CondAttention(nn.Module):
    """Cross-attention over condition tokens (attn_frame / attn_audio)."""

    def __init__(self, dim: int, cond_dim: int, heads: int, head_dim: int):
        super().__init__()
        inner = heads * head_dim
        self.heads, self.head_dim = heads, head_dim
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_k = nn.Linear(cond_dim, inner, bias=False)
        self.to_v = nn.Linear(cond_dim, inner, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(inner, dim, bias=True)])

    def forward(self, x, cond, rope=None):
        b = x.shape[0]
        q = self.to_q(x).view(b, -1, self.heads, self.head_dim).transpose(1, 2)
        k = self.to_k(cond).view(b, -1, self.heads, self.head_dim).transpose(1, 2)
        v = self.to_v(cond).view(b, -1, self.heads, self.head_dim).transpose(1, 2)
        if rope is not None:
            (cq, sq), (ck, sk) = rope  # (L, d), (N, d)
            q = q * cq + rotate_half(q) * sq
            k = k * ck + rotate_half(k) * sk
        o = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0, is_causal=False)
        o = o.transpose(1, 2).reshape(b, -1, self.heads * self.head_dim).to(q.dtype)
        return self.to_out[0](o)


class BlockAdapter(nn.Module):
    def __init__(self, block: BasicTransformerBlock, cond_dim: int):
        super().__init__()
        attn2 = block.attn2
        heads = attn2.heads
        inner = attn2.to_q.out_features
        head_dim = inner // heads
        dim = block.dim
        self.heads, self.head_dim = heads, head_dim
        self.attn2 = nn.Module()
        self.attn2.to_k_video = nn.Linear(cond_dim, inner, bias=False)
        self.attn2.to_v_video = nn.Linear(cond_dim, inner, bias=False)
        self.norm_frame = nn.LayerNorm(dim, eps=1e-5)
        self.attn_frame = CondAttention(dim, cond_dim, heads, head_dim)
        self.norm_audio = nn.LayerNorm(dim, eps=1e-5)
        self.attn_audio = CondAttention(dim, cond_dim, heads, head_dim)


class AvSyncAdapter(nn.Module):
    def __init__(self, unet: UNet2DConditionModel, cfg: dict):
        super().__init__()
        c = cfg["cross_attention_dim"]
        self.cfg = cfg
        self.video_proj = VideoProj(cfg["d_video"], cfg["num_video_tokens"], c)
        self.frame_proj = TokenProj(cfg["d_frame"], c)
        self.audio_proj = TokenProj(cfg["d_audio"], c)
        self.block_paths = [n for n, m in unet.named_modules() if isinstance(m, BasicTransformerBlock)]
        modules = dict(unet.named_modules())
        # ModuleDict keys may not contain dots; the file keys use the real paths.
        self.blocks = nn.ModuleList([BlockAdapter(modules[p], c) for p in self.block_paths])

    def file_state_dict(self) -> dict[str, torch.Tensor]:
        sd = {}
        for prefix in ("video_proj", "frame_proj", "audio_proj"):
            for k, v in getattr(self, prefix).state_dict().items():
                sd[f"{prefix}.{k}"] = v
        for path, blk in zip(self.block_paths, self.blocks):
            for k, v in blk.state_dict().items():
                sd[f"{path}.{k}"] = v
        return sd

    def load_file_state_dict(self, sd: dict[str, torch.Tensor]) -> None:
        own = self.file_state_dict()
        assert set(own) == set(sd), set(own) ^ set(sd)
        with torch.no_grad():
            for k, v in own.items():
                v.copy_(sd[k])


class DecoupledAttnProcessor:
    """attn2 processor: AttnProcessor2_0's text attention + scale * unmasked video attention."""

    def __init__(self, blk: BlockAdapter, ctx: dict):
        self.blk, self.ctx = blk, ctx

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kw):
        batch_size, sequence_length, _ = encoder_hidden_states.shape
        if attention_mask is not None:
            attention_mask = attn.prepare_attention_mask(attention_mask, sequence_length, batch_size)
            attention_mask = attention_mask.view(batch_size, attn.heads, -1, attention_mask.shape[-1])
        query = attn.to_q(hidden_states)
        key = attn.to_k(encoder_hidden_states)
        value = attn.to_v(encoder_hidden_states)
        inner_dim = key.shape[-1]
        head_dim = inner_dim // attn.heads
        query = query.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)
        key = key.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)
        value = value.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)
        text = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask, dropout_p=0.0, is_causal=False)

        vid_tokens = self.ctx["video_tokens"]
        vk = self.blk.attn2.to_k_video(vid_tokens).view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)
        vv = self.blk.attn2.to_v_video(vid_tokens).view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)
        video = F.scaled_dot_product_attention(query, vk, vv, dropout_p=0.0, is_causal=False)

        hidden = text + self.ctx["video_scale"] * video
        hidden = hidden.transpose(1, 2).reshape(batch_size, -1, attn.heads * head_dim).to(query.dtype)
        hidden = attn.to_out[0](hidden)
        hidden = attn.to_out[1](hidden)
        return hidden


def make_block_forward(block: BasicTransformerBlock, blk: BlockAdapter, ctx: dict):
    """BasicTransformerBlock.forward (layer_norm path) with the frame and audio sub-layers."""
    assert block.norm_type == "layer_norm" and block.pos_embed is None and not block.only_cross_attention

    def forward(self, hidden_states, attention_mask=None, encoder_hidden_states=None,
                encoder_attention_mask=None, timestep=None, cross_attention_kwargs=None,
                class_labels=None, added_cond_kwargs=None):
        norm_hidden_states = self.norm1(hidden_states)
        attn_output = self.attn1(norm_hidden_states, encoder_hidden_states=None, attention_mask=attention_mask)
        hidden_states = attn_output + hidden_states

        norm_hidden_states = self.norm2(hidden_states)
        attn_output = self.attn2(
            norm_hidden_states, encoder_hidden_states=encoder_hidden_states, attention_mask=encoder_attention_mask
        )
        hidden_states = attn_output + hidden_states

        height, width = ctx["hw"]
        assert height * width == hidden_states.shape[1]
        n = ctx["frame_tokens"].shape[1]
        theta = float(ctx["rope_theta"])
        cq, sq = rope_cos_sin(query_positions(height, n), blk.head_dim, theta)
        cq, sq = cq.repeat_interleave(width, dim=0), sq.repeat_interleave(width, dim=0)
        ck, sk = rope_cos_sin(key_positions(n), blk.head_dim, theta)
        frame_out = blk.attn_frame(blk.norm_frame(hidden_states), ctx["frame_tokens"], rope=((cq, sq), (ck, sk)))
        hidden_states = hidden_states + ctx["frame_scale"] * frame_out
        audio_out = blk.attn_audio(blk.norm_audio(hidden_states), ctx["audio_tokens"])
        hidden_states = hidden_states + ctx["audio_scale"] * audio_out

        norm_hidden_states = self.norm3(hidden_states)
        ff_output = self.ff(norm_hidden_states)
        hidden_states = ff_output + hidden_states
        return hidden_states

    return types.MethodType(forward, block)


def run_unet_with_adapter(unet, adapter: AvSyncAdapter, inp, cond, scales, debug_hooks=None):
    """Runs the diffusers UNet with the adapters patched in; restores the UNet afterwards."""
    ctx = {
        "video_scale": scales[0],
        "frame_scale": scales[1],
        "audio_scale": scales[2],
        "rope_theta": adapter.cfg["rope_theta"],
        "video_tokens": adapter.video_proj(cond["video"]),
        "frame_tokens": adapter.frame_proj(cond["frames"]),
        "audio_tokens": adapter.audio_proj(cond["audio"]),
        "hw": None,
    }
    modules = dict(unet.named_modules())
    handles, saved = [], []
    for path, blk in zip(adapter.block_paths, adapter.blocks):
        block = modules[path]
        saved.append((block, block.attn2.processor))
        block.attn2.set_processor(DecoupledAttnProcessor(blk, ctx))
        block.forward = make_block_forward(block, blk, ctx)
    for name, mod in modules.items():
        if isinstance(mod, Transformer2DModel):
            def pre(_m, args, ctx=ctx):
                ctx["hw"] = tuple(args[0].shape[-2:])
            handles.append(mod.register_forward_pre_hook(pre))
    store, dbg_handles = capture(unet, debug_hooks or {})
    try:
        with torch.no_grad():
            out = unet(
                inp["sample"],
                inp["timesteps"],
                encoder_hidden_states=inp["encoder_hidden_states"],
                encoder_attention_mask=inp["encoder_attention_mask"],
            ).sample
    finally:
        for h in handles + dbg_handles:
            h.remove()
        for block, proc in saved:
            block.attn2.set_processor(proc)
            del block.forward  # back to the class method
    return out, ctx, store


def make_adapter_fixture(unet, inp, plain_out):
    torch.manual_seed(0)
    adapter = AvSyncAdapter(unet, ADAPTER_CONFIG).eval()
    randomize_(adapter, torch.Generator().manual_seed(SEED_ADAPTER_W))

    g = torch.Generator().manual_seed(SEED_ADAPTER_IN)
    cond = {
        "video": torch.randn(2, ADAPTER_CONFIG["d_video"], generator=g),
        "frames": torch.randn(2, NUM_FRAMES, ADAPTER_CONFIG["d_frame"], generator=g),
        "audio": torch.randn(2, NUM_AUDIO_TOKENS, ADAPTER_CONFIG["d_audio"], generator=g),
    }

    adir = TINY / "adapter"
    save_tensors(adir / "adapter.safetensors", adapter.file_state_dict())
    write_json(adir / "adapter_config.json", ADAPTER_CONFIG)

    # reload from the file into a fresh adapter, so the outputs come from the stored weights
    adapter2 = AvSyncAdapter(unet, ADAPTER_CONFIG).eval()
    adapter2.load_file_state_dict(load_file(str(adir / "adapter.safetensors")))

    tensors = dict(inp)
    tensors["video"] = cond["video"]
    tensors["frames"] = cond["frames"]
    tensors["audio"] = cond["audio"]
    tensors["scales"] = torch.tensor([s for _, s in ADAPTER_SCALES], dtype=torch.float32)
    outs = {}
    for tag, scales in ADAPTER_SCALES:
        hooks = {"dbg_down0_attn0_block0_" + tag: "down_blocks.0.attentions.0.transformer_blocks.0"}
        with torch.no_grad():
            out, ctx, store = run_unet_with_adapter(unet, adapter2, inp, cond, scales, debug_hooks=hooks)
        outs[tag] = out
        tensors["out_" + tag] = out
        if tag == "v1_f1_a1":
            tensors.update(store)
            tensors["video_tokens"] = ctx["video_tokens"]
            tensors["frame_tokens"] = ctx["frame_tokens"]
            tensors["audio_tokens"] = ctx["audio_tokens"]

    assert torch.equal(outs["v0_f0_a0"], plain_out), "scales (0,0,0) must reproduce the plain UNet output"
    # after the patched runs the UNet is back to plain diffusers
    again, _ = run_unet(unet, inp, hooks=False)
    assert torch.equal(again, plain_out)
    for tag in ("v1_f1_a1", "v0p5_f0_a1p5"):
        rel = ((outs[tag] - plain_out).abs().max() / plain_out.abs().max()).item()
        assert rel > 1e-2, (tag, rel)  # the adapters visibly change the output

    # RoPE tables of the frame attention in the first down block (feature map 32 x 16, head dim 16)
    first = adapter2.blocks[0]
    assert adapter2.block_paths[0] == "down_blocks.0.attentions.0.transformer_blocks.0"
    h0 = inp["sample"].shape[2]
    qpos, kpos = query_positions(h0, NUM_FRAMES), key_positions(NUM_FRAMES)
    cq, sq = rope_cos_sin(qpos, first.head_dim, ADAPTER_CONFIG["rope_theta"])
    ck, sk = rope_cos_sin(kpos, first.head_dim, ADAPTER_CONFIG["rope_theta"])
    tensors.update({
        "rope_down0_q_pos": qpos, "rope_down0_q_cos": cq, "rope_down0_q_sin": sq,
        "rope_k_pos": kpos, "rope_k_cos": ck, "rope_k_sin": sk,
    })
    save_tensors(FIXTURES / "adapter_io.safetensors", tensors)
    return adapter2


# ---------------------------------------------------------------------------------------------
# 3. Tiny AudioLDM VAE
# ---------------------------------------------------------------------------------------------


def make_vae_fixture():
    torch.manual_seed(0)
    vae = AutoencoderKL(**copy.deepcopy(VAE_CONFIG)).eval()
    randomize_(vae, torch.Generator().manual_seed(SEED_VAE_W))
    vae_dir = TINY / "vae"
    vae.save_pretrained(vae_dir, safe_serialization=True)
    vae = AutoencoderKL.from_pretrained(vae_dir).eval()

    g = torch.Generator().manual_seed(SEED_VAE_IN)
    mel = torch.randn(1, 1, 64, 32, generator=g)  # (B, 1, T, n_mels)
    latent = torch.randn(1, 8, 16, 8, generator=g)
    store, handles = capture(vae, {"moments": "quant_conv"})
    with torch.no_grad():
        dist = vae.encode(mel).latent_dist
        decoded = vae.decode(latent).sample
        recon = vae.decode(dist.mean).sample
    for h in handles:
        h.remove()
    mean, logvar = torch.chunk(store["moments"], 2, dim=1)
    assert torch.equal(mean, dist.mean)
    assert logvar.min() > -30 and logvar.max() < 20  # clamp in DiagonalGaussianDistribution is a no-op
    assert torch.equal(logvar, dist.logvar)
    save_tensors(FIXTURES / "vae_io.safetensors", {
        "mel": mel,
        "posterior_mean": mean,
        "posterior_logvar": logvar,
        "latent": latent,
        "decoded": decoded,
        "reconstruction_of_mean": recon,
    })


# ---------------------------------------------------------------------------------------------
# 4. Tiny HiFi-GAN vocoder
# ---------------------------------------------------------------------------------------------


def make_vocoder_fixture():
    torch.manual_seed(0)
    cfg = SpeechT5HifiGanConfig(**copy.deepcopy(VOCODER_CONFIG))
    voc = SpeechT5HifiGan(cfg).eval()
    g = torch.Generator().manual_seed(SEED_VOC_W)
    randomize_(voc, g)
    with torch.no_grad():  # unused (normalize_before=false) but random, so a loader that applies them fails
        voc.mean.copy_(0.5 * torch.randn(voc.mean.shape, generator=g))
        voc.scale.copy_(0.5 + torch.rand(voc.scale.shape, generator=g))
    voc_dir = TINY / "vocoder"
    voc.save_pretrained(voc_dir, safe_serialization=True)
    voc = SpeechT5HifiGan.from_pretrained(voc_dir).eval()
    assert not voc.config.normalize_before and voc.mean.abs().min() > 0

    gi = torch.Generator().manual_seed(SEED_VOC_IN)
    mel = torch.randn(1, 20, 64, generator=gi)
    with torch.no_grad():
        wav = voc(mel)
    assert wav.shape == (1, 160 * 20 + 32), wav.shape
    save_tensors(FIXTURES / "vocoder_io.safetensors", {"log_mel": mel, "waveform": wav})


# ---------------------------------------------------------------------------------------------
# 5. Schedulers
# ---------------------------------------------------------------------------------------------

MODEL_FN_DOC = "model_output = 0.3 * sample + 0.1 * sin(float32(t) / 100), all float32"


def model_fn(sample: torch.Tensor, t) -> torch.Tensor:
    tt = torch.as_tensor(t).to(torch.float32)
    return 0.3 * sample + 0.1 * torch.sin(tt / 100.0)


def make_scheduler(cls, prediction_type):
    return cls.from_config(dict(SD21_SCHEDULER_CONFIG, prediction_type=prediction_type))


def config_json(sched) -> str:
    """Resolved scheduler config as strict JSON.

    ``_use_default_values`` (a list diffusers builds from a set) is sorted so the file is
    reproducible; non-finite floats (DPM-Solver's lambda_min_clipped = -inf) are written as
    the strings "-inf" / "inf" / "nan", since JSON has no literal for them.
    """
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    cfg = {k: clean(v) for k, v in dict(sched.config).items()}
    if "_use_default_values" in cfg:
        cfg["_use_default_values"] = sorted(cfg["_use_default_values"])
    return json.dumps(cfg, sort_keys=True, allow_nan=False)


def make_scheduler_fixture(kind: str, cls, prediction_type: str):
    sched = make_scheduler(cls, prediction_type)
    sched.set_timesteps(NUM_INFERENCE_STEPS)
    timesteps = sched.timesteps.clone()
    gi = torch.Generator().manual_seed(SEED_SCHED_IN)
    x0 = torch.randn(*SCHED_SAMPLE_SHAPE, generator=gi)
    an_noise = torch.randn(*SCHED_SAMPLE_SHAPE, generator=gi)
    init = torch.randn(*SCHED_SAMPLE_SHAPE, generator=gi)

    tensors = {
        "alphas_cumprod": sched.alphas_cumprod,
        "betas": sched.betas,
        "timesteps": timesteps.to(torch.float32),
        "initial_sample": init,
        "init_noise_sigma": torch.tensor([float(sched.init_noise_sigma)]),
    }

    # add_noise (and get_velocity where the class has it)
    if kind == "dpmsolver":
        an_t = timesteps[[0, 3, 6, 9]]  # DPM-Solver's add_noise looks timesteps up in its schedule
    else:
        an_t = torch.tensor(ADD_NOISE_TIMESTEPS, dtype=torch.int64)
    xb = x0.expand(len(an_t), *SCHED_SAMPLE_SHAPE[1:]).contiguous()
    nb = an_noise.expand(len(an_t), *SCHED_SAMPLE_SHAPE[1:]).contiguous()
    tensors["add_noise_x0"] = x0
    tensors["add_noise_noise"] = an_noise
    tensors["add_noise_timesteps"] = an_t.to(torch.float32)
    tensors["add_noise_out"] = sched.add_noise(xb, nb, an_t)
    if hasattr(sched, "get_velocity"):
        tensors["velocity"] = sched.get_velocity(xb, nb, an_t)
    if kind == "dpmsolver":
        tensors["sigmas"] = sched.sigmas
        sched = make_scheduler(cls, prediction_type)  # fresh state for the trajectory
        sched.set_timesteps(NUM_INFERENCE_STEPS)

    gen = torch.Generator().manual_seed(SEED_SCHED_NOISE)
    sample = init.clone()
    model_outs, prevs, x0s, noises, stds = [], [], [], [], []
    for t in sched.timesteps:
        mo = model_fn(sample, t)
        if kind == "ddpm":
            if t > 0:
                state = gen.get_state()
                noise = randn_tensor(mo.shape, generator=gen, device=mo.device, dtype=mo.dtype)
                gen.set_state(state)
            else:
                noise = torch.zeros_like(mo)
            noises.append(noise)
            stds.append(sched._get_variance(t) ** 0.5 if t > 0 else torch.tensor(0.0))
            out = sched.step(mo, t, sample, generator=gen)
        elif kind == "ddim":
            out = sched.step(mo, t, sample, eta=0.0)
        else:
            out = sched.step(mo, t, sample)
        model_outs.append(mo)
        prevs.append(out.prev_sample)
        if getattr(out, "pred_original_sample", None) is not None:
            x0s.append(out.pred_original_sample)
        sample = out.prev_sample

    tensors["model_output"] = torch.stack(model_outs)
    tensors["prev_sample"] = torch.stack(prevs)
    if x0s:
        tensors["pred_original_sample"] = torch.stack(x0s)
    if kind == "ddpm":
        tensors["noise"] = torch.stack(noises)
        tensors["variance_std"] = torch.stack([torch.as_tensor(s, dtype=torch.float32) for s in stds])
        check_ddpm_noise(cls, prediction_type, init)

    metadata = {
        "config": config_json(sched),
        "source_config": json.dumps(SD21_SCHEDULER_CONFIG, sort_keys=True),
        "scheduler": cls.__name__,
        "diffusers_version": diffusers.__version__,
        "prediction_type": prediction_type,
        "num_inference_steps": str(NUM_INFERENCE_STEPS),
        "model_fn": MODEL_FN_DOC,
    }
    save_tensors(SCHED_DIR / f"{kind}_{prediction_type}.safetensors", tensors, metadata)
    return sched


def check_ddpm_noise(cls, prediction_type, init):
    """One DDPM step with two generators: the outputs differ by exactly std * (noise_a - noise_b)."""
    res = []
    for seed in (11, 12):
        s = make_scheduler(cls, prediction_type)
        s.set_timesteps(NUM_INFERENCE_STEPS)
        t = s.timesteps[0]
        g = torch.Generator().manual_seed(seed)
        noise = randn_tensor(init.shape, generator=torch.Generator().manual_seed(seed), dtype=init.dtype)
        prev = s.step(model_fn(init, t), t, init, generator=g).prev_sample
        res.append((prev, noise, s._get_variance(t) ** 0.5))
    (pa, na, std), (pb, nb, _) = res
    assert torch.allclose(pa - pb, std * (na - nb), atol=1e-6)


# ---------------------------------------------------------------------------------------------
# 6. Layout files
# ---------------------------------------------------------------------------------------------


def write_layout():
    sched = make_scheduler(DDPMScheduler, SD21_SCHEDULER_CONFIG["prediction_type"])
    sched.save_pretrained(TINY / "scheduler")
    write_json(TINY / "model_index.json", {
        "_class_name": "AvSyncDiffPipeline",
        "_diffusers_version": diffusers.__version__,
        "adapter": ["avsyncdiff", "AvSyncAdapter"],
        "scheduler": ["diffusers", "DDPMScheduler"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
        "vocoder": ["transformers", "SpeechT5HifiGan"],
    })


def summary():
    mine = sorted(
        [p for p in (TINY.rglob("*") if TINY.exists() else []) if p.is_file()]
        + [p for p in SCHED_DIR.glob("*.safetensors")]
        + [FIXTURES / n for n in ("unet_io.safetensors", "adapter_io.safetensors",
                                  "vae_io.safetensors", "vocoder_io.safetensors")]
    )
    total = 0
    print("fixture sizes:")
    for p in mine:
        size = p.stat().st_size
        total += size
        print(f"  {size:>10,d}  {p.relative_to(HERE)}")
    print(f"  {total:>10,d}  total")


def main():
    print(f"torch {torch.__version__}, diffusers {diffusers.__version__}, transformers {transformers.__version__}")
    unet, inp, plain_out = make_unet_fixture()
    make_adapter_fixture(unet, inp, plain_out)
    make_vae_fixture()
    make_vocoder_fixture()
    for kind, cls in (("ddpm", DDPMScheduler), ("ddim", DDIMScheduler), ("dpmsolver", DPMSolverMultistepScheduler)):
        for pt in ("epsilon", "v_prediction"):
            make_scheduler_fixture(kind, cls, pt)
    write_layout()
    summary()


if __name__ == "__main__":
    main()
