//! The mel filterbank: a port of `librosa.filters.mel` (float32 weights; slaney mel scale
//! and slaney area normalisation by default, HTK scale and L1 normalisation as options).

use crate::dsp::stft::MagnitudeSpectrogram;
use crate::error::{Error, Result};

/// Slaney scale: Hz per mel in the linear part below 1 kHz.
const SLANEY_F_SP: f64 = 200.0 / 3.0;
/// Slaney scale: where the logarithmic part starts, in Hz and in mel.
const SLANEY_MIN_LOG_HZ: f64 = 1000.0;
const SLANEY_MIN_LOG_MEL: f64 = SLANEY_MIN_LOG_HZ / SLANEY_F_SP;

/// Slaney scale: log step per mel above 1 kHz, `ln(6.4) / 27`.
fn slaney_logstep() -> f64 {
    6.4f64.ln() / 27.0
}

/// Hz to mel on the slaney scale (librosa `hz_to_mel(htk=False)`): linear below 1 kHz,
/// logarithmic above.
pub fn hz_to_mel(hz: f64) -> f64 {
    if hz >= SLANEY_MIN_LOG_HZ {
        SLANEY_MIN_LOG_MEL + (hz / SLANEY_MIN_LOG_HZ).ln() / slaney_logstep()
    } else {
        hz / SLANEY_F_SP
    }
}

/// Mel to Hz on the slaney scale (librosa `mel_to_hz(htk=False)`).
pub fn mel_to_hz(mel: f64) -> f64 {
    if mel >= SLANEY_MIN_LOG_MEL {
        SLANEY_MIN_LOG_HZ * (slaney_logstep() * (mel - SLANEY_MIN_LOG_MEL)).exp()
    } else {
        SLANEY_F_SP * mel
    }
}

/// Where the filter edges lie: `librosa.filters.mel(htk=...)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MelScale {
    /// Slaney's Auditory Toolbox scale, linear below 1 kHz (`htk=False`, librosa's default).
    #[default]
    Slaney,
    /// The HTK scale, `2595 log10(1 + f / 700)` (`htk=True`).
    Htk,
}

impl MelScale {
    /// Hz to mel (librosa `hz_to_mel`).
    pub fn hz_to_mel(self, hz: f64) -> f64 {
        match self {
            Self::Slaney => hz_to_mel(hz),
            Self::Htk => 2595.0 * (1.0 + hz / 700.0).log10(),
        }
    }

    /// Mel to Hz (librosa `mel_to_hz`).
    pub fn mel_to_hz(self, mel: f64) -> f64 {
        match self {
            Self::Slaney => mel_to_hz(mel),
            Self::Htk => 700.0 * (10f64.powf(mel / 2595.0) - 1.0),
        }
    }
}

/// How each filter is scaled: `librosa.filters.mel(norm=...)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MelNorm {
    /// Divide by the band's width in Hz over two, so each band has about the same energy
    /// (`norm="slaney"`, librosa's default).
    #[default]
    Slaney,
    /// Weights of each band sum to one (`norm=1.0`); empty bands stay empty.
    L1,
    /// Unit-height triangles (`norm=None`).
    None,
}

/// Triangular mel filters over the bins of an `n_fft` real FFT.
#[derive(Debug, Clone, PartialEq)]
pub struct MelFilterbank {
    n_mels: usize,
    n_bins: usize,
    /// `[mel][bin]` weights, f32 as librosa returns them.
    weights: Vec<f32>,
    /// Per band, the half-open range of bins with non-zero weight.
    support: Vec<(usize, usize)>,
}

impl MelFilterbank {
    /// `librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)`
    /// with its defaults (slaney scale, slaney norm, float32), ported step by step so the
    /// weights are the same floats. Bands narrower than one FFT bin come out empty, as in
    /// librosa.
    pub fn new(
        sample_rate: f64,
        n_fft: usize,
        n_mels: usize,
        fmin: f64,
        fmax: f64,
    ) -> Result<Self> {
        Self::with_options(
            sample_rate,
            n_fft,
            n_mels,
            fmin,
            fmax,
            MelScale::Slaney,
            MelNorm::Slaney,
        )
    }

    /// As [`MelFilterbank::new`] with a chosen scale and normalisation:
    /// `librosa.filters.mel(..., htk=scale == Htk, norm=...)`.
    pub fn with_options(
        sample_rate: f64,
        n_fft: usize,
        n_mels: usize,
        fmin: f64,
        fmax: f64,
        scale: MelScale,
        norm: MelNorm,
    ) -> Result<Self> {
        if !(sample_rate.is_finite() && sample_rate > 0.0) {
            return Err(Error::invalid(format!(
                "mel filterbank sample rate {sample_rate}"
            )));
        }
        if n_fft < 2 || n_mels == 0 {
            return Err(Error::invalid(format!(
                "mel filterbank needs n_fft >= 2 and n_mels >= 1, got {n_fft} and {n_mels}"
            )));
        }
        if !(fmin.is_finite() && fmax.is_finite() && fmin >= 0.0 && fmax > fmin) {
            return Err(Error::invalid(format!(
                "mel filterbank band {fmin}..{fmax} Hz"
            )));
        }
        let n_bins = n_fft / 2 + 1;
        // np.fft.rfftfreq(n_fft, d=1/sr)
        let bin_hz = 1.0 / (n_fft as f64 * (1.0 / sample_rate));
        let fft_freqs: Vec<f64> = (0..n_bins).map(|k| k as f64 * bin_hz).collect();
        // mel_frequencies(n_mels + 2, fmin, fmax): np.linspace in mel, back to Hz.
        let (min_mel, max_mel) = (scale.hz_to_mel(fmin), scale.hz_to_mel(fmax));
        let n_edges = n_mels + 2;
        let step = (max_mel - min_mel) / (n_edges - 1) as f64;
        let mel_f: Vec<f64> = (0..n_edges)
            .map(|i| {
                let mel = if i == n_edges - 1 {
                    max_mel
                } else {
                    i as f64 * step + min_mel
                };
                scale.mel_to_hz(mel)
            })
            .collect();

        let mut weights = vec![0.0f32; n_mels * n_bins];
        let mut support = Vec::with_capacity(n_mels);
        for (m, row) in weights.chunks_exact_mut(n_bins).enumerate() {
            let (f0, f1, f2) = (mel_f[m], mel_f[m + 1], mel_f[m + 2]);
            let (fdiff_lo, fdiff_hi) = (f1 - f0, f2 - f1);
            for (w, &f) in row.iter_mut().zip(&fft_freqs) {
                let lower = -(f0 - f) / fdiff_lo;
                let upper = (f2 - f) / fdiff_hi;
                // Assigned into a float32 array, then scaled by a float64 factor.
                *w = lower.min(upper).max(0.0) as f32;
            }
            // librosa multiplies by the slaney factor but divides by the L1 length (summed
            // in float64); both round the float64 result back to float32.
            match norm {
                MelNorm::Slaney => {
                    let enorm = 2.0 / (f2 - f0);
                    row.iter_mut().for_each(|w| *w = (*w as f64 * enorm) as f32);
                }
                MelNorm::L1 => {
                    let length: f64 = row.iter().map(|&w| w as f64).sum();
                    // `util.normalize` leaves rows with a length below `tiny` untouched.
                    if length >= f64::MIN_POSITIVE {
                        row.iter_mut()
                            .for_each(|w| *w = (*w as f64 / length) as f32);
                    }
                }
                MelNorm::None => {}
            }
            let (mut first, mut last) = (n_bins, 0);
            for (k, &w) in row.iter().enumerate() {
                if w != 0.0 {
                    first = first.min(k);
                    last = k + 1;
                }
            }
            support.push(if first < last { (first, last) } else { (0, 0) });
        }
        Ok(Self {
            n_mels,
            n_bins,
            weights,
            support,
        })
    }

    /// Number of mel bands.
    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    /// Number of FFT bins each band spans (`n_fft / 2 + 1`).
    pub fn n_bins(&self) -> usize {
        self.n_bins
    }

    /// All weights, `[mel][bin]`.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// Weights of band `m` over all bins, or `None` out of range.
    pub fn band(&self, m: usize) -> Option<&[f32]> {
        let start = m.checked_mul(self.n_bins)?;
        self.weights.get(start..start.checked_add(self.n_bins)?)
    }

    /// `mel[m] = sum_k w[m][k] * spectrum[k]` for one frame; `spectrum` should have `n_bins`
    /// values and `mel` `n_mels` (missing spectrum values count as zero, extra ones are
    /// ignored).
    pub fn apply(&self, spectrum: &[f64], mel: &mut [f64]) {
        for ((out, row), &(lo, hi)) in mel
            .iter_mut()
            .zip(self.weights.chunks_exact(self.n_bins))
            .zip(&self.support)
        {
            let end = hi.min(spectrum.len());
            let start = lo.min(end);
            *out = row[start..end]
                .iter()
                .zip(&spectrum[start..end])
                .map(|(&w, &s)| w as f64 * s)
                .sum();
        }
    }

    /// `spectrum[k] = sum_m w[m][k] * mel[m]` (the transpose of [`MelFilterbank::apply`]).
    pub fn apply_transpose(&self, mel: &[f64], spectrum: &mut [f64]) {
        spectrum.fill(0.0);
        for ((&v, row), &(lo, hi)) in mel
            .iter()
            .zip(self.weights.chunks_exact(self.n_bins))
            .zip(&self.support)
        {
            let end = hi.min(spectrum.len());
            let start = lo.min(end);
            for (s, &w) in spectrum[start..end].iter_mut().zip(&row[start..end]) {
                *s += w as f64 * v;
            }
        }
    }

    /// Map every frame of a spectrogram (magnitudes or powers) onto the mel bands, in f64.
    pub fn apply_spectrogram(&self, spec: &MagnitudeSpectrogram) -> Result<Vec<f64>> {
        if spec.n_bins != self.n_bins {
            return Err(Error::invalid(format!(
                "spectrogram has {} bins, the mel filterbank expects {}",
                spec.n_bins, self.n_bins
            )));
        }
        let mut out = vec![0.0; spec.n_frames * self.n_mels];
        for (frame, mel) in spec.frames().zip(out.chunks_exact_mut(self.n_mels)) {
            self.apply(frame, mel);
        }
        Ok(out)
    }
}
