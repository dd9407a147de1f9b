//! Vocoder-free inversion: mel magnitudes back to a linear STFT magnitude, and fast
//! Griffin-Lim phase reconstruction to a waveform.
//!
//! It is the fallback when no neural vocoder is loaded and the oracle the vocoder tests
//! measure against. The mel inversion solves the same non-negative least squares problem as
//! `librosa.feature.inverse.mel_to_stft` (by accelerated projected gradient rather than
//! L-BFGS-B, starting from the clamped pseudo-inverse, so the minimiser is the same but the
//! iterates are not). Griffin-Lim follows `librosa.griffinlim` (momentum 0.99), with a seeded
//! random, a zero or a phase-advance initial phase so results are reproducible.

use crate::error::{Error, Result};

use super::mel::{MelExtractor, MelFilterbank, MelSpectrogram};
use super::stft::{Complex64, ComplexSpectrogram, MagnitudeSpectrogram, Spectrogram, Stft};

/// Initial phase estimate for Griffin-Lim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseInit {
    /// All phases zero (librosa `init=None`).
    Zero,
    /// Uniform random phases from a SplitMix64 generator with this seed (librosa
    /// `init="random"`, made reproducible).
    Random {
        /// Generator seed.
        seed: u64,
    },
    /// Each bin's phase advancing by `2 pi k hop / n_fft` per frame, as a steady sinusoid at
    /// the bin's centre frequency would: a consistent starting point for tonal sounds, where
    /// zero phase starts every frame in step (a buzz) and random phase starts from noise.
    Advance,
}

/// Parameters of the phase reconstruction. The default is librosa's (32 iterations, momentum
/// 0.99) with a random initial phase from seed 0, and 200 NNLS iterations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GriffinLimConfig {
    /// Griffin-Lim iterations (librosa's default: 32).
    pub n_iter: usize,
    /// Momentum of the fast Griffin-Lim update (librosa's default: 0.99; 0 is classic GL).
    pub momentum: f64,
    /// Initial phase.
    pub init: PhaseInit,
    /// Projected-gradient iterations of the mel-to-linear NNLS in [`log_mel_to_audio`].
    pub nnls_iterations: usize,
}

impl GriffinLimConfig {
    /// librosa's defaults, seeded.
    pub const LIBROSA: Self = Self {
        n_iter: 32,
        momentum: 0.99,
        init: PhaseInit::Random { seed: 0 },
        nnls_iterations: 200,
    };
}

impl Default for GriffinLimConfig {
    fn default() -> Self {
        Self::LIBROSA
    }
}

/// Reconstruct a waveform whose STFT magnitude approximates `magnitude` (frames x bins of
/// `stft`'s layout). `length` is the output length in samples; by default the length the
/// inverse STFT gives: `hop_length * (n_frames - 1)` for centred frames, plus `n_fft`
/// otherwise.
pub fn griffin_lim(
    stft: &Stft,
    magnitude: &MagnitudeSpectrogram,
    config: &GriffinLimConfig,
    length: Option<usize>,
) -> Result<Vec<f32>> {
    let n_bins = stft.config().n_bins();
    if magnitude.n_bins != n_bins || magnitude.data.len() != magnitude.n_frames * n_bins {
        return Err(Error::invalid(format!(
            "Griffin-Lim expects {n_bins} bins per frame, got a {}x{} spectrogram of {} values",
            magnitude.n_frames,
            magnitude.n_bins,
            magnitude.data.len()
        )));
    }
    if magnitude.n_frames == 0 {
        return Err(Error::invalid("Griffin-Lim of an empty spectrogram"));
    }
    if magnitude.data.iter().any(|m| !(m.is_finite() && *m >= 0.0)) {
        return Err(Error::invalid(
            "Griffin-Lim magnitudes must be finite and non-negative",
        ));
    }
    if !(config.momentum.is_finite() && config.momentum >= 0.0) {
        return Err(Error::invalid(format!(
            "Griffin-Lim momentum must be finite and >= 0, got {}",
            config.momentum
        )));
    }
    let layout = stft.config();
    let default_length =
        layout.hop_length * (magnitude.n_frames - 1) + if layout.center { 0 } else { layout.n_fft };
    let length = length.unwrap_or(default_length);
    if layout.n_frames(length.max(1)) != magnitude.n_frames {
        return Err(Error::invalid(format!(
            "{length} samples do not give the spectrogram's {} frames",
            magnitude.n_frames
        )));
    }
    let signal_len = length.max(1);

    let mut rng = SplitMix64(match config.init {
        PhaseInit::Random { seed } => seed,
        PhaseInit::Zero | PhaseInit::Advance => 0,
    });
    let mut angles = ComplexSpectrogram {
        n_frames: magnitude.n_frames,
        n_bins,
        data: Vec::with_capacity(magnitude.data.len()),
    };
    for (t, frame) in magnitude.frames().enumerate() {
        for (k, &m) in frame.iter().enumerate() {
            angles.data.push(match config.init {
                PhaseInit::Zero => Complex64::new(m, 0.0),
                PhaseInit::Random { .. } => {
                    Complex64::from_polar(m, std::f64::consts::TAU * rng.next_f64())
                }
                PhaseInit::Advance => {
                    // In whole samples modulo n_fft, so the angle stays exact for long signals.
                    let cycles = (k * layout.hop_length * t) % layout.n_fft;
                    Complex64::from_polar(
                        m,
                        std::f64::consts::TAU * cycles as f64 / layout.n_fft as f64,
                    )
                }
            });
        }
    }
    refine(stft, magnitude, angles, config, signal_len, length)
}

/// Griffin-Lim from a given phase: each bin starts at `magnitude` with the phase of the same
/// bin of `phase` (the STFT of a related signal, in `stft`'s layout and of the same shape),
/// then runs `config.n_iter` iterations (0 keeps the given phase as it is). A recording's
/// own phase is a far better start than a random one for a spectrogram derived from it.
pub fn griffin_lim_from_phase(
    stft: &Stft,
    magnitude: &MagnitudeSpectrogram,
    phase: &ComplexSpectrogram,
    config: &GriffinLimConfig,
    length: usize,
) -> Result<Vec<f32>> {
    if phase.n_frames != magnitude.n_frames
        || phase.n_bins != magnitude.n_bins
        || stft.config().n_bins() != magnitude.n_bins
    {
        return Err(Error::invalid(format!(
            "the phase ({}x{}) and the magnitude ({}x{}) spectrograms differ in shape",
            phase.n_frames, phase.n_bins, magnitude.n_frames, magnitude.n_bins
        )));
    }
    if stft.config().n_frames(length.max(1)) != magnitude.n_frames {
        return Err(Error::invalid(format!(
            "{length} samples do not give the spectrogram's {} frames",
            magnitude.n_frames
        )));
    }
    let angles = ComplexSpectrogram {
        n_frames: magnitude.n_frames,
        n_bins: magnitude.n_bins,
        data: magnitude
            .data
            .iter()
            .zip(&phase.data)
            .map(|(&m, p)| {
                let norm = p.norm();
                if norm > 0.0 {
                    *p * (m / norm)
                } else {
                    Complex64::new(m, 0.0)
                }
            })
            .collect(),
    };
    refine(stft, magnitude, angles, config, length.max(1), length)
}

/// The fast Griffin-Lim iterations from `angles`, then the inverse STFT cut to `length`.
fn refine(
    stft: &Stft,
    magnitude: &MagnitudeSpectrogram,
    mut angles: ComplexSpectrogram,
    config: &GriffinLimConfig,
    signal_len: usize,
    length: usize,
) -> Result<Vec<f32>> {
    let decay = config.momentum / (1.0 + config.momentum);
    let mut previous: Option<ComplexSpectrogram> = None;
    for _ in 0..config.n_iter {
        let inverse = stft.inverse(&angles, Some(signal_len))?;
        let rebuilt = stft.forward(&inverse)?;
        for (i, (a, &r)) in angles.data.iter_mut().zip(&rebuilt.data).enumerate() {
            let update = match &previous {
                Some(p) => r - p.data[i] * decay,
                None => r,
            };
            *a = update * (magnitude.data[i] / (update.norm() + f64::MIN_POSITIVE));
        }
        previous = Some(rebuilt);
    }
    let mut out = stft.inverse(&angles, Some(signal_len))?;
    out.truncate(length);
    Ok(out.into_iter().map(|x| x as f32).collect())
}

/// Linear STFT magnitudes `X >= 0` minimising `|mel_basis @ X - mel|^2` frame by frame
/// (librosa's `mel_to_stft` with `power=1`). `mel` holds linear mel magnitudes, not logs.
/// Solved by FISTA (accelerated projected gradient) for `iterations` steps from the clamped
/// pseudo-inverse solution.
pub fn mel_to_stft_magnitude(
    filterbank: &MelFilterbank,
    mel: &MelSpectrogram,
    iterations: usize,
) -> Result<MagnitudeSpectrogram> {
    let (n_mels, n_bins) = (filterbank.n_mels(), filterbank.n_bins());
    if mel.n_mels != n_mels || mel.data.len() != mel.n_frames * n_mels {
        return Err(Error::invalid(format!(
            "mel spectrogram has {} bands ({} values for {} frames), the filterbank {n_mels}",
            mel.n_mels,
            mel.data.len(),
            mel.n_frames
        )));
    }
    if mel.data.iter().any(|v| !v.is_finite()) {
        return Err(Error::invalid(
            "mel spectrogram contains NaN or infinite values",
        ));
    }

    // Pseudo-inverse through the normal equations of the (full row rank) basis:
    // pinv(A) b = A^T (A A^T)^-1 b, with a tiny ridge for bands that are empty.
    let gram = gram_matrix(filterbank);
    let max_diag = (0..n_mels)
        .map(|i| gram[i * n_mels + i])
        .fold(0.0, f64::max);
    let cholesky = cholesky(&gram, n_mels, 1e-12 * max_diag.max(f64::MIN_POSITIVE))?;
    let step = 1.0 / (1.01 * largest_eigenvalue(&gram, n_mels)).max(f64::MIN_POSITIVE);

    let mut out = vec![0.0; mel.n_frames * n_bins];
    let mut target = vec![0.0; n_mels];
    let mut dual = vec![0.0; n_mels];
    let mut residual = vec![0.0; n_mels];
    let mut gradient = vec![0.0; n_bins];
    let mut lookahead = vec![0.0; n_bins];
    for (frame, x) in mel.frames().zip(out.chunks_exact_mut(n_bins)) {
        for (t, &v) in target.iter_mut().zip(frame) {
            *t = v as f64;
        }
        cholesky_solve(&cholesky, n_mels, &target, &mut dual);
        filterbank.apply_transpose(&dual, x);
        for v in x.iter_mut() {
            *v = v.max(0.0);
        }
        lookahead.copy_from_slice(x);
        let mut momentum = 1.0f64;
        for _ in 0..iterations {
            filterbank.apply(&lookahead, &mut residual);
            for (r, &t) in residual.iter_mut().zip(&target) {
                *r -= t;
            }
            filterbank.apply_transpose(&residual, &mut gradient);
            let next_momentum = 0.5 * (1.0 + (1.0 + 4.0 * momentum * momentum).sqrt());
            let blend = (momentum - 1.0) / next_momentum;
            for ((xi, zi), &g) in x.iter_mut().zip(lookahead.iter_mut()).zip(&gradient) {
                let updated = (*zi - step * g).max(0.0);
                *zi = updated + blend * (updated - *xi);
                *xi = updated;
            }
            momentum = next_momentum;
        }
    }
    Ok(Spectrogram {
        n_frames: mel.n_frames,
        n_bins,
        data: out,
    })
}

/// Waveform from an AudioLDM-style log-mel (`ln` of mel magnitudes, as
/// [`MelExtractor::log_mel`] returns): `exp`, [`mel_to_stft_magnitude`], then
/// [`griffin_lim`] on the extractor's STFT. Detail below the 1e-5 log floor is lost.
pub fn log_mel_to_audio(
    extractor: &MelExtractor,
    log_mel: &MelSpectrogram,
    config: &GriffinLimConfig,
) -> Result<Vec<f32>> {
    let mel = MelSpectrogram {
        data: log_mel.data.iter().map(|v| v.exp()).collect(),
        ..log_mel.clone()
    };
    let magnitude = mel_to_stft_magnitude(extractor.filterbank(), &mel, config.nnls_iterations)?;
    griffin_lim(extractor.stft(), &magnitude, config, None)
}

/// Spectral convergence `||S - S_est||_F / ||S||_F` of two magnitude spectrograms of the
/// same shape (frames beyond the shorter one are ignored). 0 is a perfect match.
pub fn spectral_convergence(
    reference: &MagnitudeSpectrogram,
    estimate: &MagnitudeSpectrogram,
) -> Result<f64> {
    if reference.n_bins != estimate.n_bins {
        return Err(Error::invalid(
            "spectral convergence of different bin counts",
        ));
    }
    let (mut diff, mut norm) = (0.0, 0.0);
    for (&r, &e) in reference.data.iter().zip(&estimate.data) {
        diff += (r - e) * (r - e);
        norm += r * r;
    }
    if norm == 0.0 {
        return Err(Error::invalid(
            "spectral convergence against a silent reference",
        ));
    }
    Ok((diff / norm).sqrt())
}

/// `A A^T` of the filterbank, `n_mels x n_mels`.
fn gram_matrix(filterbank: &MelFilterbank) -> Vec<f64> {
    let n = filterbank.n_mels();
    let weights = filterbank.weights();
    let n_bins = filterbank.n_bins();
    let mut gram = vec![0.0; n * n];
    for i in 0..n {
        let a = &weights[i * n_bins..(i + 1) * n_bins];
        for j in 0..=i {
            let b = &weights[j * n_bins..(j + 1) * n_bins];
            let dot: f64 = a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum();
            gram[i * n + j] = dot;
            gram[j * n + i] = dot;
        }
    }
    gram
}

/// Lower Cholesky factor of `matrix + ridge * I` (row-major `n x n`).
fn cholesky(matrix: &[f64], n: usize, ridge: f64) -> Result<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut sum = matrix[i * n + j] + if i == j { ridge } else { 0.0 };
            for k in 0..j {
                sum -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if sum <= 0.0 || !sum.is_finite() {
                    return Err(Error::invalid(
                        "mel basis Gram matrix is not positive definite",
                    ));
                }
                l[i * n + i] = sum.sqrt();
            } else {
                l[i * n + j] = sum / l[j * n + j];
            }
        }
    }
    Ok(l)
}

/// Solve `L L^T x = b` given the Cholesky factor `L`.
fn cholesky_solve(l: &[f64], n: usize, b: &[f64], x: &mut [f64]) {
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * x[k]).sum();
        x[i] = (b[i] - s) / l[i * n + i];
    }
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k * n + i] * x[k]).sum();
        x[i] = (x[i] - s) / l[i * n + i];
    }
}

/// Largest eigenvalue of a symmetric positive semi-definite matrix, by power iteration.
fn largest_eigenvalue(matrix: &[f64], n: usize) -> f64 {
    let mut v = vec![1.0 / (n as f64).sqrt(); n];
    let mut w = vec![0.0; n];
    let mut lambda = 0.0;
    for _ in 0..200 {
        for (i, wi) in w.iter_mut().enumerate() {
            *wi = matrix[i * n..(i + 1) * n]
                .iter()
                .zip(&v)
                .map(|(a, b)| a * b)
                .sum();
        }
        let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm == 0.0 {
            return 0.0;
        }
        lambda = norm;
        for (vi, wi) in v.iter_mut().zip(&w) {
            *vi = wi / norm;
        }
    }
    lambda
}

/// SplitMix64: a tiny, well-mixed generator for reproducible initial phases.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::stft::StftConfig;
    use std::f64::consts::PI;

    /// 1 s at 16 kHz: a 440 Hz tone plus a linear chirp 300 Hz -> 3.3 kHz.
    fn tone_and_chirp() -> Vec<f32> {
        (0..16000)
            .map(|i| {
                let t = i as f64 / 16000.0;
                (0.3 * (2.0 * PI * 440.0 * t).sin()
                    + 0.3 * (2.0 * PI * (300.0 * t + 1500.0 * t * t)).sin()) as f32
            })
            .collect()
    }

    #[test]
    fn griffin_lim_reconstructs_tone_and_chirp() {
        let stft = Stft::new(StftConfig::new(1024, 256)).unwrap();
        let x = tone_and_chirp();
        let target = stft.magnitude(&x).unwrap();
        let config = GriffinLimConfig::default();
        let y = griffin_lim(&stft, &target, &config, Some(x.len())).unwrap();
        assert_eq!(y.len(), x.len());
        // Fast Griffin-Lim with 32 iterations lands near 0.08 on this signal.
        let sc = spectral_convergence(&target, &stft.magnitude(&y).unwrap()).unwrap();
        assert!(sc < 0.1, "spectral convergence {sc}");
        // Deterministic: the same seed gives the same waveform.
        assert_eq!(
            y,
            griffin_lim(&stft, &target, &config, Some(x.len())).unwrap()
        );
        let zero = GriffinLimConfig {
            init: PhaseInit::Zero,
            ..config
        };
        let y0 = griffin_lim(&stft, &target, &zero, Some(x.len())).unwrap();
        let sc0 = spectral_convergence(&target, &stft.magnitude(&y0).unwrap()).unwrap();
        assert!(sc0 < 0.15, "zero-phase spectral convergence {sc0}");
        let advance = GriffinLimConfig {
            init: PhaseInit::Advance,
            ..config
        };
        let ya = griffin_lim(&stft, &target, &advance, Some(x.len())).unwrap();
        let sca = spectral_convergence(&target, &stft.magnitude(&ya).unwrap()).unwrap();
        assert!(sca < 0.15, "phase-advance spectral convergence {sca}");
        eprintln!("spectral convergence: random {sc}, zero {sc0}, advance {sca}");
    }

    #[test]
    fn nnls_inverts_the_mel_basis() {
        let extractor = MelExtractor::audioldm().unwrap();
        let x = tone_and_chirp();
        let magnitude = extractor.stft().magnitude(&x).unwrap();
        let mel = extractor.mel_magnitude(&x).unwrap();
        let recovered = mel_to_stft_magnitude(extractor.filterbank(), &mel, 200).unwrap();
        assert!(recovered.data.iter().all(|&v| v >= 0.0));
        // The recovered magnitudes reproduce the mel spectrogram closely.
        let remapped = extractor
            .filterbank()
            .apply_spectrogram(&recovered)
            .unwrap();
        let (mut err, mut norm) = (0.0, 0.0);
        for (&r, &m) in remapped.iter().zip(&mel.data) {
            err += (r - m as f64).powi(2);
            norm += (m as f64).powi(2);
        }
        let rel = (err / norm).sqrt();
        assert!(rel < 1e-2, "mel residual {rel}");
        assert_eq!(recovered.n_frames, magnitude.n_frames);
    }

    #[test]
    fn log_mel_round_trip_sounds_like_the_input() {
        let extractor = MelExtractor::audioldm().unwrap();
        let x = tone_and_chirp();
        let log_mel = extractor.log_mel(&x).unwrap();
        let y = log_mel_to_audio(&extractor, &log_mel, &GriffinLimConfig::default()).unwrap();
        assert_eq!(y.len(), 16000);
        let peak = y.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(peak.is_finite() && peak > 0.1 && peak < 1.5, "peak {peak}");
        let clipped: Vec<f32> = y.iter().map(|v| v.clamp(-1.0, 1.0)).collect();
        let a = extractor.mel_magnitude(&x).unwrap();
        let b = extractor.mel_magnitude(&clipped).unwrap();
        let to_spec = |m: &MelSpectrogram| Spectrogram {
            n_frames: m.n_frames,
            n_bins: m.n_mels,
            data: m.data.iter().map(|&v| v as f64).collect(),
        };
        let sc = spectral_convergence(&to_spec(&a), &to_spec(&b)).unwrap();
        assert!(sc < 0.2, "mel spectral convergence {sc}");
    }

    #[test]
    fn invalid_inputs_are_rejected() {
        let stft = Stft::new(StftConfig::new(64, 16)).unwrap();
        let config = GriffinLimConfig::default();
        let empty = Spectrogram {
            n_frames: 0,
            n_bins: 33,
            data: vec![],
        };
        assert!(griffin_lim(&stft, &empty, &config, None).is_err());
        let wrong = Spectrogram {
            n_frames: 1,
            n_bins: 10,
            data: vec![1.0; 10],
        };
        assert!(griffin_lim(&stft, &wrong, &config, None).is_err());
        let negative = Spectrogram {
            n_frames: 1,
            n_bins: 33,
            data: vec![-1.0; 33],
        };
        assert!(griffin_lim(&stft, &negative, &config, None).is_err());
        let one = Spectrogram {
            n_frames: 1,
            n_bins: 33,
            data: vec![1.0; 33],
        };
        assert_eq!(griffin_lim(&stft, &one, &config, None).unwrap().len(), 0);
        assert_eq!(griffin_lim(&stft, &one, &config, Some(1)).unwrap().len(), 1);
        assert!(griffin_lim(&stft, &one, &config, Some(1000)).is_err());
        let uncentred = Stft::new(StftConfig {
            center: false,
            ..StftConfig::new(64, 16)
        })
        .unwrap();
        assert_eq!(
            griffin_lim(&uncentred, &one, &config, None).unwrap().len(),
            64
        );
        let nan_momentum = GriffinLimConfig {
            momentum: f64::NAN,
            ..config
        };
        assert!(griffin_lim(&stft, &one, &nan_momentum, None).is_err());
        let silent = Spectrogram {
            n_frames: 1,
            n_bins: 33,
            data: vec![0.0; 33],
        };
        assert!(spectral_convergence(&silent, &silent).is_err());
        let bank = MelFilterbank::new(16000.0, 64, 8, 0.0, 8000.0).unwrap();
        let mel = MelSpectrogram {
            n_mels: 8,
            n_frames: 1,
            hop_seconds: 0.01,
            data: vec![f32::NAN; 8],
        };
        assert!(mel_to_stft_magnitude(&bank, &mel, 10).is_err());
    }
}
