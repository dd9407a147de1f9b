//! Loops and beds: ambience and room tone that must run longer than what was generated. A
//! loop of an exact length takes the sound's start, with its tail past the loop length
//! crossfaded (equal power) into the head, so that played end to end the seam is the
//! sound's own continuation; a sound shorter than that is first extended by repeating its
//! body with the same crossfades. [`seam`] measures how audible the joint is: the spectral
//! change and the level change across it, against the same measures everywhere else.

use crate::error::{Error, Result};

use super::stft::{Stft, StftConfig};

/// FFT size and hop of the seam analysis at 16 kHz (scaled with the rate).
const SEAM_FFT_16K: usize = 1024;
/// Level windows of the seam analysis, seconds.
const LEVEL_WINDOW_S: f64 = 0.05;

/// The equal-power fade-in gain at `i` of `n` (the fade-out is its mirror).
fn fade_in(i: usize, n: usize) -> f32 {
    let x = (i as f64 + 0.5) / n as f64;
    (x * std::f64::consts::FRAC_PI_2).sin() as f32
}

/// `sound` made at least `len` samples long: copies of its body (from `crossfade` on) follow
/// it, each joined with an equal-power crossfade of `crossfade` samples. A candidate so
/// extends past the clip's end without a cut.
pub fn extend(sound: &[f32], len: usize, crossfade: usize) -> Result<Vec<f32>> {
    if sound.len() < 2 * crossfade.max(1) {
        return Err(Error::invalid(format!(
            "a sound of {} samples is too short to repeat with a {crossfade}-sample crossfade",
            sound.len()
        )));
    }
    let mut out = sound.to_vec();
    out.reserve(len.saturating_sub(out.len()));
    while out.len() < len {
        let start = out.len() - crossfade;
        for i in 0..crossfade {
            let a = fade_in(crossfade - 1 - i, crossfade);
            let b = fade_in(i, crossfade);
            out[start + i] = out[start + i] * a + sound[i] * b;
        }
        out.extend_from_slice(&sound[crossfade..]);
    }
    Ok(out)
}

/// A loop of exactly `len` samples from `sound`: played end to end it has no seam beyond the
/// crossfade of `crossfade` samples.
pub fn make_loop(sound: &[f32], len: usize, crossfade: usize) -> Result<Vec<f32>> {
    if len == 0 || crossfade == 0 || crossfade > len {
        return Err(Error::invalid(format!(
            "a loop of {len} samples needs a crossfade of 1 to {len} samples, got {crossfade}"
        )));
    }
    let source = if sound.len() >= len + crossfade {
        std::borrow::Cow::Borrowed(sound)
    } else {
        std::borrow::Cow::Owned(extend(sound, len + crossfade, crossfade)?)
    };
    let mut out = source[..len].to_vec();
    // The head fades in while the tail that would follow the loop's end fades out: the
    // loop's last sample is then followed by what followed it in the sound.
    for (i, o) in out.iter_mut().take(crossfade).enumerate() {
        let head = fade_in(i, crossfade);
        let tail = fade_in(crossfade - 1 - i, crossfade);
        *o = *o * head + source[len + i] * tail;
    }
    Ok(out)
}

/// How audible a loop's seam is.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Seam {
    /// Spectral flux (RMS change of the log spectrum, dB) between the frames before and
    /// after the seam.
    pub spectral_db: f64,
    /// The same between consecutive frames elsewhere: median and 99th percentile.
    pub spectral_median_db: f64,
    pub spectral_p99_db: f64,
    /// Level change (dB) between the windows just before and after the seam.
    pub level_db: f64,
    /// The same between consecutive windows elsewhere: median and 99th percentile.
    pub level_median_db: f64,
    pub level_p99_db: f64,
}

impl Seam {
    /// Whether the seam changes spectrum and level no more than 99 % of the loop's own
    /// frame-to-frame changes do.
    pub fn inaudible(&self) -> bool {
        self.spectral_db <= self.spectral_p99_db && self.level_db <= self.level_p99_db
    }
}

/// Measure the seam of `lp` (mono at `sample_rate`) played twice in a row.
pub fn seam(lp: &[f32], sample_rate: u32) -> Result<Seam> {
    let n_fft = (SEAM_FFT_16K * sample_rate as usize / 16_000).next_power_of_two();
    if lp.len() < 4 * n_fft {
        return Err(Error::invalid(format!(
            "a loop of {} samples is too short to measure its seam (at least {})",
            lp.len(),
            4 * n_fft
        )));
    }
    let twice: Vec<f32> = lp.iter().chain(lp).copied().collect();
    change_at(&twice, lp.len(), sample_rate)
}

/// How much `signal` (mono at `sample_rate`) changes across sample `seam_at` (a loop's
/// seam, a join between generated windows), next to how much it changes elsewhere.
pub fn change_at(signal: &[f32], seam_at: usize, sample_rate: u32) -> Result<Seam> {
    let n_fft = (SEAM_FFT_16K * sample_rate as usize / 16_000).next_power_of_two();
    let hop = n_fft / 2;
    let w = ((LEVEL_WINDOW_S * f64::from(sample_rate)) as usize).max(1);
    if seam_at < n_fft.max(w) || seam_at + n_fft.max(w) > signal.len() {
        return Err(Error::invalid(format!(
            "a change at sample {seam_at} of {} cannot be measured (too near an end)",
            signal.len()
        )));
    }
    let stft = Stft::new(StftConfig {
        center: false,
        ..StftConfig::new(n_fft, hop)
    })?;
    let power = stft.power(signal)?;
    let log: Vec<Vec<f64>> = power
        .frames()
        .map(|f| f.iter().map(|p| 10.0 * (p + 1e-10).log10()).collect())
        .collect();
    let flux = |a: &[f64], b: &[f64]| {
        (a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64).sqrt()
    };
    // Frames ending before the seam and starting after it.
    let before = (seam_at - n_fft) / hop;
    let after = seam_at.div_ceil(hop);
    let spectral_db = flux(&log[before], &log[after]);
    let spacing = after - before;
    let others: Vec<f64> = (0..log.len().saturating_sub(spacing))
        .filter(|&t| t + spacing < log.len() && (t + spacing <= before || t >= after))
        .map(|t| flux(&log[t], &log[t + spacing]))
        .collect();
    let level = |from: usize| {
        let e = signal[from..from + w]
            .iter()
            .map(|v| f64::from(*v).powi(2))
            .sum::<f64>()
            / w as f64;
        10.0 * (e + 1e-12).log10()
    };
    let level_db = (level(seam_at - w) - level(seam_at)).abs();
    let level_others: Vec<f64> = (0..signal.len() / w - 1)
        .map(|k| k * w)
        .filter(|&s| s + 2 * w <= signal.len() && (s + 2 * w <= seam_at - w || s >= seam_at + w))
        .map(|s| (level(s) - level(s + w)).abs())
        .collect();
    Ok(Seam {
        spectral_db,
        spectral_median_db: percentile(&others, 0.5),
        spectral_p99_db: percentile(&others, 0.99),
        level_db,
        level_median_db: percentile(&level_others, 0.5),
        level_p99_db: percentile(&level_others, 0.99),
    })
}

fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::noise::NoiseRng;

    /// Room tone: noise through a slowly varying one-pole filter, a hum, and a level that
    /// drifts, so the start and the end of the recording differ.
    fn room_tone(len: usize) -> Vec<f32> {
        let noise = NoiseRng::new(3).normals(len);
        let mut y = 0f32;
        (0..len)
            .map(|i| {
                let t = i as f32 / 16_000.0;
                let a = 0.6 + 0.35 * (t * 0.7).sin();
                y = a * y + (1.0 - a) * noise[i];
                let level = 0.3 + 0.2 * (t * 0.4).cos();
                level * y + 0.05 * (std::f32::consts::TAU * 120.0 * t).sin()
            })
            .collect()
    }

    #[test]
    fn a_crossfaded_loop_hides_its_seam_and_a_cut_does_not() {
        let sound = room_tone(16_000 * 6);
        let len = 16_000 * 4;
        let looped = make_loop(&sound, len, 16_000 / 2).unwrap();
        assert_eq!(looped.len(), len);
        let s = seam(&looped, 16_000).unwrap();
        assert!(s.inaudible(), "{s:?}");
        // A plain cut of a sound whose end differs from its start jumps at the seam.
        let mut cut = sound[..len].to_vec();
        for (i, v) in cut.iter_mut().enumerate().take(len / 2) {
            *v *= 0.2 + 0.8 * i as f32 / (len / 2) as f32;
        }
        let s = seam(&cut, 16_000).unwrap();
        assert!(!s.inaudible(), "{s:?}");
        assert!(s.level_db > s.level_p99_db, "{s:?}");
    }

    #[test]
    fn short_sounds_are_extended_then_looped() {
        let sound = room_tone(16_000);
        let extended = extend(&sound, 16_000 * 3, 1600).unwrap();
        assert!(extended.len() >= 16_000 * 3);
        assert_eq!(&extended[..14_400], &sound[..14_400]);
        let looped = make_loop(&sound, 16_000 * 5 / 2, 1600).unwrap();
        assert_eq!(looped.len(), 40_000);
        assert!(seam(&looped, 16_000).unwrap().inaudible());
        assert!(make_loop(&sound, 100, 0).is_err());
        assert!(extend(&sound[..10], 100, 8).is_err());
        assert!(seam(&sound[..100], 16_000).is_err());
    }
}
