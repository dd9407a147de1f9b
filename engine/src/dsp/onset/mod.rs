//! Onset strength and onset detection, ported from librosa 0.11 (`onset.onset_strength`,
//! `onset.onset_detect`, `util.peak_pick`).
//!
//! The onset envelope says when something starts to sound; the editor compares it with
//! visual events to score and nudge audio-video sync, and samples it at video frame times
//! with [`OnsetEnvelope::envelope_at`]. The computation follows librosa step by step: a
//! centred, zero-padded power mel spectrogram, `power_to_db` with an 80 dB floor, positive
//! spectral flux averaged over bands, the envelope shifted to account for frame centring, and
//! the greedy peak picker with windows derived from the sample rate and hop.

use crate::audio::AudioBuffer;
use crate::error::{Error, Result};

use super::mel::MelFilterbank;
use super::stft::{PadMode, Stft, StftConfig};

mod peak;

pub use peak::{PeakPickParams, peak_pick};

/// Parameters of onset strength and detection; [`Default`] gives librosa's defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OnsetConfig {
    /// FFT size of the mel spectrogram (librosa: 2048).
    pub n_fft: usize,
    /// Hop between envelope frames in samples (librosa: 512).
    pub hop_length: usize,
    /// Number of mel bands (librosa: 128).
    pub n_mels: usize,
    /// Lowest mel filter edge in Hz (librosa: 0).
    pub fmin: f64,
    /// Highest mel filter edge in Hz; `None` is half the sample rate (librosa's default).
    pub fmax: Option<f64>,
    /// Exponent applied to STFT magnitudes before the mel projection (librosa: 2, power).
    pub power: f64,
    /// Frames between the spectra whose difference is the flux (librosa: 1).
    pub lag: usize,
    /// Width in bands of the maximum filter applied to the reference spectrum; 1 disables it
    /// (librosa: 1).
    pub max_size: usize,
    /// Shift the envelope by `n_fft / (2 * hop)` frames to undo the delay of centred frames,
    /// then trim it to the spectrogram length (librosa: true). The STFT is centred either way.
    pub center: bool,
    /// Remove the DC component with `lfilter([1, -1], [1, -0.99])` (librosa: false).
    pub detrend: bool,
    /// Floor of the power before taking decibels (librosa `power_to_db` `amin`: 1e-10).
    pub amin: f64,
    /// Decibels below the spectrogram's maximum at which values are clamped; `None` keeps
    /// all (librosa `power_to_db` `top_db`: 80).
    pub top_db: Option<f64>,
    /// Rescale the envelope to [0, 1] before peak picking (librosa `normalize`: true).
    pub normalize: bool,
    /// Amount by which a peak must exceed the local mean of the (normalised) envelope
    /// (librosa: 0.07).
    pub delta: f64,
    /// Frames to skip after a detection; `None` is librosa's `0.03 * sr // hop` (30 ms).
    pub wait: Option<usize>,
}

impl Default for OnsetConfig {
    fn default() -> Self {
        Self {
            n_fft: 2048,
            hop_length: 512,
            n_mels: 128,
            fmin: 0.0,
            fmax: None,
            power: 2.0,
            lag: 1,
            max_size: 1,
            center: true,
            detrend: false,
            amin: 1e-10,
            top_db: Some(80.0),
            normalize: true,
            delta: 0.07,
            wait: None,
        }
    }
}

impl OnsetConfig {
    /// A finer time grid for syncing to video: the hop is the largest power of two not above
    /// 4 ms at `sample_rate` (64 samples at 16 kHz, 128 at 44.1 or 48 kHz), `n_fft = 4 * hop`
    /// and 64 bands; everything else as librosa. librosa's defaults step 23 ms at 22.05 kHz
    /// and 32 ms at 16 kHz, coarser than a video frame.
    pub fn for_video_sync(sample_rate: u32) -> Self {
        let max_hop = (sample_rate as f64 * 0.004).max(1.0) as usize;
        let hop = 1usize << (usize::BITS - 1 - max_hop.leading_zeros());
        Self {
            n_fft: 4 * hop,
            hop_length: hop,
            n_mels: 64,
            ..Self::default()
        }
    }

    fn validate(&self) -> Result<()> {
        let fail = |what: &str| Err(Error::invalid(format!("onset config: {what}")));
        if self.n_fft < 2 || self.hop_length == 0 || self.n_mels == 0 {
            return fail("n_fft must be >= 2, hop_length and n_mels >= 1");
        }
        if self.lag == 0 || self.max_size == 0 {
            return fail("lag and max_size must be >= 1");
        }
        if !(self.power.is_finite() && self.power > 0.0) {
            return fail("power must be finite and positive");
        }
        if !(self.amin.is_finite() && self.amin > 0.0) {
            return fail("amin must be finite and positive");
        }
        if self.top_db.is_some_and(|t| !(t.is_finite() && t >= 0.0)) {
            return fail("top_db must be finite and non-negative");
        }
        if !(self.delta.is_finite() && self.delta >= 0.0) {
            return fail("delta must be finite and non-negative");
        }
        Ok(())
    }
}

/// Onset strength per frame.
#[derive(Debug, Clone, PartialEq)]
pub struct OnsetEnvelope {
    /// Sample rate of the analysed audio.
    pub sample_rate: u32,
    /// Samples between frames; frame `i` is at `i * hop_length / sample_rate` seconds.
    pub hop_length: usize,
    /// Strength of each frame (mean positive dB flux).
    pub values: Vec<f64>,
}

impl OnsetEnvelope {
    /// Time of frame `i` in seconds.
    pub fn frame_time_s(&self, i: usize) -> f64 {
        i as f64 * self.hop_length as f64 / self.sample_rate as f64
    }

    /// The envelope at arbitrary times (e.g. video frame times), by linear interpolation
    /// between frames; times before the first or after the last frame take the edge value.
    /// An empty envelope gives zeros; non-finite times are rejected.
    pub fn envelope_at(&self, times_s: &[f64]) -> Result<Vec<f64>> {
        if let Some(t) = times_s.iter().find(|t| !t.is_finite()) {
            return Err(Error::invalid(format!("envelope time {t} is not finite")));
        }
        let n = self.values.len();
        if n == 0 {
            return Ok(vec![0.0; times_s.len()]);
        }
        let frames_per_second = self.sample_rate as f64 / self.hop_length as f64;
        Ok(times_s
            .iter()
            .map(|&t| {
                let position = t * frames_per_second;
                if position <= 0.0 {
                    self.values[0]
                } else if position >= (n - 1) as f64 {
                    self.values[n - 1]
                } else {
                    let i = position.floor() as usize;
                    let frac = position - i as f64;
                    self.values[i] + frac * (self.values[i + 1] - self.values[i])
                }
            })
            .collect())
    }
}

/// Detected onsets.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Onsets {
    /// Envelope frame of each onset, ascending.
    pub frames: Vec<usize>,
    /// Time of each onset in seconds (`frame * hop / sample_rate`).
    pub times_s: Vec<f64>,
}

/// Onset analysis for one sample rate and [`OnsetConfig`]; the STFT and filterbank are built
/// once.
#[derive(Debug, Clone)]
pub struct OnsetDetector {
    config: OnsetConfig,
    sample_rate: u32,
    stft: Stft,
    filterbank: MelFilterbank,
}

impl OnsetDetector {
    /// Plan the analysis of `sample_rate` audio.
    pub fn new(sample_rate: u32, config: OnsetConfig) -> Result<Self> {
        config.validate()?;
        if sample_rate == 0 {
            return Err(Error::invalid("onset sample rate must be positive"));
        }
        let stft = Stft::new(StftConfig {
            n_fft: config.n_fft,
            hop_length: config.hop_length,
            win_length: config.n_fft,
            center: true,
            pad_mode: PadMode::Zero,
        })?;
        let fmax = config.fmax.unwrap_or(0.5 * sample_rate as f64);
        let filterbank = MelFilterbank::new(
            sample_rate as f64,
            config.n_fft,
            config.n_mels,
            config.fmin,
            fmax,
        )?;
        Ok(Self {
            config,
            sample_rate,
            stft,
            filterbank,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &OnsetConfig {
        &self.config
    }

    /// librosa's `onset.onset_strength(y=samples, sr=sample_rate)` with this configuration.
    pub fn strength(&self, samples: &[f32]) -> Result<OnsetEnvelope> {
        if samples.iter().any(|x| !x.is_finite()) {
            return Err(Error::invalid("audio contains NaN or infinite samples"));
        }
        let cfg = &self.config;
        let spectrum = self.stft.forward(samples)?;
        let (n_frames, n_mels) = (spectrum.n_frames, cfg.n_mels);

        // Power mel spectrogram in dB, frame-major.
        let mut power = vec![0.0; spectrum.n_bins];
        let mut db = vec![0.0; n_frames * n_mels];
        for (frame, out) in spectrum.frames().zip(db.chunks_exact_mut(n_mels)) {
            for (p, c) in power.iter_mut().zip(frame) {
                *p = if cfg.power == 2.0 {
                    c.norm_sqr()
                } else {
                    c.norm().powf(cfg.power)
                };
            }
            self.filterbank.apply(&power, out);
        }
        // power_to_db(ref=1.0): the reference term 10 log10(max(amin, 1)) is 0.
        for v in &mut db {
            *v = 10.0 * v.max(cfg.amin).log10();
        }
        if let Some(top_db) = cfg.top_db {
            let floor = db.iter().copied().fold(f64::NEG_INFINITY, f64::max) - top_db;
            for v in &mut db {
                *v = v.max(floor);
            }
        }
        let reference = if cfg.max_size == 1 {
            None
        } else {
            Some(maximum_filter_bands(&db, n_mels, cfg.max_size))
        };
        let reference = reference.as_deref().unwrap_or(&db);

        // Mean positive flux, placed after `lag` (+ centring) leading zeros.
        let pad = cfg.lag
            + if cfg.center {
                cfg.n_fft / (2 * cfg.hop_length)
            } else {
                0
            };
        let mut values = vec![0.0; pad];
        for t in 0..n_frames.saturating_sub(cfg.lag) {
            let now = &db[(t + cfg.lag) * n_mels..(t + cfg.lag + 1) * n_mels];
            let before = &reference[t * n_mels..(t + 1) * n_mels];
            let sum: f64 = now.iter().zip(before).map(|(a, b)| (a - b).max(0.0)).sum();
            values.push(sum / n_mels as f64);
        }
        if cfg.detrend {
            let (mut previous_in, mut previous_out) = (0.0, 0.0);
            for v in &mut values {
                let out = *v - previous_in + 0.99 * previous_out;
                previous_in = *v;
                previous_out = out;
                *v = out;
            }
        }
        if cfg.center {
            values.truncate(n_frames);
        }
        Ok(OnsetEnvelope {
            sample_rate: self.sample_rate,
            hop_length: cfg.hop_length,
            values,
        })
    }

    /// [`OnsetDetector::strength`] of a buffer at this detector's rate, averaged to mono.
    pub fn strength_buffer(&self, audio: &AudioBuffer) -> Result<OnsetEnvelope> {
        if audio.sample_rate != self.sample_rate {
            return Err(Error::invalid(format!(
                "onset detector expects {} Hz audio, got {} Hz",
                self.sample_rate, audio.sample_rate
            )));
        }
        if audio.channels == 0 {
            return Err(Error::invalid("audio buffer has zero channels"));
        }
        self.strength(&audio.to_mono())
    }

    /// librosa's `onset.onset_detect(onset_envelope=envelope, sr, hop_length, delta, wait)`.
    pub fn detect(&self, envelope: &OnsetEnvelope) -> Onsets {
        onset_detect(envelope, &self.config)
    }
}

/// librosa's `onset.onset_detect` on a computed envelope: optional [0, 1] normalisation,
/// then [`peak_pick`] with the windows of [`PeakPickParams::librosa`]. An all-zero or
/// non-finite envelope has no onsets.
pub fn onset_detect(envelope: &OnsetEnvelope, config: &OnsetConfig) -> Onsets {
    let mut x = envelope.values.clone();
    if config.normalize && !x.is_empty() {
        let min = x.iter().copied().fold(f64::INFINITY, f64::min);
        for v in &mut x {
            *v -= min;
        }
        let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let scale = max + f64::MIN_POSITIVE;
        for v in &mut x {
            *v /= scale;
        }
    }
    if x.iter().all(|&v| v == 0.0) || x.iter().any(|v| !v.is_finite()) {
        return Onsets::default();
    }
    let params = PeakPickParams::librosa(
        envelope.sample_rate as f64,
        envelope.hop_length,
        config.delta,
        config.wait,
    );
    let frames = peak_pick(&x, &params);
    let times_s = frames.iter().map(|&f| envelope.frame_time_s(f)).collect();
    Onsets { frames, times_s }
}

/// `scipy.ndimage.maximum_filter1d(S, size, axis=bands)` with its default `reflect` edges
/// (`d c b a | a b c d | d c b a`), on a frame-major array of `n_bands` per frame.
fn maximum_filter_bands(values: &[f64], n_bands: usize, size: usize) -> Vec<f64> {
    let mut out = vec![0.0; values.len()];
    let half = (size / 2) as isize;
    for (frame, filtered) in values
        .chunks_exact(n_bands)
        .zip(out.chunks_exact_mut(n_bands))
    {
        for (i, o) in filtered.iter_mut().enumerate() {
            let start = i as isize - half;
            *o = (start..start + size as isize)
                .map(|j| frame[symmetric_index(j, n_bands)])
                .fold(f64::NEG_INFINITY, f64::max);
        }
    }
    out
}

/// Index of position `i` in the half-sample-symmetric extension of a length-`n` array.
fn symmetric_index(i: isize, n: usize) -> usize {
    let period = 2 * n as isize;
    let m = i.rem_euclid(period);
    if m >= n as isize {
        (period - 1 - m) as usize
    } else {
        m as usize
    }
}

#[cfg(test)]
mod tests {
    use super::peak::py_floordiv;
    use super::*;
    use crate::dsp::fixtures;

    #[test]
    fn peak_pick_windows_match_librosa() {
        let p = PeakPickParams::librosa(22050.0, 512, 0.07, None);
        assert_eq!(
            (p.pre_max, p.post_max, p.pre_avg, p.post_avg, p.wait),
            (1, 1, 4, 5, 1)
        );
        let p = PeakPickParams::librosa(16000.0, 512, 0.07, None);
        assert_eq!(
            (p.pre_max, p.post_max, p.pre_avg, p.post_avg, p.wait),
            (0, 1, 3, 4, 0)
        );
        let p = PeakPickParams::librosa(44100.0, 512, 0.07, Some(5));
        assert_eq!(
            (p.pre_max, p.post_max, p.pre_avg, p.post_avg, p.wait),
            (2, 1, 8, 9, 5)
        );
        assert_eq!(py_floordiv(7.0, 2.0), 3.0);
        assert_eq!(py_floordiv(661.5, 512.0), 1.0);
        assert_eq!(py_floordiv(0.0, 512.0), 0.0);
    }

    #[test]
    fn maximum_filter_matches_scipy() {
        let x = [5., 1., 2., 9., 3., 4., 0.];
        assert_eq!(
            maximum_filter_bands(&x, 7, 2),
            vec![5., 5., 2., 9., 9., 4., 4.]
        );
        assert_eq!(
            maximum_filter_bands(&x, 7, 3),
            vec![5., 5., 9., 9., 9., 4., 4.]
        );
        assert_eq!(
            maximum_filter_bands(&x, 7, 4),
            vec![5., 5., 9., 9., 9., 9., 4.]
        );
        assert_eq!(maximum_filter_bands(&[1., 5., 2.], 3, 7), vec![5., 5., 5.]);
    }

    #[test]
    fn envelope_and_onsets_match_librosa() {
        let fx = fixtures::load("onset_librosa.safetensors");
        let input = fx["input"].as_f32();
        let sample_rate = fx["sample_rate"].values[0] as u32;
        let reference = &fx["envelope"].values;
        let detector = OnsetDetector::new(sample_rate, OnsetConfig::default()).unwrap();
        let envelope = detector.strength(&input).unwrap();
        assert_eq!(envelope.values.len(), reference.len());
        let max = reference.iter().copied().fold(0.0, f64::max);
        let err = envelope
            .values
            .iter()
            .zip(reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            err <= 1e-4 * max,
            "envelope max abs error {err:e} (max {max})"
        );

        for (key, delta) in [("onsets_delta_0_07", 0.07), ("onsets_delta_0_3", 0.3)] {
            let config = OnsetConfig {
                delta,
                ..OnsetConfig::default()
            };
            let expected: Vec<usize> = fx[key].values.iter().map(|&f| f as usize).collect();
            // On our envelope and on librosa's own envelope.
            assert_eq!(onset_detect(&envelope, &config).frames, expected, "{key}");
            let theirs = OnsetEnvelope {
                values: reference.clone(),
                ..envelope.clone()
            };
            assert_eq!(onset_detect(&theirs, &config).frames, expected, "{key}");
        }
    }

    /// Silence with short decaying clicks (5 ms noise bursts) at `times`.
    fn clicks(sample_rate: u32, seconds: f64, times: &[f64]) -> Vec<f32> {
        let mut y = vec![0.0f32; (sample_rate as f64 * seconds) as usize];
        let mut seed = 12345u32;
        for &t in times {
            let start = (t * sample_rate as f64).round() as usize;
            let n = (0.005 * sample_rate as f64) as usize;
            for (k, s) in y[start..start + n].iter_mut().enumerate() {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                *s += 0.8 * noise * (-(k as f32) / (0.001 * sample_rate as f32)).exp();
            }
        }
        y
    }

    #[test]
    fn clicks_are_found_within_10_ms() {
        let times = [0.5, 1.25, 2.0, 3.1];
        for sample_rate in [16000, 44100] {
            let detector =
                OnsetDetector::new(sample_rate, OnsetConfig::for_video_sync(sample_rate)).unwrap();
            let y = clicks(sample_rate, 3.5, &times);
            let onsets = detector.detect(&detector.strength(&y).unwrap());
            assert_eq!(
                onsets.times_s.len(),
                times.len(),
                "{sample_rate} Hz: {onsets:?}"
            );
            for (&found, &truth) in onsets.times_s.iter().zip(&times) {
                assert!(
                    (found - truth).abs() <= 0.010,
                    "{sample_rate} Hz: onset at {found} s for a click at {truth} s"
                );
            }
        }
    }

    #[test]
    fn envelope_at_interpolates() {
        let envelope = OnsetEnvelope {
            sample_rate: 100,
            hop_length: 10,
            values: vec![0.0, 1.0, 3.0],
        };
        // Frames at 0, 0.1, 0.2 s.
        let at = envelope
            .envelope_at(&[-1.0, 0.0, 0.05, 0.1, 0.15, 0.2, 5.0])
            .unwrap();
        let expected = [0.0, 0.0, 0.5, 1.0, 2.0, 3.0, 3.0];
        for (a, e) in at.iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{at:?}");
        }
        assert!(envelope.envelope_at(&[f64::NAN]).is_err());
        let empty = OnsetEnvelope {
            values: vec![],
            ..envelope
        };
        assert_eq!(empty.envelope_at(&[0.1]).unwrap(), vec![0.0]);
    }

    #[test]
    fn edge_cases() {
        let detector = OnsetDetector::new(22050, OnsetConfig::default()).unwrap();
        assert!(detector.strength(&[]).is_err());
        assert!(detector.strength(&[f32::NAN]).is_err());
        let one = detector.strength(&[0.5]).unwrap();
        assert_eq!(one.values, vec![0.0]);
        assert!(detector.detect(&one).frames.is_empty());
        let silence = detector.strength(&[0.0; 22050]).unwrap();
        assert!(detector.detect(&silence).frames.is_empty());
        assert!(peak_pick(&[], &PeakPickParams::librosa(22050.0, 512, 0.07, None)).is_empty());

        let bad = |config: OnsetConfig| OnsetDetector::new(22050, config).is_err();
        let d = OnsetConfig::default();
        assert!(bad(OnsetConfig { lag: 0, ..d }));
        assert!(bad(OnsetConfig { hop_length: 0, ..d }));
        assert!(bad(OnsetConfig {
            delta: f64::NAN,
            ..d
        }));
        assert!(bad(OnsetConfig {
            top_db: Some(-1.0),
            ..d
        }));
        assert!(bad(OnsetConfig {
            fmax: Some(0.0),
            ..d
        }));
        assert!(OnsetDetector::new(0, d).is_err());

        let superflux = OnsetDetector::new(
            22050,
            OnsetConfig {
                max_size: 3,
                detrend: true,
                ..d
            },
        );
        let y = clicks(22050, 1.0, &[0.5]);
        assert_eq!(superflux.unwrap().strength(&y).unwrap().values.len(), 44);
        let buffer = AudioBuffer::new(48000, 1, vec![0.0; 10]);
        assert!(detector.strength_buffer(&buffer).is_err());
    }
}
