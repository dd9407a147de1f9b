//! Differentiable spectral losses for the vocoder: the STFT as a strided convolution with a
//! windowed Fourier basis, the AudioLDM mel filterbank on top, and the multi-resolution STFT
//! loss of Parallel WaveGAN (spectral convergence + log-magnitude L1) beside the log-mel L1
//! of HiFi-GAN.

use burn::tensor::module::conv1d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};

use crate::dsp::mel::MelFilterbank;

/// Magnitudes below this are clamped before logs (AudioLDM's floor).
const FLOOR: f64 = 1e-5;

/// An STFT of fixed size, optionally followed by a mel filterbank.
pub struct Spectral {
    hop: usize,
    n_fft: usize,
    bins: usize,
    basis: Tensor<3>,
    mel: Option<Tensor<2>>,
}

impl Spectral {
    /// A Hann-windowed STFT with `n_fft` points and `hop`; with `mel`, its filterbank
    /// (`n_fft / 2 + 1` bins wide) is applied by [`Spectral::log_mel`].
    pub fn new(n_fft: usize, hop: usize, mel: Option<&MelFilterbank>, device: &Device) -> Self {
        let bins = n_fft / 2 + 1;
        let mut basis = vec![0f32; 2 * bins * n_fft];
        for k in 0..bins {
            for n in 0..n_fft {
                let w = 0.5 - 0.5 * (std::f64::consts::TAU * n as f64 / n_fft as f64).cos();
                let phase = std::f64::consts::TAU * (k * n) as f64 / n_fft as f64;
                basis[k * n_fft + n] = (w * phase.cos()) as f32;
                basis[(bins + k) * n_fft + n] = (-w * phase.sin()) as f32;
            }
        }
        let mel = mel.map(|fb| {
            Tensor::<2>::from_data(
                TensorData::new(fb.weights().to_vec(), [fb.n_mels(), fb.n_bins()]),
                device,
            )
            .transpose()
        });
        Self {
            hop,
            n_fft,
            bins,
            basis: Tensor::from_data(TensorData::new(basis, [2 * bins, 1, n_fft]), device),
            mel,
        }
    }

    /// `|STFT|` of waveforms `[B, N]` (zero-padded by `n_fft / 2` on both sides, as a centred
    /// STFT): `[B, frames, bins]`.
    pub fn magnitude(&self, wave: Tensor<2>) -> Tensor<3> {
        let x: Tensor<3> = wave.unsqueeze_dim(1);
        let frames = conv1d(
            x,
            self.basis.clone(),
            None,
            ConvOptions::new([self.hop], [self.n_fft / 2], [1], 1),
        );
        let re = frames.clone().narrow(1, 0, self.bins);
        let im = frames.narrow(1, self.bins, self.bins);
        (re.clone() * re + im.clone() * im)
            .add_scalar(1e-9)
            .sqrt()
            .swap_dims(1, 2)
    }

    /// `log(clamp(mel @ |STFT|, 1e-5))`: `[B, frames, n_mels]` (needs a filterbank).
    pub fn log_mel(&self, wave: Tensor<2>) -> Tensor<3> {
        let mel = self
            .mel
            .as_ref()
            .expect("a spectral front end with a filterbank");
        let m = self.magnitude(wave);
        let [b, t, f] = m.dims();
        let n_mels = mel.dims()[1];
        m.reshape([b * t, f])
            .matmul(mel.clone())
            .reshape([b, t, n_mels])
            .clamp_min(FLOOR)
            .log()
    }
}

/// Spectral convergence and log-magnitude L1 between `pred` and `target` `[B, N]` at one
/// resolution.
pub fn stft_loss(s: &Spectral, pred: Tensor<2>, target: Tensor<2>) -> (Tensor<1>, Tensor<1>) {
    let p = s.magnitude(pred);
    let t = s.magnitude(target);
    let sc = (t.clone() - p.clone()).powi_scalar(2).sum().sqrt()
        / t.clone().powi_scalar(2).sum().sqrt().add_scalar(1e-7);
    let mag = (t.clamp_min(FLOOR).log() - p.clamp_min(FLOOR).log())
        .abs()
        .mean();
    (sc, mag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::mel::MelExtractor;

    #[test]
    fn the_convolution_is_the_stft() {
        let device = Device::flex();
        let ex = MelExtractor::audioldm().unwrap();
        let s = Spectral::new(1024, 160, Some(ex.filterbank()), &device);
        let wav: Vec<f32> = (0..16_000)
            .map(|i| 0.3 * ((i as f32) * 0.07).sin() + 0.1 * ((i as f32) * 0.31).cos())
            .collect();
        let ours = s
            .log_mel(Tensor::from_data(
                TensorData::new(wav.clone(), [1, 16_000]),
                &device,
            ))
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        let reference = ex.log_mel(&wav).unwrap();
        // Same frames (centred, hop 160), same bands; AudioLDM pads by reflection, we by
        // zeros, so compare frames away from the edges, in linear magnitude relative to the
        // frame's peak (f32 sums over 1024 taps leave ~1e-6 of the peak in quiet bands).
        assert_eq!(ours.len(), reference.data.len());
        let n_mels = reference.n_mels;
        let mut worst = 0f32;
        for t in 8..reference.n_frames - 8 {
            let row = &reference.data[t * n_mels..(t + 1) * n_mels];
            let peak = row.iter().fold(0f32, |m, &v| m.max(v.exp()));
            for m in 0..n_mels {
                let (a, b) = (ours[t * n_mels + m].exp(), row[m].exp());
                worst = worst.max((a - b).abs() / peak);
            }
        }
        assert!(worst < 1e-4, "worst {worst}");
    }
}
