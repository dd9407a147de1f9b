//! Post-processing for delivery: what a candidate goes through between the model's 16 kHz
//! output and an exported file. Edits are non-destructive settings applied in one fixed
//! order: resample, gain, offset by frames, fades, then loudness normalisation last so the
//! delivered level is the one asked for.

use serde::{Deserialize, Serialize};

use super::edit::{FadeShape, FrameRate, apply_gain_db, fade_in, fade_out, offset_video_frames};
use super::loudness::{NormalizeReport, normalize};
use crate::audio::AudioBuffer;
use crate::error::{Error, Result};
use crate::media::resample;

/// A loudness target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoudnessTarget {
    /// Integrated loudness in LUFS (EBU R128: -23).
    pub lufs: f64,
    /// True-peak ceiling in dBTP (EBU R128: -1).
    pub ceiling_dbtp: f64,
}

impl Default for LoudnessTarget {
    fn default() -> Self {
        Self {
            lufs: -23.0,
            ceiling_dbtp: -1.0,
        }
    }
}

/// Delivery settings of one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MasterSettings {
    /// Output rate: 48000 (default), 44100 or 16000.
    pub sample_rate: u32,
    /// Loudness normalisation; `None` keeps the level.
    pub loudness: Option<LoudnessTarget>,
    /// Gain in dB before normalisation.
    pub gain_db: f64,
    /// Fade-in seconds.
    pub fade_in_s: f64,
    /// Fade-out seconds.
    pub fade_out_s: f64,
    /// Shift in video frames (positive = later).
    pub offset_frames: i64,
}

impl Default for MasterSettings {
    fn default() -> Self {
        Self {
            sample_rate: 48_000,
            loudness: Some(LoudnessTarget::default()),
            gain_db: 0.0,
            fade_in_s: 0.005,
            fade_out_s: 0.005,
            offset_frames: 0,
        }
    }
}

/// Apply `settings` to `audio` (any rate, mono or not) for a picture at `rate`.
pub fn master(
    audio: &AudioBuffer,
    settings: &MasterSettings,
    rate: FrameRate,
) -> Result<(AudioBuffer, Option<NormalizeReport>)> {
    if !matches!(settings.sample_rate, 16_000 | 44_100 | 48_000) {
        return Err(Error::invalid(format!(
            "output sample rate must be 48000, 44100 or 16000 Hz, got {}",
            settings.sample_rate
        )));
    }
    let mut out = resample(audio, settings.sample_rate, audio.channels)?;
    if settings.gain_db != 0.0 {
        apply_gain_db(&mut out, settings.gain_db)?;
    }
    if settings.offset_frames != 0 {
        offset_video_frames(&mut out, settings.offset_frames, rate)?;
    }
    if settings.fade_in_s > 0.0 {
        fade_in(&mut out, settings.fade_in_s, FadeShape::EqualPower)?;
    }
    if settings.fade_out_s > 0.0 {
        fade_out(&mut out, settings.fade_out_s, FadeShape::EqualPower)?;
    }
    let report = match settings.loudness {
        Some(t) => Some(normalize(&mut out, t.lufs, t.ceiling_dbtp)?),
        None => None,
    };
    Ok((out, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivers_the_rate_level_and_offset_asked_for() {
        let sr = 16_000;
        let mut samples = vec![0f32; sr as usize * 3];
        for (i, s) in samples.iter_mut().enumerate().skip(sr as usize) {
            *s = 0.3 * (i as f32 * 2.0 * std::f32::consts::PI * 440.0 / sr as f32).sin();
        }
        let audio = AudioBuffer::new(sr, 1, samples);
        let rate = FrameRate::new(25, 1).unwrap();
        let (out, report) = master(&audio, &MasterSettings::default(), rate).unwrap();
        assert_eq!(out.sample_rate, 48_000);
        assert_eq!(out.samples.len(), 3 * 48_000);
        let r = report.unwrap();
        let lufs = r.after.integrated_lufs.unwrap();
        assert!((lufs + 23.0).abs() < 0.1, "{lufs}");
        assert!(r.after.true_peak_dbtp <= -1.0 + 1e-6);
        // Two frames later at 25 fps: the tone starts 80 ms later.
        let settings = MasterSettings {
            offset_frames: 2,
            loudness: None,
            ..MasterSettings::default()
        };
        let (shifted, none) = master(&audio, &settings, rate).unwrap();
        assert!(none.is_none());
        let onset = |x: &[f32]| x.iter().position(|v| v.abs() > 0.01).unwrap();
        let (plain, _) = master(
            &audio,
            &MasterSettings {
                loudness: None,
                ..MasterSettings::default()
            },
            rate,
        )
        .unwrap();
        let d = onset(&shifted.samples) as i64 - onset(&plain.samples) as i64;
        assert!((d - 3840).abs() <= 2, "{d}");
        let bad = MasterSettings {
            sample_rate: 22_050,
            ..MasterSettings::default()
        };
        assert!(master(&audio, &bad, rate).is_err());
    }
}
