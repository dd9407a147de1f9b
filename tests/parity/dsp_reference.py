#!/usr/bin/env python3
"""Reference fixtures for the DSP module (engine/src/dsp).

Builds, offline and deterministically, the numbers the Rust DSP tests compare against and
writes them as safetensors files into ``fixtures/`` beside this script:

* ``mel_audioldm.safetensors``: a 2 s, 16 kHz test signal (chirp + tones + clicks + seeded
  noise), the 64-band mel filterbank, the log-mel spectrogram computed by AudioLDM's own
  ``TacotronSTFT`` code (copied below), and Tango's waveform normalisation and mel
  padding/truncation applied to the same signal.
* ``onset_librosa.safetensors``: a 2 s, 22.05 kHz signal with clicks and hits, librosa's
  ``onset.onset_strength`` envelope and ``onset.onset_detect`` frames for two deltas.

The input signals are stored in the fixtures, so the Rust side needs no signal generator.

Re-run (from the repository root)::

    python tests/parity/dsp_reference.py

with a Python 3.11 environment holding numpy, scipy, librosa 0.11, torch (CPU is enough)
and safetensors, e.g. ``pip install numpy scipy librosa==0.11.* torch safetensors``.
The output is bit-for-bit reproducible for a given set of package versions; the committed
fixtures were made with numpy 2.4.6, scipy 1.17.1, librosa 0.11.0, torch 2.15.0 (CPU) and
safetensors 0.8.0.
"""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import scipy
import torch
import torch.nn.functional as F
from librosa.filters import mel as librosa_mel_fn
from librosa.util import pad_center, tiny
from safetensors.numpy import save_file
from scipy.signal import get_window

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# ---------------------------------------------------------------------------------------------
# AudioLDM mel front end, copied from haoheliu/AudioLDM, audioldm/audio/stft.py and
# audioldm/audio/audio_processing.py (the STFT class there is itself adapted from Prem
# Seetharaman's pytorch-stft; TacotronSTFT comes from NVIDIA's tacotron2).
#
# AudioLDM is released under the MIT licence (setup.py: license="MIT", "License :: OSI
# Approved :: MIT License"), author Haohe Liu:
#
#   Permission is hereby granted, free of charge, to any person obtaining a copy of this
#   software and associated documentation files (the "Software"), to deal in the Software
#   without restriction, including without limitation the rights to use, copy, modify, merge,
#   publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons
#   to whom the Software is furnished to do so, subject to the following conditions: The above
#   copyright notice and this permission notice shall be included in all copies or substantial
#   portions of the Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.
#
# Three call sites differ from the original, because librosa >= 0.10 made these arguments
# keyword-only: ``pad_center(..., size=...)`` in STFT.__init__ and window_sumsquare, and
# ``librosa_mel_fn(sr=..., n_fft=..., n_mels=..., fmin=..., fmax=...)`` (was positional).
# The computation is unchanged.
# ---------------------------------------------------------------------------------------------


def window_sumsquare(
    window,
    n_frames,
    hop_length,
    win_length,
    n_fft,
    dtype=np.float32,
    norm=None,
):
    if win_length is None:
        win_length = n_fft

    n = n_fft + hop_length * (n_frames - 1)
    x = np.zeros(n, dtype=dtype)

    # Compute the squared window at the desired length
    win_sq = get_window(window, win_length, fftbins=True)
    win_sq = librosa.util.normalize(win_sq, norm=norm) ** 2
    win_sq = librosa.util.pad_center(win_sq, size=n_fft)

    # Fill the envelope
    for i in range(n_frames):
        sample = i * hop_length
        x[sample : min(n, sample + n_fft)] += win_sq[: max(0, min(n_fft, n - sample))]
    return x


def dynamic_range_compression(x, normalize_fun=torch.log, C=1, clip_val=1e-5):
    """
    PARAMS
    ------
    C: compression factor
    """
    return normalize_fun(torch.clamp(x, min=clip_val) * C)


def dynamic_range_decompression(x, C=1):
    """
    PARAMS
    ------
    C: compression factor used to compress
    """
    return torch.exp(x) / C


class STFT(torch.nn.Module):
    """adapted from Prem Seetharaman's https://github.com/pseeth/pytorch-stft"""

    def __init__(self, filter_length, hop_length, win_length, window="hann"):
        super(STFT, self).__init__()
        self.filter_length = filter_length
        self.hop_length = hop_length
        self.win_length = win_length
        self.window = window
        self.forward_transform = None
        scale = self.filter_length / self.hop_length
        fourier_basis = np.fft.fft(np.eye(self.filter_length))

        cutoff = int((self.filter_length / 2 + 1))
        fourier_basis = np.vstack(
            [np.real(fourier_basis[:cutoff, :]), np.imag(fourier_basis[:cutoff, :])]
        )

        forward_basis = torch.FloatTensor(fourier_basis[:, None, :])
        inverse_basis = torch.FloatTensor(
            np.linalg.pinv(scale * fourier_basis).T[:, None, :]
        )

        if window is not None:
            assert filter_length >= win_length
            # get window and zero center pad it to filter_length
            fft_window = get_window(window, win_length, fftbins=True)
            fft_window = pad_center(fft_window, size=filter_length)
            fft_window = torch.from_numpy(fft_window).float()

            # window the bases
            forward_basis *= fft_window
            inverse_basis *= fft_window

        self.register_buffer("forward_basis", forward_basis.float())
        self.register_buffer("inverse_basis", inverse_basis.float())

    def transform(self, input_data):
        num_batches = input_data.size(0)
        num_samples = input_data.size(1)

        self.num_samples = num_samples

        # similar to librosa, reflect-pad the input
        input_data = input_data.view(num_batches, 1, num_samples)
        input_data = F.pad(
            input_data.unsqueeze(1),
            (int(self.filter_length / 2), int(self.filter_length / 2), 0, 0),
            mode="reflect",
        )
        input_data = input_data.squeeze(1)

        forward_transform = F.conv1d(
            input_data,
            torch.autograd.Variable(self.forward_basis, requires_grad=False),
            stride=self.hop_length,
            padding=0,
        ).cpu()

        cutoff = int((self.filter_length / 2) + 1)
        real_part = forward_transform[:, :cutoff, :]
        imag_part = forward_transform[:, cutoff:, :]

        magnitude = torch.sqrt(real_part**2 + imag_part**2)
        phase = torch.autograd.Variable(torch.atan2(imag_part.data, real_part.data))

        return magnitude, phase

    def inverse(self, magnitude, phase):
        recombine_magnitude_phase = torch.cat(
            [magnitude * torch.cos(phase), magnitude * torch.sin(phase)], dim=1
        )

        inverse_transform = F.conv_transpose1d(
            recombine_magnitude_phase,
            torch.autograd.Variable(self.inverse_basis, requires_grad=False),
            stride=self.hop_length,
            padding=0,
        )

        if self.window is not None:
            window_sum = window_sumsquare(
                self.window,
                magnitude.size(-1),
                hop_length=self.hop_length,
                win_length=self.win_length,
                n_fft=self.filter_length,
                dtype=np.float32,
            )
            # remove modulation effects
            approx_nonzero_indices = torch.from_numpy(
                np.where(window_sum > tiny(window_sum))[0]
            )
            window_sum = torch.autograd.Variable(
                torch.from_numpy(window_sum), requires_grad=False
            )
            window_sum = window_sum
            inverse_transform[:, :, approx_nonzero_indices] /= window_sum[
                approx_nonzero_indices
            ]

            # scale by hop ratio
            inverse_transform *= float(self.filter_length) / self.hop_length

        inverse_transform = inverse_transform[:, :, int(self.filter_length / 2) :]
        inverse_transform = inverse_transform[:, :, : -int(self.filter_length / 2) :]

        return inverse_transform

    def forward(self, input_data):
        self.magnitude, self.phase = self.transform(input_data)
        reconstruction = self.inverse(self.magnitude, self.phase)
        return reconstruction


class TacotronSTFT(torch.nn.Module):
    def __init__(
        self,
        filter_length,
        hop_length,
        win_length,
        n_mel_channels,
        sampling_rate,
        mel_fmin,
        mel_fmax,
    ):
        super(TacotronSTFT, self).__init__()
        self.n_mel_channels = n_mel_channels
        self.sampling_rate = sampling_rate
        self.stft_fn = STFT(filter_length, hop_length, win_length)
        mel_basis = librosa_mel_fn(
            sr=sampling_rate,
            n_fft=filter_length,
            n_mels=n_mel_channels,
            fmin=mel_fmin,
            fmax=mel_fmax,
        )
        mel_basis = torch.from_numpy(mel_basis).float()
        self.register_buffer("mel_basis", mel_basis)

    def spectral_normalize(self, magnitudes, normalize_fun):
        output = dynamic_range_compression(magnitudes, normalize_fun)
        return output

    def spectral_de_normalize(self, magnitudes):
        output = dynamic_range_decompression(magnitudes)
        return output

    def mel_spectrogram(self, y, normalize_fun=torch.log):
        """Computes mel-spectrograms from a batch of waves
        PARAMS
        ------
        y: Variable(torch.FloatTensor) with shape (B, T) in range [-1, 1]

        RETURNS
        -------
        mel_output: torch.FloatTensor of shape (B, n_mel_channels, T)
        """
        assert torch.min(y.data) >= -1, torch.min(y.data)
        assert torch.max(y.data) <= 1, torch.max(y.data)

        magnitudes, phases = self.stft_fn.transform(y)
        magnitudes = magnitudes.data
        mel_output = torch.matmul(self.mel_basis, magnitudes)
        mel_output = self.spectral_normalize(mel_output, normalize_fun)
        energy = torch.norm(magnitudes, dim=1)

        log_magnitudes = self.spectral_normalize(magnitudes, normalize_fun)

        return mel_output, log_magnitudes, energy


# ---------------------------------------------------------------------------------------------
# Tango's data preparation (declare-lab/tango, tools/torch_tools.py: normalize_wav, pad_wav,
# read_wav_file, get_mel_from_wav, _pad_spec, wav_to_fbank). Tango is licensed CC BY-NC-ND
# 4.0, so its code is not copied here: the functions below restate the same computations,
# step by step, in the same torch operations and order.
# ---------------------------------------------------------------------------------------------


def tango_normalize_wav(waveform: torch.Tensor) -> torch.Tensor:
    """normalize_wav: remove the mean, scale the peak to 1 (+1e-8 guard), then halve."""
    centred = waveform - torch.mean(waveform)
    scaled = centred / (torch.max(torch.abs(centred)) + 1e-8)
    return scaled * 0.5


def tango_pad_wav(waveform: torch.Tensor, segment_length: int) -> torch.Tensor:
    """pad_wav: truncate to segment_length or append zeros up to it."""
    n = len(waveform)
    if n >= segment_length:
        return waveform[:segment_length]
    return torch.cat([waveform, torch.zeros(segment_length - n)])


def tango_prepare_wav(waveform_16k: torch.Tensor, target_length: int) -> torch.Tensor:
    """read_wav_file after resampling: normalise, pad to target_length * 160, renormalise to 0.5."""
    wav = tango_normalize_wav(waveform_16k)
    wav = tango_pad_wav(wav, target_length * 160).unsqueeze(0)
    wav = wav / torch.max(torch.abs(wav))
    return 0.5 * wav


def tango_pad_spec(fbank: torch.Tensor, target_length: int) -> torch.Tensor:
    """_pad_spec: (B, T, C) -> (B, target_length, C'), appending frames of 0.0 (not the log
    floor) or truncating, and dropping the last channel when C is odd."""
    _, n_frames, channels = fbank.shape
    missing = target_length - n_frames
    if missing > 0:
        fbank = torch.cat([fbank, torch.zeros(fbank.shape[0], missing, channels)], 1)
    elif missing < 0:
        fbank = fbank[:, :target_length, :]
    if channels % 2 != 0:
        fbank = fbank[:, :, :-1]
    return fbank


def tango_wav_to_fbank(waveform_16k: torch.Tensor, target_length: int, stft: TacotronSTFT):
    """wav_to_fbank for one already-16 kHz clip: returns the (1, target_length, 64) log-mel."""
    wav = tango_prepare_wav(waveform_16k, target_length)
    wav = torch.nan_to_num(torch.clip(wav, -1, 1))  # get_mel_from_wav
    mel, _, _ = stft.mel_spectrogram(wav)
    return tango_pad_spec(mel.transpose(1, 2), target_length)


# ---------------------------------------------------------------------------------------------
# Test signals
# ---------------------------------------------------------------------------------------------


def click(n: int, sr: int, rng: np.random.Generator, decay_s: float) -> np.ndarray:
    """A decaying noise burst of n samples."""
    t = np.arange(n) / sr
    return rng.standard_normal(n) * np.exp(-t / decay_s)


def mel_test_signal() -> np.ndarray:
    """2 s at 16 kHz: log chirp, two tones, three clicks and a -40 dB noise floor."""
    sr, dur = 16000, 2.0
    rng = np.random.default_rng(20240611)
    t = np.arange(int(sr * dur)) / sr
    y = 0.2 * scipy.signal.chirp(t, f0=100.0, t1=dur, f1=7000.0, method="logarithmic")
    y += 0.1 * np.sin(2 * np.pi * 440.0 * t)
    y += 0.05 * np.sin(2 * np.pi * 3000.0 * t + 0.3) * (t > 0.7)
    for at in (0.31, 0.92, 1.53):
        i = int(at * sr)
        n = int(0.05 * sr)
        y[i : i + n] += 0.3 * click(n, sr, rng, 0.008)
    y += 0.01 * rng.standard_normal(len(t))
    y = np.clip(y, -0.99, 0.99)
    return y.astype(np.float32)


def onset_test_signal() -> np.ndarray:
    """2 s at 22.05 kHz: noise and tonal hits of varied strength over a quiet noise bed."""
    sr, dur = 22050, 2.0
    rng = np.random.default_rng(7)
    n_total = int(sr * dur)
    y = 0.003 * rng.standard_normal(n_total)
    n = int(0.12 * sr)
    t = np.arange(n) / sr
    hits = [
        (0.25, 0.8, "noise"),
        (0.61, 0.5, "noise"),
        (0.95, 0.06, "noise"),  # soft: found with delta 0.07, not with 0.3
        (1.30, 0.7, "tone"),
        (1.62, 0.6, "noise"),
        (1.85, 0.4, "tone"),
    ]
    for at, amp, kind in hits:
        i = int(at * sr)
        if kind == "noise":
            burst = click(n, sr, rng, 0.015)
        else:
            burst = np.sin(2 * np.pi * 660.0 * t) * np.exp(-t / 0.04)
        m = min(n, n_total - i)
        y[i : i + m] += amp * burst[:m]
    return np.clip(y, -0.99, 0.99).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------


def build_mel_fixture() -> dict[str, np.ndarray]:
    y = mel_test_signal()
    stft = TacotronSTFT(1024, 160, 1024, 64, 16000, 0, 8000)
    with torch.no_grad():
        wav = torch.from_numpy(y)
        mel, _, _ = stft.mel_spectrogram(wav.unsqueeze(0))  # (1, 64, T)
        log_mel = mel[0].transpose(0, 1).contiguous().numpy()  # (T, 64)

        normalized = tango_normalize_wav(wav).numpy()
        # Tango's full path with a target longer than the clip (the waveform is zero-padded
        # before the STFT, so the tail is the log floor) and with a shorter one (truncation).
        fbank_256 = tango_wav_to_fbank(wav, 256, stft)[0].numpy()
        fbank_128 = tango_wav_to_fbank(wav, 128, stft)[0].numpy()
        # _pad_spec alone on a mel shorter than the target: the appended frames are 0.0.
        pad_spec_64 = tango_pad_spec(torch.from_numpy(log_mel[None, :50, :]), 64)[0].numpy()

    basis = stft.mel_basis.numpy()
    assert np.array_equal(
        basis, librosa.filters.mel(sr=16000, n_fft=1024, n_mels=64, fmin=0.0, fmax=8000.0)
    )
    return {
        "input": y,
        "filterbank": basis.astype(np.float32),
        "log_mel": log_mel.astype(np.float32),
        "tango_normalized": normalized.astype(np.float32),
        "tango_fbank_256": fbank_256.astype(np.float32),
        "tango_fbank_128": fbank_128.astype(np.float32),
        "tango_pad_spec_64": pad_spec_64.astype(np.float32),
    }


def build_onset_fixture() -> dict[str, np.ndarray]:
    sr = 22050
    y = onset_test_signal()
    # Reference in float64 (the exact computation); librosa on the float32 signal must agree
    # on the detected frames, and its envelope only by float32 rounding.
    y64 = y.astype(np.float64)
    env = librosa.onset.onset_strength(y=y64, sr=sr)
    env32 = librosa.onset.onset_strength(y=y, sr=sr)
    rel = np.max(np.abs(env32 - env)) / np.max(env)
    assert rel < 1e-4, rel
    out = {
        "input": y,
        "sample_rate": np.array([sr], dtype=np.int64),
        "envelope": env.astype(np.float64),
    }
    for delta, key in ((0.07, "onsets_delta_0_07"), (0.3, "onsets_delta_0_3")):
        frames = librosa.onset.onset_detect(onset_envelope=env, sr=sr, delta=delta)
        frames32 = librosa.onset.onset_detect(onset_envelope=env32, sr=sr, delta=delta)
        assert np.array_equal(frames, frames32), (frames, frames32)
        out[key] = frames.astype(np.int64)
    assert len(out["onsets_delta_0_07"]) > len(out["onsets_delta_0_3"])
    return out


def main() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, tensors in (
        ("mel_audioldm.safetensors", build_mel_fixture()),
        ("onset_librosa.safetensors", build_onset_fixture()),
    ):
        # safetensors writes the raw buffer: make every array C-contiguous first.
        tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
        save_file(tensors, str(FIXTURES / name))
        summary = ", ".join(f"{k}{list(v.shape)}" for k, v in tensors.items())
        print(f"{name}: {summary}")
    total = sum(p.stat().st_size for p in FIXTURES.glob("*.safetensors"))
    print(f"fixtures total: {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
