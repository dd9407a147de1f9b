//! Tango's waveform and spectrogram helpers (`tools/torch_tools.py`: `normalize_wav`,
//! `pad_wav`, `_pad_spec`), which its `wav_to_fbank` applies around the log-mel.

use crate::error::{Error, Result};

use super::MelSpectrogram;

pub(super) fn check_unit_range(wav: &[f32]) -> Result<()> {
    match wav.iter().position(|x| !(-1.0..=1.0).contains(x)) {
        Some(i) => Err(Error::invalid(format!(
            "waveform sample {i} is {} (expected a finite value in [-1, 1])",
            wav[i]
        ))),
        None => Ok(()),
    }
}

/// Tango's `normalize_wav`: subtract the mean, divide by `max|x| + 1e-8`, halve (peak 0.5).
/// Computed in f32 like the torch original. Digital silence stays silence.
pub fn normalize_wav(wav: &[f32]) -> Result<Vec<f32>> {
    if wav.is_empty() {
        return Err(Error::invalid("cannot normalise an empty waveform"));
    }
    if wav.iter().any(|x| !x.is_finite()) {
        return Err(Error::invalid("waveform contains NaN or infinite samples"));
    }
    let mean = (wav.iter().map(|&x| x as f64).sum::<f64>() / wav.len() as f64) as f32;
    let peak = wav.iter().fold(0.0f32, |m, &x| m.max((x - mean).abs()));
    let denominator = peak + 1e-8;
    Ok(wav
        .iter()
        .map(|&x| (x - mean) / denominator * 0.5)
        .collect())
}

/// Tango's `pad_wav`: the first `segment_length` samples, or the waveform followed by zeros up
/// to `segment_length`.
pub fn pad_wav(wav: &[f32], segment_length: usize) -> Vec<f32> {
    let mut out = wav[..wav.len().min(segment_length)].to_vec();
    out.resize(segment_length, 0.0);
    out
}

/// Tango's `read_wav_file` after its resampling to 16 kHz: [`normalize_wav`], [`pad_wav`] to
/// `segment_length` samples, then rescale to a peak of exactly 0.5. Where Tango divides 0 by
/// 0 for a silent clip (NaN, zeroed later by `get_mel_from_wav`), this returns zeros.
pub fn tango_waveform(wav: &[f32], segment_length: usize) -> Result<Vec<f32>> {
    let mut out = pad_wav(&normalize_wav(wav)?, segment_length);
    let peak = out.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
    if peak > 0.0 {
        for x in &mut out {
            *x = 0.5 * (*x / peak);
        }
    }
    Ok(out)
}

/// Tango's `get_mel_from_wav` input guard, `nan_to_num(clip(x, -1, 1))`: clamp to [-1, 1]
/// and replace NaN by 0.
pub fn sanitize_wav(wav: &mut [f32]) {
    for x in wav {
        *x = if x.is_nan() { 0.0 } else { x.clamp(-1.0, 1.0) };
    }
}

/// Tango's `_pad_spec`: cut the spectrogram to `target_frames` frames, or append frames of
/// **0.0** (not the log floor `ln(1e-5)`: that is what the model was trained on), and drop
/// the last band when the band count is odd.
pub fn pad_spec(mel: &MelSpectrogram, target_frames: usize) -> MelSpectrogram {
    let n_mels = mel.n_mels - mel.n_mels % 2;
    let mut data = Vec::with_capacity(target_frames * n_mels);
    for frame in mel.frames().take(target_frames) {
        data.extend_from_slice(&frame[..n_mels]);
    }
    data.resize(target_frames * n_mels, 0.0);
    MelSpectrogram {
        n_mels,
        n_frames: target_frames,
        hop_seconds: mel.hop_seconds,
        data,
    }
}
