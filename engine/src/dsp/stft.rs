//! Short-time Fourier transform and its inverse, with the framing conventions of
//! `torch.stft` / `torch.istft` (and AudioLDM's conv-based STFT): periodic Hann window,
//! `win_length <= n_fft` zero-padded to the centre of the frame, optional centring by
//! `n_fft / 2` samples of reflect (or zero) padding on both sides.
//!
//! The FFTs are planned once per [`Stft`]; every transform reuses one frame buffer and one
//! scratch buffer for all of its frames. Arithmetic is in f64, so the transform adds no error
//! worth counting next to the f32 references it is compared with.

use std::fmt;
use std::sync::Arc;

use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::error::{Error, Result};

/// Complex sample type of spectrograms.
pub use realfft::num_complex::Complex64;

/// How the signal is extended by `n_fft / 2` samples at each end when frames are centred.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PadMode {
    /// Mirror without repeating the edge sample (`torch`'s and numpy's `reflect`), as AudioLDM.
    /// Signals shorter than the padding are mirrored repeatedly, as numpy does.
    Reflect,
    /// Zeros, as librosa's default (`pad_mode="constant"`).
    Zero,
}

/// Frame layout of a short-time Fourier transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StftConfig {
    /// FFT size in samples (frequency bins: `n_fft / 2 + 1`).
    pub n_fft: usize,
    /// Samples between the starts of consecutive frames.
    pub hop_length: usize,
    /// Length of the Hann window, at most `n_fft`; it is zero-padded to `n_fft`, centred.
    pub win_length: usize,
    /// Centre frame `t` on sample `t * hop_length` by padding `n_fft / 2` samples at each end.
    pub center: bool,
    /// Padding used when `center` is set.
    pub pad_mode: PadMode,
}

impl StftConfig {
    /// `win_length = n_fft`, centred frames with reflect padding (the torch / AudioLDM setup).
    pub fn new(n_fft: usize, hop_length: usize) -> Self {
        Self {
            n_fft,
            hop_length,
            win_length: n_fft,
            center: true,
            pad_mode: PadMode::Reflect,
        }
    }

    /// Number of frequency bins, `n_fft / 2 + 1`.
    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Number of frames the forward transform yields for `signal_len` samples (0 when the
    /// signal is too short to fill one uncentred frame).
    pub fn n_frames(&self, signal_len: usize) -> usize {
        let padded = if self.center {
            signal_len + 2 * (self.n_fft / 2)
        } else {
            signal_len
        };
        if padded < self.n_fft || self.hop_length == 0 {
            0
        } else {
            1 + (padded - self.n_fft) / self.hop_length
        }
    }

    fn validate(&self) -> Result<()> {
        if self.n_fft < 2 {
            return Err(Error::invalid(format!(
                "STFT n_fft must be >= 2, got {}",
                self.n_fft
            )));
        }
        if self.hop_length == 0 {
            return Err(Error::invalid("STFT hop_length must be positive"));
        }
        if self.win_length == 0 || self.win_length > self.n_fft {
            return Err(Error::invalid(format!(
                "STFT win_length must be in 1..={}, got {}",
                self.n_fft, self.win_length
            )));
        }
        Ok(())
    }
}

/// A time-frequency array stored frame-major: frame `t`, bin `k` is at `t * n_bins + k`.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrogram<T> {
    /// Number of frames.
    pub n_frames: usize,
    /// Values per frame (frequency bins, or mel bands).
    pub n_bins: usize,
    /// `n_frames * n_bins` values, frame-major.
    pub data: Vec<T>,
}

/// Complex STFT coefficients.
pub type ComplexSpectrogram = Spectrogram<Complex64>;
/// STFT magnitudes (or powers).
pub type MagnitudeSpectrogram = Spectrogram<f64>;

impl<T> Spectrogram<T> {
    /// Frame `t`, or `None` past the end.
    pub fn frame(&self, t: usize) -> Option<&[T]> {
        let start = t.checked_mul(self.n_bins)?;
        self.data.get(start..start.checked_add(self.n_bins)?)
    }

    /// The frames in order.
    pub fn frames(&self) -> impl Iterator<Item = &[T]> {
        self.data.chunks_exact(self.n_bins.max(1))
    }

    /// Apply `f` to every value, keeping the layout.
    pub fn map<U>(&self, f: impl FnMut(&T) -> U) -> Spectrogram<U> {
        Spectrogram {
            n_frames: self.n_frames,
            n_bins: self.n_bins,
            data: self.data.iter().map(f).collect(),
        }
    }
}

impl ComplexSpectrogram {
    /// `|X|` of every coefficient.
    pub fn magnitude(&self) -> MagnitudeSpectrogram {
        self.map(|c| c.norm())
    }
}

/// A planned STFT / inverse STFT pair for one [`StftConfig`].
#[derive(Clone)]
pub struct Stft {
    config: StftConfig,
    /// Periodic Hann window of `win_length`, zero-padded to `n_fft`, centred.
    window: Vec<f64>,
    forward: Arc<dyn RealToComplex<f64>>,
    inverse: Arc<dyn ComplexToReal<f64>>,
}

impl fmt::Debug for Stft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stft")
            .field("config", &self.config)
            .finish()
    }
}

/// Window-square sums below this are treated as zero by the inverse (torch's NOLA bound).
const WINDOW_SUM_FLOOR: f64 = 1e-11;

impl Stft {
    /// Plan the transforms for `config`.
    pub fn new(config: StftConfig) -> Result<Self> {
        config.validate()?;
        let mut planner = RealFftPlanner::<f64>::new();
        Ok(Self {
            window: padded_hann(config.win_length, config.n_fft),
            forward: planner.plan_fft_forward(config.n_fft),
            inverse: planner.plan_fft_inverse(config.n_fft),
            config,
        })
    }

    /// The frame layout.
    pub fn config(&self) -> &StftConfig {
        &self.config
    }

    /// The analysis window, `n_fft` long.
    pub fn window(&self) -> &[f64] {
        &self.window
    }

    /// Complex STFT of `signal` (frames x bins). Empty signals, and uncentred signals shorter
    /// than `n_fft`, are rejected. Non-finite samples propagate into the output.
    pub fn forward<T: Copy + Into<f64>>(&self, signal: &[T]) -> Result<ComplexSpectrogram> {
        let n_bins = self.config.n_bins();
        let mut data = vec![Complex64::new(0.0, 0.0); self.checked_frames(signal.len())? * n_bins];
        let n_frames = self.analyse(signal, |t, spectrum| {
            data[t * n_bins..(t + 1) * n_bins].copy_from_slice(spectrum);
        })?;
        Ok(Spectrogram {
            n_frames,
            n_bins,
            data,
        })
    }

    /// `|STFT|` of `signal`, without materialising the complex coefficients.
    pub fn magnitude<T: Copy + Into<f64>>(&self, signal: &[T]) -> Result<MagnitudeSpectrogram> {
        self.map_bins(signal, |c| c.norm())
    }

    /// `|STFT|^2` of `signal` (librosa's `power=2.0` spectrogram), squared from the complex
    /// coefficients rather than from the rounded magnitude.
    pub fn power<T: Copy + Into<f64>>(&self, signal: &[T]) -> Result<MagnitudeSpectrogram> {
        self.map_bins(signal, |c| c.norm_sqr())
    }

    /// A real value per STFT coefficient of `signal`, computed frame by frame.
    fn map_bins<T: Copy + Into<f64>>(
        &self,
        signal: &[T],
        value: impl Fn(&Complex64) -> f64,
    ) -> Result<MagnitudeSpectrogram> {
        let n_bins = self.config.n_bins();
        let mut data = vec![0.0; self.checked_frames(signal.len())? * n_bins];
        let n_frames = self.analyse(signal, |t, spectrum| {
            for (out, c) in data[t * n_bins..(t + 1) * n_bins].iter_mut().zip(spectrum) {
                *out = value(c);
            }
        })?;
        Ok(Spectrogram {
            n_frames,
            n_bins,
            data,
        })
    }

    /// Inverse STFT with `torch.istft` semantics: each frame is inverse-transformed, windowed
    /// and overlap-added, the sum is divided by the overlap-added squared window, and the
    /// `n_fft / 2` centring pad is removed. `length` trims or zero-extends the result (default:
    /// `hop_length * (n_frames - 1)` when centred). Samples whose window-square sum is below
    /// 1e-11 (only possible when frames do not overlap enough) are set to zero instead of being
    /// rejected as torch does.
    pub fn inverse(&self, spec: &ComplexSpectrogram, length: Option<usize>) -> Result<Vec<f64>> {
        let StftConfig {
            n_fft,
            hop_length: hop,
            center,
            ..
        } = self.config;
        let n_bins = self.config.n_bins();
        if spec.n_bins != n_bins || spec.data.len() != spec.n_frames * n_bins {
            return Err(Error::invalid(format!(
                "inverse STFT expects {n_bins} bins per frame, got a {}x{} spectrogram of {} values",
                spec.n_frames,
                spec.n_bins,
                spec.data.len()
            )));
        }
        let start = if center { n_fft / 2 } else { 0 };
        if spec.n_frames == 0 {
            return Ok(vec![0.0; length.unwrap_or(0)]);
        }
        let full_len = n_fft + hop * (spec.n_frames - 1);
        let out_len = length.unwrap_or(full_len - 2 * start);

        let mut overlap_add = vec![0.0; full_len];
        let mut window_sum = vec![0.0; full_len];
        let mut spectrum = self.inverse.make_input_vec();
        let mut frame = self.inverse.make_output_vec();
        let mut scratch = self.inverse.make_scratch_vec();
        let scale = 1.0 / n_fft as f64;
        for (t, coefficients) in spec.frames().enumerate() {
            spectrum.copy_from_slice(coefficients);
            // A real signal's DC (and, for even n_fft, Nyquist) bin is real; the C2R transform
            // ignores any imaginary part there, as torch's does.
            spectrum[0].im = 0.0;
            if n_fft % 2 == 0 {
                spectrum[n_bins - 1].im = 0.0;
            }
            self.inverse
                .process_with_scratch(&mut spectrum, &mut frame, &mut scratch)
                .map_err(|e| Error::invalid(format!("inverse FFT failed: {e}")))?;
            let offset = t * hop;
            let ola = &mut overlap_add[offset..offset + n_fft];
            let wss = &mut window_sum[offset..offset + n_fft];
            for (((o, s), &x), &w) in ola.iter_mut().zip(wss).zip(&frame).zip(&self.window) {
                *o += x * scale * w;
                *s += w * w;
            }
        }

        let mut out = vec![0.0; out_len];
        let available = full_len.saturating_sub(start).min(out_len);
        for (i, y) in out[..available].iter_mut().enumerate() {
            let wss = window_sum[start + i];
            if wss > WINDOW_SUM_FLOOR {
                *y = overlap_add[start + i] / wss;
            }
        }
        Ok(out)
    }

    fn checked_frames(&self, signal_len: usize) -> Result<usize> {
        if signal_len == 0 {
            return Err(Error::invalid("STFT of an empty signal"));
        }
        match self.config.n_frames(signal_len) {
            0 => Err(Error::invalid(format!(
                "signal of {signal_len} samples is shorter than one {}-sample frame",
                self.config.n_fft
            ))),
            n => Ok(n),
        }
    }

    /// Run the forward FFT over every frame of `signal`, handing each frame's spectrum (in a
    /// reused buffer) to `sink`. Returns the number of frames.
    fn analyse<T: Copy + Into<f64>>(
        &self,
        signal: &[T],
        mut sink: impl FnMut(usize, &[Complex64]),
    ) -> Result<usize> {
        let n_frames = self.checked_frames(signal.len())?;
        let StftConfig {
            n_fft,
            hop_length: hop,
            center,
            pad_mode,
            ..
        } = self.config;
        let pad = if center { n_fft / 2 } else { 0 };
        let padded = pad_signal(signal, pad, pad_mode);

        let mut frame = self.forward.make_input_vec();
        let mut spectrum = self.forward.make_output_vec();
        let mut scratch = self.forward.make_scratch_vec();
        for t in 0..n_frames {
            let segment = &padded[t * hop..t * hop + n_fft];
            for ((f, &x), &w) in frame.iter_mut().zip(segment).zip(&self.window) {
                *f = x * w;
            }
            self.forward
                .process_with_scratch(&mut frame, &mut spectrum, &mut scratch)
                .map_err(|e| Error::invalid(format!("forward FFT failed: {e}")))?;
            sink(t, &spectrum);
        }
        Ok(n_frames)
    }
}

/// Periodic Hann window (`scipy.signal.get_window("hann", n, fftbins=True)`) of `win_length`,
/// zero-padded on both sides to `n_fft` with the extra zero on the right (librosa's
/// `pad_center`, torch's window padding).
pub fn padded_hann(win_length: usize, n_fft: usize) -> Vec<f64> {
    let mut window = vec![0.0; n_fft.max(win_length)];
    let left = (window.len() - win_length) / 2;
    let n = win_length as f64;
    for (i, w) in window[left..left + win_length].iter_mut().enumerate() {
        *w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n).cos();
    }
    window
}

/// `signal` extended by `pad` samples on each side, as f64.
pub fn pad_signal<T: Copy + Into<f64>>(signal: &[T], pad: usize, mode: PadMode) -> Vec<f64> {
    let n = signal.len();
    let mut out = Vec::with_capacity(n + 2 * pad);
    let at = |i: isize| -> f64 {
        match mode {
            PadMode::Zero => {
                if (0..n as isize).contains(&i) {
                    signal[i as usize].into()
                } else {
                    0.0
                }
            }
            PadMode::Reflect => signal[reflect_index(i, n)].into(),
        }
    };
    let pad = pad as isize;
    out.extend((-pad..0).map(at));
    out.extend(signal.iter().map(|&x| x.into()));
    out.extend((n as isize..n as isize + pad).map(at));
    out
}

/// Index into a length-`n` signal (n >= 1) of position `i` of its endless mirror image
/// without edge repetition (numpy's `reflect`).
fn reflect_index(i: isize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n as isize - 1);
    let m = i.rem_euclid(period);
    if m >= n as isize {
        (period - m) as usize
    } else {
        m as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_signal(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let t = i as f64 / 16000.0;
                (0.3 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()
                    + 0.2 * (2.0 * std::f64::consts::PI * (200.0 + 3000.0 * t) * t).sin())
                    as f32
            })
            .collect()
    }

    #[test]
    fn hann_is_periodic_and_centred() {
        let w = padded_hann(4, 4);
        let expected = [0.0, 0.5, 1.0, 0.5];
        for (a, b) in w.iter().zip(expected) {
            assert!((a - b).abs() < 1e-15);
        }
        // win 4 in n_fft 7: left pad (7 - 4) / 2 = 1, right pad 2.
        let w = padded_hann(4, 7);
        assert_eq!(w.len(), 7);
        assert_eq!(w[0], 0.0);
        assert!((w[3] - 1.0).abs() < 1e-15);
        assert_eq!(&w[5..], &[0.0, 0.0]);
    }

    #[test]
    fn reflect_matches_numpy() {
        // np.pad([1, 2, 3], 5, mode="reflect") == [2 1 2 3 2 | 1 2 3 | 2 1 2 3 2]
        let padded = pad_signal(&[1.0f32, 2.0, 3.0], 5, PadMode::Reflect);
        let expected = [2., 1., 2., 3., 2., 1., 2., 3., 2., 1., 2., 3., 2.];
        assert_eq!(padded, expected);
        assert_eq!(pad_signal(&[7.0f32], 3, PadMode::Reflect), vec![7.0; 7]);
        assert_eq!(
            pad_signal(&[1.0f32, 2.0], 2, PadMode::Zero),
            vec![0., 0., 1., 2., 0., 0.]
        );
    }

    #[test]
    fn frame_count_follows_torch() {
        let stft = Stft::new(StftConfig::new(1024, 160)).unwrap();
        assert_eq!(stft.config().n_frames(32000), 201);
        assert_eq!(stft.forward(&test_signal(32000)).unwrap().n_frames, 201);
        let uncentred = StftConfig {
            center: false,
            ..StftConfig::new(1024, 160)
        };
        assert_eq!(uncentred.n_frames(1023), 0);
        assert_eq!(uncentred.n_frames(1024 + 320), 3);
    }

    #[test]
    fn forward_matches_direct_dft() {
        let config = StftConfig {
            win_length: 12,
            ..StftConfig::new(16, 4)
        };
        let stft = Stft::new(config).unwrap();
        let x = test_signal(40);
        let spec = stft.forward(&x).unwrap();
        let padded = pad_signal(&x, 8, PadMode::Reflect);
        let w = stft.window();
        for t in 0..spec.n_frames {
            for k in 0..spec.n_bins {
                let mut acc = Complex64::new(0.0, 0.0);
                for n in 0..16 {
                    let phase = -2.0 * std::f64::consts::PI * (k * n) as f64 / 16.0;
                    acc += Complex64::from_polar(padded[t * 4 + n] * w[n], phase);
                }
                let got = spec.frame(t).unwrap()[k];
                assert!((got - acc).norm() < 1e-12, "t {t} k {k}: {got} vs {acc}");
            }
        }
    }

    #[test]
    fn round_trip_is_exact() {
        for (n_fft, hop, win, mode) in [
            (1024, 160, 1024, PadMode::Reflect),
            (2048, 512, 2048, PadMode::Zero),
            (512, 128, 400, PadMode::Reflect),
        ] {
            let stft = Stft::new(StftConfig {
                n_fft,
                hop_length: hop,
                win_length: win,
                center: true,
                pad_mode: mode,
            })
            .unwrap();
            let x = test_signal(16000 + 37);
            let spec = stft.forward(&x).unwrap();
            let y = stft.inverse(&spec, Some(x.len())).unwrap();
            let err = x
                .iter()
                .zip(&y)
                .map(|(&a, &b)| (a as f64 - b).abs())
                .fold(0.0, f64::max);
            assert!(err < 1e-5, "n_fft {n_fft}: max round-trip error {err}");
        }
    }

    #[test]
    fn inverse_default_length_and_padding() {
        let stft = Stft::new(StftConfig::new(64, 16)).unwrap();
        let x = test_signal(160);
        let spec = stft.forward(&x).unwrap();
        assert_eq!(stft.inverse(&spec, None).unwrap().len(), 160);
        let long = stft.inverse(&spec, Some(400)).unwrap();
        assert_eq!(long.len(), 400);
        assert!(long[200..].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let stft = Stft::new(StftConfig::new(64, 16)).unwrap();
        assert!(stft.forward::<f32>(&[]).is_err());
        let one = stft.forward(&[0.5f32]).unwrap();
        assert_eq!(one.n_frames, 1);
        // A constant signal: all energy in the DC bin.
        assert!((one.frame(0).unwrap()[0].re - 0.5 * 32.0).abs() < 1e-9);
        assert!(Stft::new(StftConfig::new(0, 16)).is_err());
        assert!(Stft::new(StftConfig::new(64, 0)).is_err());
        assert!(
            Stft::new(StftConfig {
                win_length: 65,
                ..StftConfig::new(64, 16)
            })
            .is_err()
        );
        let bad = Spectrogram {
            n_frames: 1,
            n_bins: 3,
            data: vec![Complex64::new(0.0, 0.0); 3],
        };
        assert!(stft.inverse(&bad, None).is_err());
        let empty = Spectrogram {
            n_frames: 0,
            n_bins: 33,
            data: vec![],
        };
        assert_eq!(stft.inverse(&empty, Some(5)).unwrap(), vec![0.0; 5]);
    }
}
