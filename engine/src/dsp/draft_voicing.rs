//! Waveforms for variations of a real recording. The model's spectrogram says how the draft
//! (the recording placed on the events) should change; the draft itself still holds what a
//! 64-band mel cannot: harmonics, transients and a real phase. So the change is applied to
//! the draft's STFT as a gain per bin and frame, the ratio of the generated mel to the VAE's
//! reconstruction of the draft's own mel, and the draft's phase is kept (optionally refined by
//! a few Griffin-Lim iterations). At a variation strength near 0 the ratio is 1 and the draft
//! comes back unchanged; phase reconstruction from a random start never gives that.
//!
//! Above the model's band (8 kHz at 16 kHz) a delivery at 48 kHz takes the draft's own high
//! band, following the variation's level in the top octave it has ([`add_high_band`]).

use crate::error::{Error, Result};

use super::griffin_lim::{GriffinLimConfig, griffin_lim_from_phase};
use super::mel::{MelExtractor, MelSpectrogram};
use super::stft::{MagnitudeSpectrogram, Stft, StftConfig};

/// The largest change of level in any bin, either way (natural-log units: 30 dB): a
/// near-silent part of the draft is not blown up into its noise floor.
const MAX_LOG_GAIN: f32 = 3.454;

/// Voice `generated` (a log-mel of the extractor's front end, one frame per hop of `draft`)
/// through `draft` (mono at the extractor's rate): the draft's STFT scaled bin by bin by
/// `exp(generated - reconstructed)`, spread from mel bands to bins by the filterbank's
/// weights, then `config.n_iter` Griffin-Lim iterations from the draft's phase. `reconstructed`
/// is the draft's log-mel as the model's autoencoder returns it, so that the gain measures the
/// model's change rather than the autoencoder's blur. Returns as many samples as `draft`.
pub fn voice_over_draft(
    extractor: &MelExtractor,
    draft: &[f32],
    reconstructed: &MelSpectrogram,
    generated: &MelSpectrogram,
    config: &GriffinLimConfig,
) -> Result<Vec<f32>> {
    if draft.is_empty() {
        return Err(Error::invalid("voicing over an empty draft"));
    }
    let bank = extractor.filterbank();
    let n_mels = bank.n_mels();
    for m in [reconstructed, generated] {
        if m.n_mels != n_mels || m.n_frames == 0 || m.data.len() != m.n_frames * n_mels {
            return Err(Error::invalid(format!(
                "a {}x{} log-mel cannot be voiced through a {n_mels}-band filterbank",
                m.n_frames, m.n_mels
            )));
        }
    }
    let stft = extractor.stft();
    let spectrum = stft.forward(draft)?;
    let n_bins = spectrum.n_bins;
    // Each bin's share of every band, normalised so that a gain flat across the bands is
    // flat across the bins.
    let mut share = vec![0f32; n_mels * n_bins];
    let mut total = vec![0f32; n_bins];
    for m in 0..n_mels {
        let band = bank.band(m).unwrap_or(&[]);
        for (k, &w) in band.iter().enumerate().take(n_bins) {
            share[m * n_bins + k] = w;
            total[k] += w;
        }
    }
    // Bins no band covers take the nearest covered bin's gain.
    let covered: Vec<usize> = (0..n_bins).filter(|&k| total[k] > 0.0).collect();
    if covered.is_empty() {
        return Err(Error::invalid("the filterbank covers no STFT bin"));
    }
    let nearest: Vec<usize> = (0..n_bins)
        .map(|k| {
            *covered
                .iter()
                .min_by_key(|&&c| c.abs_diff(k))
                .expect("non-empty")
        })
        .collect();
    let mut magnitude = MagnitudeSpectrogram {
        n_frames: spectrum.n_frames,
        n_bins,
        data: vec![0.0; spectrum.data.len()],
    };
    let mut log_gain = vec![0f32; n_mels];
    let mut bin_gain = vec![0f32; n_bins];
    for t in 0..spectrum.n_frames {
        let g = generated
            .frame(t.min(generated.n_frames - 1))
            .expect("in range");
        let r = reconstructed
            .frame(t.min(reconstructed.n_frames - 1))
            .expect("in range");
        for ((lg, a), b) in log_gain.iter_mut().zip(g).zip(r) {
            *lg = (a - b).clamp(-MAX_LOG_GAIN, MAX_LOG_GAIN);
        }
        bin_gain.fill(0.0);
        for (m, &lg) in log_gain.iter().enumerate() {
            for (bg, &w) in bin_gain
                .iter_mut()
                .zip(&share[m * n_bins..(m + 1) * n_bins])
            {
                *bg += w * lg;
            }
        }
        let row = t * n_bins..(t + 1) * n_bins;
        for ((m, z), &c) in magnitude.data[row.clone()]
            .iter_mut()
            .zip(&spectrum.data[row])
            .zip(&nearest)
        {
            *m = z.norm() * f64::from((bin_gain[c] / total[c]).exp());
        }
    }
    griffin_lim_from_phase(stft, &magnitude, &spectrum, config, draft.len())
}

/// STFT at 48 kHz for the high band: 2048-point frames every 10 ms.
const HIGH_BAND_FFT: usize = 2048;
/// The crossover from the variation to the draft's own high band, Hz: a raised-cosine
/// fade over this range (just under the model's 8 kHz Nyquist, where the resampler's
/// low-pass begins).
const CROSSOVER_HZ: (f64, f64) = (7000.0, 8000.0);
/// Band whose level the high band follows, Hz: the top octave below the crossover.
const FOLLOW_HZ: (f64, f64) = (3500.0, 7000.0);
/// Largest boost of the high band, linear.
const MAX_HIGH_GAIN: f64 = 4.0;

/// A full-band delivery: `low` (the variation, already at `rate`, band-limited to the model's
/// 8 kHz) plus the part of `draft_full` (the draft at `rate`) above the crossover, scaled
/// frame by frame by how the variation's top octave compares with the draft's (`variation_16k`
/// and `draft_16k`, the two at the model's 16 kHz, measure that). Returns `low.len()` samples.
pub fn add_high_band(
    low: &[f32],
    draft_full: &[f32],
    rate: u32,
    variation_16k: &[f32],
    draft_16k: &[f32],
) -> Result<Vec<f32>> {
    if low.is_empty() || draft_full.is_empty() {
        return Ok(low.to_vec());
    }
    let hop = (rate / 100) as usize;
    let follow = band_level_ratio(variation_16k, draft_16k)?;
    let stft = Stft::new(StftConfig::new(HIGH_BAND_FFT, hop))?;
    let mut spectrum = stft.forward(draft_full)?;
    let bin_hz = f64::from(rate) / HIGH_BAND_FFT as f64;
    let weight: Vec<f64> = (0..spectrum.n_bins)
        .map(|k| {
            let f = k as f64 * bin_hz;
            let (a, b) = CROSSOVER_HZ;
            if f <= a {
                0.0
            } else if f >= b {
                1.0
            } else {
                0.5 - 0.5 * (std::f64::consts::PI * (f - a) / (b - a)).cos()
            }
        })
        .collect();
    let n_bins = spectrum.n_bins;
    for (t, frame) in spectrum.data.chunks_exact_mut(n_bins).enumerate() {
        // Both spectrograms frame every 10 ms, so frame `t` is the same moment in each.
        let gain = follow
            .get(t.min(follow.len().saturating_sub(1)))
            .copied()
            .unwrap_or(1.0);
        for (c, w) in frame.iter_mut().zip(&weight) {
            *c *= w * gain;
        }
    }
    let high = stft.inverse(&spectrum, Some(draft_full.len()))?;
    Ok(low
        .iter()
        .enumerate()
        .map(|(i, &x)| x + high.get(i).copied().unwrap_or(0.0) as f32)
        .collect())
}

/// Per 10 ms frame, the amplitude ratio of `a`'s to `b`'s level in [`FOLLOW_HZ`] (both at
/// 16 kHz), smoothed over 50 ms and bounded by [`MAX_HIGH_GAIN`].
fn band_level_ratio(a: &[f32], b: &[f32]) -> Result<Vec<f64>> {
    if a.is_empty() || b.is_empty() {
        return Ok(vec![1.0]);
    }
    let stft = Stft::new(StftConfig::new(512, 160))?;
    let (pa, pb) = (stft.power(a)?, stft.power(b)?);
    let bin_hz = 16_000.0 / 512.0;
    let lo = (FOLLOW_HZ.0 / bin_hz) as usize;
    let hi = ((FOLLOW_HZ.1 / bin_hz) as usize).min(pa.n_bins);
    let energy = |p: &MagnitudeSpectrogram| -> Vec<f64> {
        p.frames().map(|f| f[lo..hi].iter().sum::<f64>()).collect()
    };
    let (ea, eb) = (energy(&pa), energy(&pb));
    let floor = eb.iter().fold(0f64, |m, &v| m.max(v)) * 1e-6 + f64::MIN_POSITIVE;
    let raw: Vec<f64> = ea
        .iter()
        .zip(&eb)
        .map(|(x, y)| ((x + floor) / (y + floor)).sqrt().min(MAX_HIGH_GAIN))
        .collect();
    Ok((0..raw.len())
        .map(|t| {
            let window = &raw[t.saturating_sub(2)..(t + 3).min(raw.len())];
            window.iter().sum::<f64>() / window.len() as f64
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chirp(n: usize, rate: f64) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let t = i as f64 / rate;
                let env = (-(t % 0.25) * 12.0).exp();
                (env * ((300.0 + 900.0 * t) * t * std::f64::consts::TAU).sin()) as f32 * 0.3
            })
            .collect()
    }

    /// With no change asked for, the draft comes back as it was.
    #[test]
    fn an_unchanged_spectrogram_returns_the_draft() {
        let ex = MelExtractor::audioldm().unwrap();
        let draft = chirp(16_000, 16_000.0);
        let mel = ex.log_mel(&draft).unwrap();
        let config = GriffinLimConfig {
            n_iter: 0,
            ..GriffinLimConfig::LIBROSA
        };
        let out = voice_over_draft(&ex, &draft, &mel, &mel, &config).unwrap();
        assert_eq!(out.len(), draft.len());
        let err = out
            .iter()
            .zip(&draft)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(err < 1e-4, "{err}");
    }

    /// A change of 6 dB in every band is a change of 6 dB in the waveform.
    #[test]
    fn a_flat_gain_scales_the_draft() {
        let ex = MelExtractor::audioldm().unwrap();
        let draft = chirp(16_000, 16_000.0);
        let mel = ex.log_mel(&draft).unwrap();
        let louder = MelSpectrogram {
            data: mel.data.iter().map(|v| v + 2f32.ln()).collect(),
            ..mel.clone()
        };
        let config = GriffinLimConfig {
            n_iter: 0,
            ..GriffinLimConfig::LIBROSA
        };
        let out = voice_over_draft(&ex, &draft, &mel, &louder, &config).unwrap();
        let err = out
            .iter()
            .zip(&draft)
            .fold(0f32, |m, (a, b)| m.max((a - 2.0 * b).abs()));
        assert!(err < 1e-3, "{err}");
        let bad = MelSpectrogram {
            n_mels: 8,
            n_frames: 1,
            hop_seconds: 0.01,
            data: vec![0.0; 8],
        };
        assert!(voice_over_draft(&ex, &draft, &bad, &mel, &config).is_err());
    }

    /// The draft's band above 8 kHz is added where the variation kept the draft's level,
    /// and left out where the variation fell silent.
    #[test]
    fn the_high_band_follows_the_variation() {
        let rate = 48_000;
        let hiss: Vec<f32> = crate::noise::NoiseRng::new(3)
            .normals(rate as usize)
            .into_iter()
            .map(|v| 0.1 * v)
            .collect();
        let hiss16: Vec<f32> = hiss.iter().step_by(3).copied().collect();
        let mut quiet16 = hiss16.clone();
        for v in &mut quiet16[8000..] {
            *v = 0.0;
        }
        let low = vec![0f32; rate as usize];
        let out = add_high_band(&low, &hiss, rate, &quiet16, &hiss16).unwrap();
        assert_eq!(out.len(), low.len());
        let rms = |s: &[f32]| (s.iter().map(|v| v * v).sum::<f32>() / s.len() as f32).sqrt();
        let (first, second) = (rms(&out[4800..19_200]), rms(&out[28_800..43_200]));
        assert!(first > 0.02, "high band present: {first}");
        assert!(
            second < first * 0.05,
            "and gone with the variation: {second}"
        );
        // Nothing of the draft below the crossover.
        let sine: Vec<f32> = (0..rate as usize)
            .map(|i| (i as f32 * 1000.0 * std::f32::consts::TAU / rate as f32).sin())
            .collect();
        let sine16: Vec<f32> = sine.iter().step_by(3).copied().collect();
        let out = add_high_band(&low, &sine, rate, &sine16, &sine16).unwrap();
        assert!(rms(&out[4800..43_200]) < 1e-3);
    }
}
