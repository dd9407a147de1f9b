#!/usr/bin/env python3
r"""Reference fixture for the aiSFX sound-effects embedding port (engine/src/encoders/aisfx.rs).

Runs the code of the PyPI package ``aisfx`` 0.1.2 (Ma and Lerch, ISMIR 2022) on two seeded test
signals and writes ``fixtures/encoders/aisfx_io.safetensors``:

* the front end is the package's own librosa variant,
  ``aisfx.spectrogram.spectrogram_librosa.compute_spectrogram``, called on 16-bit WAV files
  of the signals (``librosa.load`` at 44.1 kHz reads them without resampling: the samples are
  exactly ``pcm / 32768``). It peak-normalises the samples, takes
  ``librosa.feature.melspectrogram(n_fft=2048, hop_length=1024, win_length=2048, n_mels=96,
  fmin=0, fmax=22050, htk=True, norm=1.0, power=2.0)`` (centred frames, zero padding: the
  librosa 0.11 default ``pad_mode="constant"``) and ``log10(10000 x + 1)``;
* the spectrogram, which librosa returns band-major (96, T), is transposed to the (T, 96)
  layout the network and ``preprocessing.blocking`` expect (Essentia, the package's default
  front end, returns that layout; passing librosa's output unchanged, as ``inference.main``
  would, blocks over the mel axis), then ``preprocessing.spectrogram_normalize`` ('original':
  divide by 9.457798957824707) and ``preprocessing.blocking`` (100 frames, hop 50, partial last
  block dropped, at least one zero-padded block);
* the network is the package's ``CrossNet(EmbeddingNet('max', 3, 1, 64), ds_dict)`` in eval
  mode, ``get_embedding`` of the blocks, with the float16 weights of
  ``assets/models/aisfx/model.safetensors`` (``scripts/convert_aisfx.py``) widened to float32,
  so Rust and PyTorch compute with the same numbers. The effect of the float16 rounding on the
  embeddings, against the package's float32 checkpoint, is measured and stored as metadata.

The clip embedding (one vector per clip) is the mean of its block embeddings; the package
itself stops at one embedding per block.

Tensors (float32 unless noted; ``long`` = 5 s, ``short`` = 1.2 s):

* ``{long,short}_pcm`` I16 (N,): the signals; the waveform is ``pcm / 32768``.
* ``{long,short}_spectrogram`` (T, 96): normalised log-mel, time-major (T = 216 and 52).
* ``{long,short}_blocks`` (B, 100, 96): the network input (B = 3: the last 16 frames are a
  partial block and dropped; B = 1 for ``short``, its frames 52..100 zero).
* ``{long,short}_embeddings`` (B, 512): one embedding per block.
* ``{long,short}_clip_embedding`` (512,): the mean over blocks.
* ``filterbank_index`` I64 (nnz,) and ``filterbank_weight`` (nnz,): the non-zero entries of
  ``librosa.filters.mel(sr=44100, n_fft=2048, n_mels=96, fmin=0, fmax=22050, htk=True,
  norm=1.0)`` (shape (96, 1025)) by flat index ``band * 1025 + bin``, kept sparse to keep the
  file small.

The ``short`` signal has 52 frames: the fewest ``inference.model_get_embedding`` accepts
(``compute_hopSize`` asserts more frames than the 50-frame hop) and fewer than one block.

Re-run (from the repository root, after ``scripts/convert_aisfx.py``)::

    pip install --no-deps aisfx==0.1.2   # its pins (librosa 0.9.2, numpy 1.23) are not needed
    /work/.parity-venv/bin/python tests/parity/aisfx_reference.py

Made with Python 3.11, torch 2.15.0 (CPU), librosa 0.11.0, numpy 2.4.6, scipy 1.17.1,
soundfile 0.14.0, safetensors 0.8.0; single-threaded and seeded, it reproduces the file byte
for byte with these versions (about 0.84 MB, a few seconds).
"""

from __future__ import annotations

import json
import struct
import tempfile
from pathlib import Path

import librosa
import numpy as np
import soundfile
import torch
from safetensors import safe_open
from safetensors.numpy import load_file

import aisfx
from aisfx import preprocessing
from aisfx.models.cnn2d import CrossNet, EmbeddingNet
from aisfx.spectrogram import spectrogram_librosa

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "fixtures" / "encoders" / "aisfx_io.safetensors"
ASSET = ROOT / "assets" / "models" / "aisfx" / "model.safetensors"

SR = 44100
SEED = 20220601

torch.set_num_threads(1)

ST_DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64", np.dtype(np.int16): "I16"}


def save_tensors(path: Path, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """safetensors' format with ``__metadata__`` first and its keys and the tensor names sorted,
    so re-runs give identical bytes (the library's writer orders the metadata by hash)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    md = dict(sorted({"format": "pt", **metadata}.items()))
    header: dict = {"__metadata__": md}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = np.ascontiguousarray(tensors[name])
        data = t.astype(t.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)
    path.write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))
    back = load_file(path)
    assert sorted(back) == sorted(tensors)
    assert all(np.array_equal(back[k], tensors[k]) for k in tensors)
    with safe_open(path, framework="np") as fh:
        assert fh.metadata() == md


def long_signal(rng: np.random.Generator) -> np.ndarray:
    """5 s: silence, a log chirp 100 Hz - 16 kHz, decaying noise bursts, a harmonic tone."""
    n = 5 * SR
    t = np.arange(n) / SR
    y = np.zeros(n)
    # 0.5 - 1.5 s: exponential chirp.
    a, b = int(0.5 * SR), int(1.5 * SR)
    tc = t[: b - a]
    f0, f1, dur = 100.0, 16000.0, 1.0
    k = np.log(f1 / f0) / dur
    y[a:b] += 0.5 * np.sin(2 * np.pi * f0 * (np.exp(k * tc) - 1) / k) * np.hanning(b - a) ** 0.25
    # Noise bursts: white, decaying, different levels and lengths.
    for start, length, gain, decay in [(1.7, 0.25, 0.9, 12.0), (2.3, 0.15, 0.3, 30.0),
                                       (2.9, 0.3, 0.6, 6.0), (3.45, 0.1, 1.0, 40.0)]:
        s, m = int(start * SR), int(length * SR)
        y[s:s + m] += gain * rng.standard_normal(m) * np.exp(-decay * np.arange(m) / SR)
    # 3.8 - 4.4 s: 220 Hz with harmonics, amplitude-modulated.
    a, b = int(3.8 * SR), int(4.4 * SR)
    th = t[a:b]
    tone = sum(np.sin(2 * np.pi * 220.0 * h * th) / h for h in range(1, 6))
    y[a:b] += 0.3 * tone * (0.6 + 0.4 * np.sin(2 * np.pi * 3.0 * th))
    # 4.4 - 5 s: silence.
    return y


def short_signal(rng: np.random.Generator) -> np.ndarray:
    """1.2 s, quiet (tests the peak normalisation): a 1 kHz tone and one noise burst."""
    n = int(1.2 * SR)
    t = np.arange(n) / SR
    y = 0.1 * np.sin(2 * np.pi * 1000.0 * t)
    s, m = int(0.4 * SR), int(0.2 * SR)
    y[s:s + m] += 0.2 * rng.standard_normal(m) * np.exp(-10.0 * np.arange(m) / SR)
    return y


def to_pcm16(y: np.ndarray, peak: float) -> np.ndarray:
    return np.round(y / np.max(np.abs(y)) * peak * 32767).astype(np.int16)


def front_end(pcm: np.ndarray, tmp: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """aisfx's librosa spectrogram of the WAV file, time-major and normalised, and its blocks."""
    path = tmp / f"{name}.wav"
    soundfile.write(path, pcm, SR, subtype="PCM_16")
    y, sr = librosa.load(path=path, sr=float(SR))
    assert sr == SR and np.array_equal(y, pcm.astype(np.float32) / 32768), "librosa.load changed the samples"
    spec = spectrogram_librosa.compute_spectrogram(
        filename=str(path), sr=float(SR), block_size=2048, hop_size=1024, n_mels=96,
        f_min=0.0, f_max=22050.0)
    assert spec.shape[0] == 96
    spec = preprocessing.spectrogram_normalize(spec.T, spec_norm="original")
    hop = preprocessing.compute_hopSize(100, 0.5, spec)
    blocks = preprocessing.blocking(spec, block_size=100, hop_size=hop, drop_partial_block=True)
    return spec.astype(np.float32), blocks.astype(np.float32)


def network(state: dict[str, torch.Tensor]) -> CrossNet:
    _weights, ds_dict = torch.load(Path(aisfx.__file__).parent / "models" / "checkpoint.pth",
                                   map_location="cpu", weights_only=False)
    model = CrossNet(EmbeddingNet("max", 3, 1, 64), ds_dict, "cpu")
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all(k.startswith("fc.") for k in missing), (missing, unexpected)
    return model.eval()


def main() -> None:
    checkpoint, _ = torch.load(Path(aisfx.__file__).parent / "models" / "checkpoint.pth",
                               map_location="cpu", weights_only=False)
    half = load_file(ASSET)
    state16 = {f"embedding_net.{k}": torch.from_numpy(v.astype(np.float32)) for k, v in half.items()}
    for k, v in checkpoint.items():
        if k.startswith("embedding_net.") and k.endswith("num_batches_tracked"):
            state16[k] = v
    model16 = network(state16)
    model32 = network({k: v for k, v in checkpoint.items() if k.startswith("embedding_net.")})

    rng = np.random.default_rng(SEED)
    signals = {"long": to_pcm16(long_signal(rng), 0.8), "short": to_pcm16(short_signal(rng), 0.25)}
    tensors: dict[str, np.ndarray] = {}
    f16_err = {}
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        for name, pcm in signals.items():
            spec, blocks = front_end(pcm, Path(tmp), name)
            emb = model16.get_embedding(torch.from_numpy(blocks)).numpy()
            emb32 = model32.get_embedding(torch.from_numpy(blocks)).numpy()
            cos = np.sum(emb * emb32, 1) / np.linalg.norm(emb, axis=1) / np.linalg.norm(emb32, axis=1)
            f16_err[name] = {
                "max_abs_err_over_max_abs": float(np.abs(emb - emb32).max() / np.abs(emb32).max()),
                "min_cosine": float(cos.min()),
            }
            tensors[f"{name}_pcm"] = pcm
            tensors[f"{name}_spectrogram"] = spec
            tensors[f"{name}_blocks"] = blocks
            tensors[f"{name}_embeddings"] = emb.astype(np.float32)
            tensors[f"{name}_clip_embedding"] = emb.mean(axis=0).astype(np.float32)
            print(name, pcm.shape, spec.shape, blocks.shape, emb.shape, f16_err[name])

    fb = librosa.filters.mel(sr=float(SR), n_fft=2048, n_mels=96, fmin=0.0, fmax=22050.0,
                             htk=True, norm=1.0).ravel()
    (index,) = np.nonzero(fb)
    tensors["filterbank_index"] = index.astype(np.int64)
    tensors["filterbank_weight"] = fb[index].astype(np.float32)

    metadata = {
        "source": "aisfx 0.1.2 (PyPI): spectrogram_librosa.compute_spectrogram, "
                  "preprocessing.spectrogram_normalize('original') and blocking(100, 50, drop "
                  "partial), CrossNet(EmbeddingNet('max', 3, 1, 64)).get_embedding",
        "weights": "assets/models/aisfx/model.safetensors (float16, widened to float32)",
        "filterbank_shape": "[96, 1025]",
        "float16_weights_vs_float32_checkpoint": json.dumps(f16_err, sort_keys=True),
        "versions": json.dumps({"torch": torch.__version__, "librosa": librosa.__version__,
                                "numpy": np.__version__, "soundfile": soundfile.__version__}),
    }
    save_tensors(OUT, tensors, metadata)
    print(f"{OUT.relative_to(ROOT)}: {OUT.stat().st_size} bytes, {len(index)} filterbank weights")


if __name__ == "__main__":
    main()
