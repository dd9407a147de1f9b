//! Sample-accurate edits on [`AudioBuffer`]s for the timeline: fades, equal-power
//! crossfades, gain, and time offsets in samples or video frames.
//!
//! Every edit acts on whole frames, so all channels stay aligned. Arguments are checked
//! (finite, non-negative durations; matching rates and channel counts) and rejected with
//! [`Error::InvalidInput`] rather than producing NaN audio.

use std::f64::consts::FRAC_PI_2;

use crate::audio::AudioBuffer;
use crate::error::{Error, Result};

/// Gain curve of a fade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FadeShape {
    /// Amplitude proportional to the position in the fade.
    Linear,
    /// Amplitude `sin(position * pi / 2)`: power rises as `sin^2`, so a fade-out and a
    /// fade-in of uncorrelated material overlapped this way sum to constant power.
    EqualPower,
}

impl FadeShape {
    /// Gain at `position` in [0, 1] of a fade-in.
    pub fn gain(self, position: f64) -> f64 {
        match self {
            FadeShape::Linear => position,
            FadeShape::EqualPower => (position * FRAC_PI_2).sin(),
        }
    }
}

/// A video frame rate as an exact ratio of frames per second (`num / den`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRate {
    /// Frames per `den` seconds.
    pub num: u32,
    /// Seconds per `num` frames.
    pub den: u32,
}

impl FrameRate {
    /// 24000/1001, the rate called 23.976.
    pub const FILM_NTSC: FrameRate = FrameRate {
        num: 24000,
        den: 1001,
    };
    /// 24 fps.
    pub const FILM: FrameRate = FrameRate { num: 24, den: 1 };
    /// 25 fps (PAL).
    pub const PAL: FrameRate = FrameRate { num: 25, den: 1 };
    /// 30000/1001, the rate called 29.97.
    pub const NTSC: FrameRate = FrameRate {
        num: 30000,
        den: 1001,
    };
    /// 60000/1001, the rate called 59.94.
    pub const NTSC_60: FrameRate = FrameRate {
        num: 60000,
        den: 1001,
    };

    /// `num / den` frames per second; both must be positive.
    pub fn new(num: u32, den: u32) -> Result<Self> {
        if num == 0 || den == 0 {
            return Err(Error::invalid(format!("frame rate {num}/{den}")));
        }
        Ok(Self { num, den })
    }

    /// The exact rate meant by a decimal frames-per-second value: 23.976, 29.97, 47.952,
    /// 59.94 and 119.88 (within 0.005) are the NTSC ratios `k * 1000 / 1001`; other values
    /// are taken to the nearest 1/1000 fps.
    pub fn from_fps(fps: f64) -> Result<Self> {
        if !(fps.is_finite() && fps > 0.0 && fps < 1e6) {
            return Err(Error::invalid(format!("frame rate {fps} fps")));
        }
        for k in [24u32, 30, 48, 60, 120] {
            if (fps - k as f64 * 1000.0 / 1001.0).abs() < 0.005 {
                return Ok(Self {
                    num: k * 1000,
                    den: 1001,
                });
            }
        }
        let millis = (fps * 1000.0).round() as u32;
        if millis == 0 {
            return Err(Error::invalid(format!("frame rate {fps} fps")));
        }
        if millis % 1000 == 0 {
            Ok(Self {
                num: millis / 1000,
                den: 1,
            })
        } else {
            Ok(Self {
                num: millis,
                den: 1000,
            })
        }
    }

    /// Frames per second as a float.
    pub fn fps(&self) -> f64 {
        self.num as f64 / self.den as f64
    }

    /// Audio samples spanned by `frames` video frames at `sample_rate`, rounded to the nearest
    /// sample (halves away from zero). Computed exactly from the frame count, so long offsets
    /// do not accumulate rounding drift.
    pub fn frames_to_samples(&self, frames: i64, sample_rate: u32) -> i64 {
        let numerator = frames as i128 * sample_rate as i128 * self.den as i128;
        let denominator = self.num.max(1) as i128;
        let rounded = (2 * numerator.abs() + denominator) / (2 * denominator);
        let signed = if numerator < 0 { -rounded } else { rounded };
        signed.clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }
}

/// Fade the start of `audio` in over `duration_s`. Frame `i` of the `n` fade frames gets
/// `shape.gain(i / n)`, so the first frame is silent. A fade longer than the buffer follows
/// the same curve and ends below full level.
pub fn fade_in(audio: &mut AudioBuffer, duration_s: f64, shape: FadeShape) -> Result<()> {
    let n = duration_frames(audio, duration_s, "fade-in duration")?;
    let channels = audio.channels as usize;
    for (i, frame) in audio.samples.chunks_exact_mut(channels).take(n).enumerate() {
        let gain = shape.gain(i as f64 / n as f64) as f32;
        frame.iter_mut().for_each(|s| *s *= gain);
    }
    Ok(())
}

/// Fade the end of `audio` out over `duration_s`, mirroring [`fade_in`]: the last frame is
/// silent.
pub fn fade_out(audio: &mut AudioBuffer, duration_s: f64, shape: FadeShape) -> Result<()> {
    let n = duration_frames(audio, duration_s, "fade-out duration")?;
    let channels = audio.channels as usize;
    for (k, frame) in audio
        .samples
        .chunks_exact_mut(channels)
        .rev()
        .take(n)
        .enumerate()
    {
        let gain = shape.gain(k as f64 / n as f64) as f32;
        frame.iter_mut().for_each(|s| *s *= gain);
    }
    Ok(())
}

/// Join `first` and `second`, overlapping the last `overlap_s` of `first` with the start of
/// `second` under an equal-power (sine/cosine) law: in the overlap, frame `i` of `n` is
/// `first * cos(p * pi/2) + second * sin(p * pi/2)` with `p = (i + 0.5) / n`. As
/// `cos^2 + sin^2 = 1`, the power of uncorrelated material stays constant through the seam
/// (identical material would rise by up to 3 dB; use linear fades for that). The result is
/// `first.frames() + second.frames() - n` frames long.
pub fn crossfade(first: &AudioBuffer, second: &AudioBuffer, overlap_s: f64) -> Result<AudioBuffer> {
    check_layout(first)?;
    check_layout(second)?;
    if first.sample_rate != second.sample_rate || first.channels != second.channels {
        return Err(Error::invalid(format!(
            "cannot crossfade {} Hz x{} into {} Hz x{}",
            first.sample_rate, first.channels, second.sample_rate, second.channels
        )));
    }
    let n = duration_frames(first, overlap_s, "crossfade overlap")?;
    if n > first.frames() || n > second.frames() {
        return Err(Error::invalid(format!(
            "crossfade overlap of {n} frames is longer than a clip ({} and {} frames)",
            first.frames(),
            second.frames()
        )));
    }
    let channels = first.channels as usize;
    let head = (first.frames() - n) * channels;
    let mut samples = Vec::with_capacity(first.samples.len() + second.samples.len() - n * channels);
    samples.extend_from_slice(&first.samples[..head]);
    let tail = first.samples[head..].chunks_exact(channels);
    let intro = second.samples[..n * channels].chunks_exact(channels);
    for (i, (a, b)) in tail.zip(intro).enumerate() {
        let angle = (i as f64 + 0.5) / n as f64 * FRAC_PI_2;
        let (gain_out, gain_in) = (angle.cos() as f32, angle.sin() as f32);
        samples.extend(a.iter().zip(b).map(|(&a, &b)| a * gain_out + b * gain_in));
    }
    samples.extend_from_slice(&second.samples[n * channels..]);
    Ok(AudioBuffer::new(first.sample_rate, first.channels, samples))
}

/// Multiply every sample by `10^(gain_db / 20)`.
pub fn apply_gain_db(audio: &mut AudioBuffer, gain_db: f64) -> Result<()> {
    check_layout(audio)?;
    if !gain_db.is_finite() {
        return Err(Error::invalid(format!("gain {gain_db} dB")));
    }
    let gain = 10f64.powf(gain_db / 20.0) as f32;
    audio.samples.iter_mut().for_each(|s| *s *= gain);
    Ok(())
}

/// Shift `audio` in time by `offset` frames, keeping its length. Positive is later: silence
/// is prepended and the end dropped. Negative is earlier: the start is dropped and silence
/// appended. Offsets of the whole length or more leave silence.
pub fn offset_samples(audio: &mut AudioBuffer, offset: i64) -> Result<()> {
    check_layout(audio)?;
    let channels = audio.channels as usize;
    let len = audio.samples.len();
    let shift = usize::try_from(offset.unsigned_abs())
        .unwrap_or(usize::MAX)
        .saturating_mul(channels)
        .min(len);
    if offset >= 0 {
        audio.samples.copy_within(..len - shift, shift);
        audio.samples[..shift].fill(0.0);
    } else {
        audio.samples.copy_within(shift.., 0);
        audio.samples[len - shift..].fill(0.0);
    }
    Ok(())
}

/// Shift `audio` by `frames` video frames at `rate` (positive = later), as
/// [`offset_samples`] with [`FrameRate::frames_to_samples`]. Returns the shift in samples.
pub fn offset_video_frames(audio: &mut AudioBuffer, frames: i64, rate: FrameRate) -> Result<i64> {
    if rate.num == 0 || rate.den == 0 {
        return Err(Error::invalid(format!(
            "frame rate {}/{}",
            rate.num, rate.den
        )));
    }
    let samples = rate.frames_to_samples(frames, audio.sample_rate);
    offset_samples(audio, samples)?;
    Ok(samples)
}

fn check_layout(audio: &AudioBuffer) -> Result<()> {
    if audio.channels == 0 {
        return Err(Error::invalid("audio buffer has zero channels"));
    }
    if audio.sample_rate == 0 {
        return Err(Error::invalid("audio buffer has a zero sample rate"));
    }
    if audio.samples.len() % audio.channels as usize != 0 {
        return Err(Error::invalid(format!(
            "{} samples do not split into whole {}-channel frames",
            audio.samples.len(),
            audio.channels
        )));
    }
    Ok(())
}

/// `seconds` as a whole number of frames of `audio`, after checking both.
fn duration_frames(audio: &AudioBuffer, seconds: f64, what: &str) -> Result<usize> {
    check_layout(audio)?;
    if !(seconds.is_finite() && seconds >= 0.0) {
        return Err(Error::invalid(format!(
            "{what} must be finite and >= 0, got {seconds}"
        )));
    }
    let frames = (seconds * audio.sample_rate as f64).round();
    if frames > usize::MAX as f64 / 2.0 {
        return Err(Error::invalid(format!("{what} of {seconds} s is too long")));
    }
    Ok(frames as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constant(rate: u32, channels: u16, frames: usize, value: f32) -> AudioBuffer {
        AudioBuffer::new(rate, channels, vec![value; frames * channels as usize])
    }

    /// Uniform white noise scaled to unit RMS.
    fn noise(frames: usize, seed: u64) -> Vec<f32> {
        let mut state = seed;
        (0..frames)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let u = (state >> 40) as f64 / (1u64 << 24) as f64;
                ((u - 0.5) * 12f64.sqrt()) as f32
            })
            .collect()
    }

    fn rms_db(samples: &[f32]) -> f64 {
        let power = samples.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / samples.len() as f64;
        10.0 * power.log10()
    }

    #[test]
    fn fades_follow_their_curves_on_every_channel() {
        let mut audio = constant(1000, 2, 200, 1.0);
        fade_in(&mut audio, 0.1, FadeShape::Linear).unwrap();
        assert_eq!(audio.samples[0..2], [0.0, 0.0]);
        assert!(
            (audio.samples[100] - 0.5).abs() < 1e-6 && audio.samples[100] == audio.samples[101]
        );
        assert!(audio.samples[200..].iter().all(|&s| s == 1.0));

        let mut audio = constant(1000, 2, 200, 1.0);
        fade_in(&mut audio, 0.1, FadeShape::EqualPower).unwrap();
        assert!((audio.samples[100] - (FRAC_PI_2 * 0.5).sin() as f32).abs() < 1e-6);

        let mut audio = constant(1000, 2, 200, 1.0);
        fade_out(&mut audio, 0.1, FadeShape::Linear).unwrap();
        assert_eq!(audio.samples[398..], [0.0, 0.0]);
        assert!((audio.samples[2 * 149] - 0.5).abs() < 1e-6);
        assert!(audio.samples[..200].iter().all(|&s| s == 1.0));

        // Longer than the buffer: the curve is followed, full level is never reached.
        let mut audio = constant(1000, 1, 10, 1.0);
        fade_in(&mut audio, 1.0, FadeShape::Linear).unwrap();
        assert!((audio.samples[9] - 0.009).abs() < 1e-6);
    }

    #[test]
    fn equal_power_crossfade_keeps_noise_power() {
        let rate = 48000;
        let a = AudioBuffer::new(rate, 1, noise(2 * rate as usize, 1));
        let b = AudioBuffer::new(rate, 1, noise(2 * rate as usize, 2));
        let joined = crossfade(&a, &b, 1.0).unwrap();
        assert_eq!(joined.frames(), 3 * rate as usize);
        // 100 ms windows from the end of `a` alone, through the seam, into `b` alone.
        let window = rate as usize / 10;
        let levels: Vec<f64> = joined.samples.chunks_exact(window).map(rms_db).collect();
        for (i, level) in levels.iter().enumerate() {
            assert!(level.abs() < 0.5, "window {i}: {level:.3} dB");
        }
    }

    #[test]
    fn crossfade_has_no_step() {
        let rate = 1000;
        let a = constant(rate, 2, 300, 0.5);
        let b = constant(rate, 2, 300, 0.5);
        let joined = crossfade(&a, &b, 0.1).unwrap();
        assert_eq!(joined.frames(), 500);
        let left = joined.channel(0);
        // The largest jump between neighbouring samples is bounded by the gain slope.
        let max_step = left
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f32::max);
        assert!(
            max_step < 0.5 * 2.0 * FRAC_PI_2 as f32 / 100.0,
            "step {max_step}"
        );
        assert_eq!(joined.channel(0), joined.channel(1));
        // Zero overlap is concatenation.
        let cat = crossfade(&a, &b, 0.0).unwrap();
        assert_eq!(cat.frames(), 600);
    }

    #[test]
    fn video_frame_offsets_are_sample_exact() {
        for (rate, expected) in [
            (FrameRate::FILM_NTSC, 2002),
            (FrameRate::PAL, 1920),
            (FrameRate::NTSC, 1602),
        ] {
            assert_eq!(rate.frames_to_samples(1, 48000), expected);
            assert_eq!(rate.frames_to_samples(-1, 48000), -expected);
        }
        assert_eq!(FrameRate::from_fps(23.976).unwrap(), FrameRate::FILM_NTSC);
        assert_eq!(FrameRate::from_fps(29.97).unwrap(), FrameRate::NTSC);
        assert_eq!(FrameRate::from_fps(25.0).unwrap(), FrameRate::PAL);
        assert_eq!(FrameRate::NTSC.frames_to_samples(10, 48000), 16016);
        assert_eq!(
            FrameRate::FILM_NTSC.frames_to_samples(1000, 48000),
            2_002_000
        );
        assert_eq!(FrameRate::FILM_NTSC.frames_to_samples(1, 44100), 1839);
        assert_eq!(FrameRate::PAL.frames_to_samples(3, 44100), 5292);
        assert_eq!(
            FrameRate::from_fps(12.5)
                .unwrap()
                .frames_to_samples(1, 1000),
            80
        );

        let original: Vec<f32> = (1..=6000).map(|i| i as f32).collect();
        let mut later = AudioBuffer::new(48000, 1, original.clone());
        assert_eq!(
            offset_video_frames(&mut later, 1, FrameRate::FILM_NTSC).unwrap(),
            2002
        );
        assert_eq!(later.frames(), 6000);
        assert!(later.samples[..2002].iter().all(|&s| s == 0.0));
        assert_eq!(later.samples[2002..], original[..6000 - 2002]);

        let mut earlier = AudioBuffer::new(48000, 1, original.clone());
        assert_eq!(
            offset_video_frames(&mut earlier, -1, FrameRate::NTSC).unwrap(),
            -1602
        );
        assert_eq!(earlier.samples[..6000 - 1602], original[1602..]);
        assert!(earlier.samples[6000 - 1602..].iter().all(|&s| s == 0.0));
    }

    #[test]
    fn offsets_keep_channels_together() {
        let mut audio = AudioBuffer::new(10, 2, vec![1., -1., 2., -2., 3., -3.]);
        offset_samples(&mut audio, 1).unwrap();
        assert_eq!(audio.samples, vec![0., 0., 1., -1., 2., -2.]);
        offset_samples(&mut audio, -2).unwrap();
        assert_eq!(audio.samples, vec![2., -2., 0., 0., 0., 0.]);
        offset_samples(&mut audio, i64::MIN).unwrap();
        assert!(audio.samples.iter().all(|&s| s == 0.0));
        let mut audio = AudioBuffer::new(10, 1, vec![1., 2.]);
        offset_samples(&mut audio, i64::MAX).unwrap();
        assert_eq!(audio.samples, vec![0., 0.]);
    }

    #[test]
    fn gain_in_db() {
        let mut audio = constant(48000, 1, 4, 0.5);
        apply_gain_db(&mut audio, -6.0206).unwrap();
        assert!((audio.samples[0] - 0.25).abs() < 1e-5);
        assert!(apply_gain_db(&mut audio, f64::NAN).is_err());
        assert!(apply_gain_db(&mut audio, f64::INFINITY).is_err());
    }

    #[test]
    fn invalid_arguments_and_degenerate_buffers() {
        let mut audio = constant(48000, 2, 10, 1.0);
        assert!(fade_in(&mut audio, f64::NAN, FadeShape::Linear).is_err());
        assert!(fade_in(&mut audio, -0.1, FadeShape::Linear).is_err());
        assert!(fade_out(&mut audio, f64::INFINITY, FadeShape::EqualPower).is_err());
        let mono = constant(48000, 1, 10, 1.0);
        let other_rate = constant(44100, 2, 10, 1.0);
        assert!(crossfade(&audio, &mono, 0.0).is_err());
        assert!(crossfade(&audio, &other_rate, 0.0).is_err());
        assert!(crossfade(&audio, &audio, 1.0).is_err());
        assert!(crossfade(&audio, &audio, -1.0).is_err());
        assert!(crossfade(&audio, &audio, f64::NAN).is_err());
        assert!(FrameRate::new(0, 1).is_err());
        assert!(FrameRate::from_fps(f64::NAN).is_err());
        assert!(FrameRate::from_fps(0.0).is_err());
        assert!(FrameRate::from_fps(-25.0).is_err());
        let zero_rate = FrameRate { num: 0, den: 1 };
        assert!(offset_video_frames(&mut audio, 1, zero_rate).is_err());

        // Empty and one-frame buffers are valid and stay well defined.
        let mut empty = AudioBuffer::new(48000, 1, vec![]);
        fade_in(&mut empty, 0.5, FadeShape::Linear).unwrap();
        fade_out(&mut empty, 0.5, FadeShape::EqualPower).unwrap();
        offset_samples(&mut empty, 5).unwrap();
        apply_gain_db(&mut empty, 3.0).unwrap();
        assert!(crossfade(&empty, &empty, 0.0).unwrap().samples.is_empty());
        let mut one = AudioBuffer::new(48000, 1, vec![0.5]);
        fade_out(&mut one, 1.0, FadeShape::Linear).unwrap();
        assert_eq!(one.samples, vec![0.0]);
        let one = AudioBuffer::new(48000, 1, vec![0.5]);
        let joined = crossfade(&one, &one, 1.0 / 48000.0).unwrap();
        assert_eq!(joined.frames(), 1);
        assert!(joined.samples[0].is_finite());

        let ragged = AudioBuffer {
            sample_rate: 48000,
            channels: 2,
            samples: vec![0.0; 3],
        };
        assert!(offset_samples(&mut ragged.clone(), 1).is_err());
        let no_channels = AudioBuffer {
            sample_rate: 48000,
            channels: 0,
            samples: vec![],
        };
        assert!(fade_in(&mut no_channels.clone(), 0.1, FadeShape::Linear).is_err());
    }
}
