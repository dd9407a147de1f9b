//! EBU R128 / ITU-R BS.1770 loudness measurement and loudness normalisation.
//!
//! Generated Foley is delivered at a programme loudness (e.g. -23 LUFS for broadcast, -16 to
//! -14 LUFS for online video) with a true-peak ceiling. Measurement uses the `ebur128` crate
//! (a port of libebur128) with its default channel map: channel 0 left, 1 right, 2 centre,
//! 3 LFE (ignored), 4/5 surrounds. A mono buffer is one front channel, so it reads 3 dB lower
//! than the same signal on both channels of a stereo buffer, as BS.1770 prescribes.
//! Normalisation is a pure gain: it never limits, so when the ceiling would be exceeded the
//! gain is reduced and the report says the target was not reached.

use ebur128::{EbuR128, Mode};

use crate::audio::AudioBuffer;
use crate::error::{Error, Result};

/// Loudness and peak statistics of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Loudness {
    /// Gated integrated loudness in LUFS; `None` when it is undefined: digital silence,
    /// everything below the -70 LUFS absolute gate, or less than one 400 ms gating block.
    pub integrated_lufs: Option<f64>,
    /// Highest true (inter-sample, 4x oversampled below 96 kHz) peak over all channels, dBTP;
    /// `f64::NEG_INFINITY` for silence.
    pub true_peak_dbtp: f64,
    /// Highest absolute sample over all channels, dBFS; `f64::NEG_INFINITY` for silence.
    pub sample_peak_dbfs: f64,
    /// Loudness range (EBU Tech 3342) in LU; 0 when too short or too quiet to measure.
    pub loudness_range_lu: f64,
}

/// What [`normalize`] did.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct NormalizeReport {
    /// Gain applied, in dB (0 when nothing was done).
    pub gain_db: f64,
    /// Measurement before the gain.
    pub before: Loudness,
    /// Measurement after the gain.
    pub after: Loudness,
    /// The gain was reduced to keep the true peak at the ceiling, so the integrated loudness
    /// is below the target.
    pub ceiling_limited: bool,
    /// Integrated loudness was undefined (see [`Loudness::integrated_lufs`]); no gain applied.
    pub silent: bool,
}

/// Measure integrated loudness, true peak, sample peak and loudness range of `audio`.
pub fn measure(audio: &AudioBuffer) -> Result<Loudness> {
    validate(audio)?;
    let mode = Mode::I | Mode::LRA | Mode::TRUE_PEAK | Mode::SAMPLE_PEAK;
    let mut meter = EbuR128::new(audio.channels as u32, audio.sample_rate, mode)
        .map_err(|e| Error::invalid(format!("loudness meter: {e}")))?;
    meter
        .add_frames_f32(&audio.samples)
        .map_err(|e| Error::invalid(format!("loudness meter: {e}")))?;
    let meter_err = |e: ebur128::Error| Error::invalid(format!("loudness meter: {e}"));

    let integrated = meter.loudness_global().map_err(meter_err)?;
    let range = meter.loudness_range().map_err(meter_err)?;
    let (mut true_peak, mut sample_peak) = (0.0f64, 0.0f64);
    for c in 0..audio.channels as u32 {
        true_peak = true_peak.max(meter.true_peak(c).map_err(meter_err)?);
        sample_peak = sample_peak.max(meter.sample_peak(c).map_err(meter_err)?);
    }
    Ok(Loudness {
        integrated_lufs: integrated.is_finite().then_some(integrated),
        true_peak_dbtp: amplitude_to_db(true_peak),
        sample_peak_dbfs: amplitude_to_db(sample_peak),
        loudness_range_lu: if range.is_finite() { range } else { 0.0 },
    })
}

/// Apply the gain that brings `audio` to `target_lufs` integrated loudness, reduced if the
/// true peak would then exceed `true_peak_ceiling_dbtp`. No limiting or compression is
/// applied. A buffer whose loudness is undefined is left untouched (`silent` in the report).
pub fn normalize(
    audio: &mut AudioBuffer,
    target_lufs: f64,
    true_peak_ceiling_dbtp: f64,
) -> Result<NormalizeReport> {
    if !target_lufs.is_finite() || !true_peak_ceiling_dbtp.is_finite() {
        return Err(Error::invalid(format!(
            "loudness target {target_lufs} LUFS and ceiling {true_peak_ceiling_dbtp} dBTP must be finite"
        )));
    }
    let before = measure(audio)?;
    let Some(integrated) = before.integrated_lufs else {
        return Ok(NormalizeReport {
            gain_db: 0.0,
            before,
            after: before,
            ceiling_limited: false,
            silent: true,
        });
    };
    let wanted = target_lufs - integrated;
    let headroom = true_peak_ceiling_dbtp - before.true_peak_dbtp;
    let (gain_db, ceiling_limited) = if wanted > headroom {
        (headroom, true)
    } else {
        (wanted, false)
    };
    let gain = 10f64.powf(gain_db / 20.0) as f32;
    for s in &mut audio.samples {
        *s *= gain;
    }
    Ok(NormalizeReport {
        gain_db,
        before,
        after: measure(audio)?,
        ceiling_limited,
        silent: false,
    })
}

fn validate(audio: &AudioBuffer) -> Result<()> {
    if audio.channels == 0 || audio.channels > 64 {
        return Err(Error::invalid(format!(
            "loudness needs 1 to 64 channels, got {}",
            audio.channels
        )));
    }
    if !(16..=2_822_400).contains(&audio.sample_rate) {
        return Err(Error::invalid(format!(
            "loudness needs a sample rate of 16 Hz to 2.8224 MHz, got {}",
            audio.sample_rate
        )));
    }
    if audio.samples.len() % audio.channels as usize != 0 {
        return Err(Error::invalid(format!(
            "{} samples do not split into whole {}-channel frames",
            audio.samples.len(),
            audio.channels
        )));
    }
    if audio.samples.iter().any(|s| !s.is_finite()) {
        return Err(Error::invalid("audio contains NaN or infinite samples"));
    }
    Ok(())
}

fn amplitude_to_db(amplitude: f64) -> f64 {
    20.0 * amplitude.log10()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn sine(rate: u32, channels: u16, seconds: f64, hz: f64, peak_db: f64) -> AudioBuffer {
        let amplitude = 10f64.powf(peak_db / 20.0);
        let frames = (rate as f64 * seconds) as usize;
        let mut samples = Vec::with_capacity(frames * channels as usize);
        for i in 0..frames {
            let v = (amplitude * (2.0 * PI * hz * i as f64 / rate as f64).sin()) as f32;
            samples.extend(std::iter::repeat_n(v, channels as usize));
        }
        AudioBuffer::new(rate, channels, samples)
    }

    #[test]
    fn tech_3341_case_1_stereo_sine() {
        // EBU Tech 3341 test 1: stereo 1 kHz sine at -23 dBFS peak for 20 s reads -23.0 LUFS.
        let m = measure(&sine(48000, 2, 20.0, 1000.0, -23.0)).unwrap();
        let lufs = m.integrated_lufs.unwrap();
        assert!((lufs + 23.0).abs() <= 0.1, "stereo: {lufs} LUFS");
        assert!((m.sample_peak_dbfs + 23.0).abs() < 0.01);
        assert!(m.loudness_range_lu.abs() < 0.1);
    }

    #[test]
    fn mono_sine_reads_three_db_lower() {
        // One channel carries half the power of two identical ones: -23 - 10 log10(2) = -26.
        let m = measure(&sine(48000, 1, 20.0, 1000.0, -23.0)).unwrap();
        let lufs = m.integrated_lufs.unwrap();
        assert!((lufs + 26.0).abs() <= 0.1, "mono: {lufs} LUFS");
    }

    #[test]
    fn true_peak_of_near_full_scale_sine() {
        // A 997 Hz sine at -0.5 dBFS: the true peak is the sine's amplitude, whatever the
        // sample phases; the sample peak can only be at or below it.
        let m = measure(&sine(48000, 2, 1.0, 997.0, -0.5)).unwrap();
        assert!(
            (m.true_peak_dbtp + 0.5).abs() < 0.05,
            "{}",
            m.true_peak_dbtp
        );
        assert!(m.sample_peak_dbfs <= m.true_peak_dbtp + 1e-9);
        // Fs/4 sine with 45-degree phase: samples sit at 0.707 of the peak (-3 dB), true peak
        // detection recovers the full amplitude.
        let amplitude = 10f64.powf(-1.0 / 20.0);
        let samples: Vec<f32> = (0..48000)
            .map(|i| (amplitude * (PI / 2.0 * i as f64 + PI / 4.0).sin()) as f32)
            .collect();
        let m = measure(&AudioBuffer::new(48000, 1, samples)).unwrap();
        assert!(
            (m.sample_peak_dbfs + 4.01).abs() < 0.02,
            "{}",
            m.sample_peak_dbfs
        );
        assert!(
            (m.true_peak_dbtp + 1.0).abs() < 0.15,
            "{}",
            m.true_peak_dbtp
        );
    }

    #[test]
    fn normalisation_reaches_target() {
        let mut audio = sine(48000, 2, 5.0, 440.0, -30.0);
        let report = normalize(&mut audio, -16.0, -1.0).unwrap();
        assert!(!report.ceiling_limited && !report.silent);
        let after = report.after.integrated_lufs.unwrap();
        assert!((after + 16.0).abs() < 0.05, "{after}");
        assert!(report.after.true_peak_dbtp <= -1.0);
        let expected_gain = -16.0 - report.before.integrated_lufs.unwrap();
        assert!((report.gain_db - expected_gain).abs() < 1e-9);
    }

    #[test]
    fn normalisation_respects_the_ceiling() {
        // A sparse, peaky signal: loud clicks over quiet noise has a high crest factor.
        let mut samples = vec![0.0f32; 48000 * 4];
        let mut seed = 1u32;
        for (i, s) in samples.iter_mut().enumerate() {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *s = 0.01 * ((seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5);
            if i % 12000 < 20 {
                *s += 0.5;
            }
        }
        let mut audio = AudioBuffer::new(48000, 1, samples);
        let report = normalize(&mut audio, -14.0, -1.0).unwrap();
        assert!(report.ceiling_limited);
        assert!(
            report.after.true_peak_dbtp <= -1.0 + 0.01,
            "{:?}",
            report.after
        );
        assert!((report.after.true_peak_dbtp + 1.0).abs() < 0.01);
        assert!(report.after.integrated_lufs.unwrap() < -14.0);
    }

    #[test]
    fn silence_and_edge_cases() {
        let mut silent = AudioBuffer::silence(48000, 2, 48000);
        let m = measure(&silent).unwrap();
        assert_eq!(m.integrated_lufs, None);
        assert_eq!(m.true_peak_dbtp, f64::NEG_INFINITY);
        assert_eq!(m.sample_peak_dbfs, f64::NEG_INFINITY);
        let report = normalize(&mut silent, -23.0, -1.0).unwrap();
        assert!(report.silent && report.gain_db == 0.0);
        assert!(silent.samples.iter().all(|&s| s == 0.0));

        let empty = AudioBuffer::new(48000, 1, vec![]);
        assert_eq!(measure(&empty).unwrap().integrated_lufs, None);
        let one = AudioBuffer::new(48000, 1, vec![0.5]);
        let m = measure(&one).unwrap();
        assert_eq!(m.integrated_lufs, None);
        assert!((m.sample_peak_dbfs - 20.0 * 0.5f64.log10()).abs() < 1e-9);

        let mut audio = sine(48000, 1, 1.0, 440.0, -20.0);
        assert!(normalize(&mut audio, f64::NAN, -1.0).is_err());
        assert!(normalize(&mut audio, -23.0, f64::INFINITY).is_err());
        let nan = AudioBuffer::new(48000, 1, vec![f32::NAN; 10]);
        assert!(measure(&nan).is_err());
        let no_channels = AudioBuffer {
            sample_rate: 48000,
            channels: 0,
            samples: vec![],
        };
        assert!(measure(&no_channels).is_err());
        let ragged = AudioBuffer {
            sample_rate: 48000,
            channels: 2,
            samples: vec![0.0; 3],
        };
        assert!(measure(&ragged).is_err());
        let slow = AudioBuffer::new(8, 1, vec![0.0; 8]);
        assert!(measure(&slow).is_err());
    }
}
