//! Mel spectrograms as the AudioLDM / Tango latent diffusion models see them.
//!
//! The filterbank ([`filterbank`]) is a port of `librosa.filters.mel`, the log-mel is
//! AudioLDM's `TacotronSTFT.mel_spectrogram`
//! (magnitude STFT with reflect padding, `mel_basis @ |X|`, `log(clamp(x, 1e-5))`), and the
//! Tango helpers reproduce `tools/torch_tools.py` (`normalize_wav`, `pad_wav`,
//! `read_wav_file`, `get_mel_from_wav`, `_pad_spec`, `wav_to_fbank`). A model conditioned on
//! these features only behaves as trained if every step matches, padding value included.
//!
//! The same extractor also computes the front end of jik876's HiFi-GAN
//! (`meldataset.mel_spectrogram`, [`MelConfig::hifigan`]), which frames the signal differently
//! ([`MelFraming::HifiGan`]): a pretrained vocoder must be fed the mel it was trained on.

use crate::audio::AudioBuffer;
use crate::error::{Error, Result};

use super::stft::{MagnitudeSpectrogram, PadMode, Stft, StftConfig, pad_signal};

mod filterbank;
mod tango;

pub use filterbank::{MelFilterbank, MelNorm, MelScale, hz_to_mel, mel_to_hz};
use tango::check_unit_range;
pub use tango::{normalize_wav, pad_spec, pad_wav, sanitize_wav, tango_waveform};

/// Lower clamp applied before the logarithm (AudioLDM's `dynamic_range_compression`,
/// `clip_val=1e-5`, as an f32 like the torch tensor it is applied to).
pub const LOG_MEL_FLOOR: f32 = 1e-5;

/// Frames of the mel spectrogram Tango trains and generates on (`target_length=1024`).
pub const TANGO_TARGET_FRAMES: usize = 1024;

/// How the signal is cut into frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MelFraming {
    /// Frame `t` centred on sample `t * hop` (`n_fft / 2` samples of reflect padding at each
    /// end, `torch.stft(center=True)`): AudioLDM, librosa.
    #[default]
    Centred,
    /// jik876's HiFi-GAN: `(n_fft - hop) / 2` samples of reflect padding at each end and
    /// uncentred frames, so frame `t` is centred on sample `(t + 1/2) * hop` and a signal of
    /// `k * hop` samples gives exactly `k` frames.
    #[serde(rename = "hifigan")]
    HifiGan,
}

/// Parameters of a mel spectrogram front end.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MelConfig {
    /// Sample rate of the input in Hz.
    pub sample_rate: u32,
    /// FFT size in samples.
    pub n_fft: usize,
    /// Hop between frames in samples.
    pub hop_length: usize,
    /// Hann window length in samples (`<= n_fft`).
    pub win_length: usize,
    /// Number of mel bands.
    pub n_mels: usize,
    /// Lowest filter edge in Hz.
    pub fmin: f64,
    /// Highest filter edge in Hz.
    pub fmax: f64,
    /// Frame layout (default: centred).
    #[serde(default)]
    pub framing: MelFraming,
    /// Added to `|X|^2` before the square root (jik876's `sqrt(re^2 + im^2 + 1e-9)`; 0 for
    /// AudioLDM's plain magnitude).
    #[serde(default)]
    pub power_offset: f64,
}

impl MelConfig {
    /// AudioLDM / Tango: 16 kHz, n_fft 1024, hop 160 (10 ms), window 1024, 64 bands, 0-8 kHz.
    pub fn audioldm() -> Self {
        Self {
            sample_rate: 16_000,
            n_fft: 1024,
            hop_length: 160,
            win_length: 1024,
            n_mels: 64,
            fmin: 0.0,
            fmax: 8000.0,
            framing: MelFraming::Centred,
            power_offset: 0.0,
        }
    }

    /// jik876's HiFi-GAN (V1 and the universal vocoder): 22.05 kHz, n_fft 1024, hop 256,
    /// window 1024, 80 bands, 0-8 kHz, [`MelFraming::HifiGan`], magnitude offset 1e-9.
    pub fn hifigan() -> Self {
        Self {
            sample_rate: 22_050,
            n_fft: 1024,
            hop_length: 256,
            win_length: 1024,
            n_mels: 80,
            fmin: 0.0,
            fmax: 8000.0,
            framing: MelFraming::HifiGan,
            power_offset: 1e-9,
        }
    }

    /// Seconds between frames.
    pub fn hop_seconds(&self) -> f64 {
        self.hop_length as f64 / self.sample_rate as f64
    }

    /// Time of the centre of frame `t` in seconds (`t` hops for centred frames, `t + 1/2`
    /// for HiFi-GAN's).
    pub fn frame_centre_s(&self, t: f64) -> f64 {
        match self.framing {
            MelFraming::Centred => t * self.hop_seconds(),
            MelFraming::HifiGan => (t + 0.5) * self.hop_seconds(),
        }
    }
}

/// A mel spectrogram stored frame-major (`[frame][mel]`, Tango's `(T, 64)` layout).
#[derive(Debug, Clone, PartialEq)]
pub struct MelSpectrogram {
    /// Bands per frame.
    pub n_mels: usize,
    /// Number of frames.
    pub n_frames: usize,
    /// Seconds between frames.
    pub hop_seconds: f64,
    /// `n_frames * n_mels` values; frame `t`, band `m` at `t * n_mels + m`.
    pub data: Vec<f32>,
}

impl MelSpectrogram {
    /// Frame `t`, or `None` past the end.
    pub fn frame(&self, t: usize) -> Option<&[f32]> {
        let start = t.checked_mul(self.n_mels)?;
        self.data.get(start..start.checked_add(self.n_mels)?)
    }

    /// Value of band `mel` in frame `t`, or `None` out of range.
    pub fn get(&self, t: usize, mel: usize) -> Option<f32> {
        if mel < self.n_mels {
            self.data.get(t.checked_mul(self.n_mels)? + mel).copied()
        } else {
            None
        }
    }

    /// The frames in order.
    pub fn frames(&self) -> impl Iterator<Item = &[f32]> {
        self.data.chunks_exact(self.n_mels.max(1))
    }

    /// Start time of frame `t` in seconds (frames are centred on `t * hop`).
    pub fn frame_time_s(&self, t: usize) -> f64 {
        t as f64 * self.hop_seconds
    }

    /// The same values band-major (`[mel][frame]`, AudioLDM's `(64, T)` layout).
    pub fn to_mel_major(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.data.len()];
        for (t, frame) in self.frames().enumerate() {
            for (m, &v) in frame.iter().enumerate() {
                out[m * self.n_frames + t] = v;
            }
        }
        out
    }
}

/// Computes mel spectrograms for one [`MelConfig`]; the STFT and filterbank are built once.
#[derive(Debug, Clone)]
pub struct MelExtractor {
    config: MelConfig,
    stft: Stft,
    filterbank: MelFilterbank,
}

impl MelExtractor {
    /// Plan the STFT (reflect padding, framed as the config says) and build the filterbank.
    pub fn new(config: MelConfig) -> Result<Self> {
        if config.sample_rate == 0 {
            return Err(Error::invalid("mel sample rate must be positive"));
        }
        if !(config.power_offset.is_finite() && config.power_offset >= 0.0) {
            return Err(Error::invalid(format!(
                "mel power offset must be finite and >= 0, got {}",
                config.power_offset
            )));
        }
        if config.framing == MelFraming::HifiGan && config.hop_length > config.n_fft {
            return Err(Error::invalid(format!(
                "HiFi-GAN framing needs hop <= n_fft, got {} and {}",
                config.hop_length, config.n_fft
            )));
        }
        let stft = Stft::new(StftConfig {
            n_fft: config.n_fft,
            hop_length: config.hop_length,
            win_length: config.win_length,
            center: config.framing == MelFraming::Centred,
            pad_mode: PadMode::Reflect,
        })?;
        let filterbank = MelFilterbank::new(
            config.sample_rate as f64,
            config.n_fft,
            config.n_mels,
            config.fmin,
            config.fmax,
        )?;
        Ok(Self {
            config,
            stft,
            filterbank,
        })
    }

    /// The AudioLDM / Tango front end ([`MelConfig::audioldm`]).
    pub fn audioldm() -> Result<Self> {
        Self::new(MelConfig::audioldm())
    }

    /// The configuration.
    pub fn config(&self) -> &MelConfig {
        &self.config
    }

    /// The planned STFT.
    pub fn stft(&self) -> &Stft {
        &self.stft
    }

    /// The mel filterbank.
    pub fn filterbank(&self) -> &MelFilterbank {
        &self.filterbank
    }

    /// Log-mel spectrogram exactly as AudioLDM's `TacotronSTFT.mel_spectrogram`:
    /// `log(clamp(mel_basis @ |STFT(y)|, 1e-5))`. Like that function (which asserts it), the
    /// waveform must lie in [-1, 1]; use [`sanitize_wav`] first for arbitrary input.
    pub fn log_mel(&self, wav: &[f32]) -> Result<MelSpectrogram> {
        check_unit_range(wav)?;
        let floor = LOG_MEL_FLOOR as f64;
        self.mel_with(wav, |v| v.max(floor).ln() as f32)
    }

    /// Linear mel magnitudes, `mel_basis @ |STFT(y)|`, for uses other than the model input.
    /// Any finite input is accepted.
    pub fn mel_magnitude(&self, wav: &[f32]) -> Result<MelSpectrogram> {
        if wav.iter().any(|x| !x.is_finite()) {
            return Err(Error::invalid("waveform contains NaN or infinite samples"));
        }
        self.mel_with(wav, |v| v as f32)
    }

    /// [`MelExtractor::log_mel`] of a buffer at the configured rate, averaged to mono.
    pub fn log_mel_buffer(&self, audio: &AudioBuffer) -> Result<MelSpectrogram> {
        if audio.sample_rate != self.config.sample_rate {
            return Err(Error::invalid(format!(
                "mel front end expects {} Hz audio, got {} Hz",
                self.config.sample_rate, audio.sample_rate
            )));
        }
        if audio.channels == 0 {
            return Err(Error::invalid("audio buffer has zero channels"));
        }
        self.log_mel(&audio.to_mono())
    }

    /// Tango's `wav_to_fbank` for one clip already at 16 kHz: [`tango_waveform`] (normalise,
    /// pad or cut to `target_frames * hop` samples, renormalise), [`sanitize_wav`], the
    /// AudioLDM log-mel, then [`pad_spec`] to `target_frames` frames.
    pub fn tango_fbank(&self, wav: &[f32], target_frames: usize) -> Result<MelSpectrogram> {
        let mut prepared = tango_waveform(wav, target_frames * self.config.hop_length)?;
        sanitize_wav(&mut prepared);
        if prepared.is_empty() {
            return Ok(MelSpectrogram {
                n_mels: self.config.n_mels - self.config.n_mels % 2,
                n_frames: 0,
                hop_seconds: self.config.hop_seconds(),
                data: Vec::new(),
            });
        }
        Ok(pad_spec(&self.log_mel(&prepared)?, target_frames))
    }

    /// `|STFT|` of `wav` as the front end frames it (HiFi-GAN framing pads first; the power
    /// offset is added under the square root).
    pub fn magnitude(&self, wav: &[f32]) -> Result<MagnitudeSpectrogram> {
        match self.config.framing {
            MelFraming::Centred => self.offset_magnitude(wav),
            MelFraming::HifiGan => {
                if wav.is_empty() {
                    return Err(Error::invalid("STFT of an empty signal"));
                }
                let pad = (self.config.n_fft - self.config.hop_length) / 2;
                self.offset_magnitude(&pad_signal(wav, pad, PadMode::Reflect))
            }
        }
    }

    fn offset_magnitude<T: Copy + Into<f64>>(&self, signal: &[T]) -> Result<MagnitudeSpectrogram> {
        let offset = self.config.power_offset;
        if offset == 0.0 {
            self.stft.magnitude(signal)
        } else {
            Ok(self.stft.power(signal)?.map(|p| (p + offset).sqrt()))
        }
    }

    fn mel_with(&self, wav: &[f32], mut f: impl FnMut(f64) -> f32) -> Result<MelSpectrogram> {
        let magnitude = self.magnitude(wav)?;
        let mel = self.filterbank.apply_spectrogram(&magnitude)?;
        Ok(MelSpectrogram {
            n_mels: self.config.n_mels,
            n_frames: magnitude.n_frames,
            hop_seconds: self.config.hop_seconds(),
            data: mel.into_iter().map(&mut f).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::fixtures;

    fn max_scaled_error(got: &[f32], reference: &[f64]) -> f64 {
        assert_eq!(got.len(), reference.len());
        got.iter()
            .zip(reference)
            .map(|(&g, &r)| (g as f64 - r).abs() / (1.0 + r.abs()))
            .fold(0.0, f64::max)
    }

    #[test]
    fn slaney_scale_round_trips() {
        for hz in [0.0, 100.0, 999.0, 1000.0, 4000.0, 8000.0, 22050.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9 * (1.0 + hz));
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
    }

    #[test]
    fn filterbank_matches_librosa() {
        let fx = fixtures::load("mel_audioldm.safetensors");
        let reference = &fx["filterbank"];
        assert_eq!(reference.shape, vec![64, 513]);
        let bank = MelFilterbank::new(16000.0, 1024, 64, 0.0, 8000.0).unwrap();
        let max_err = bank
            .weights()
            .iter()
            .zip(&reference.values)
            .map(|(&w, &r)| (w as f64 - r).abs())
            .fold(0.0, f64::max);
        let max_weight = reference.values.iter().fold(0.0f64, |m, &v| m.max(v));
        assert!(
            max_err <= 1e-7 * max_weight,
            "filterbank max abs error {max_err:e} (max weight {max_weight:e})"
        );
    }

    #[test]
    fn htk_scale_round_trips() {
        for hz in [0.0, 100.0, 700.0, 1000.0, 8000.0, 22050.0] {
            let mel = MelScale::Htk.hz_to_mel(hz);
            assert!((MelScale::Htk.mel_to_hz(mel) - hz).abs() < 1e-9 * (1.0 + hz));
        }
        assert!((MelScale::Htk.hz_to_mel(700.0) - 2595.0 * 2f64.log10()).abs() < 1e-12);
        assert_eq!(MelScale::Slaney.hz_to_mel(4000.0), hz_to_mel(4000.0));
    }

    /// A filterbank stored sparsely in a fixture (`filterbank_index`, `filterbank_weight`)
    /// as `size` dense values.
    fn sparse_filterbank(
        fx: &std::collections::HashMap<String, fixtures::Tensor>,
        size: usize,
    ) -> Vec<f64> {
        let mut dense = vec![0.0f64; size];
        for (&i, &w) in fx["filterbank_index"]
            .values
            .iter()
            .zip(&fx["filterbank_weight"].values)
        {
            dense[i as usize] = w;
        }
        dense
    }

    #[test]
    fn htk_l1_filterbank_matches_librosa() {
        // librosa.filters.mel(sr=44100, n_fft=2048, n_mels=96, fmin=0, fmax=22050, htk=True,
        // norm=1.0), stored sparsely by `tests/parity/aisfx_reference.py`.
        let fx = fixtures::load("encoders/aisfx_io.safetensors");
        let reference = sparse_filterbank(&fx, 96 * 1025);
        let bank = MelFilterbank::with_options(
            44100.0,
            2048,
            96,
            0.0,
            22050.0,
            MelScale::Htk,
            MelNorm::L1,
        )
        .unwrap();
        let max_err = bank
            .weights()
            .iter()
            .zip(&reference)
            .map(|(&w, &r)| (w as f64 - r).abs())
            .fold(0.0, f64::max);
        let max_weight = reference.iter().fold(0.0f64, |m, &v| m.max(v));
        assert!(
            max_err <= 1e-7 * max_weight,
            "filterbank max abs error {max_err:e} (max weight {max_weight:e})"
        );
        for m in 0..96 {
            let sum: f64 = bank.band(m).unwrap().iter().map(|&w| w as f64).sum();
            assert!((sum - 1.0).abs() < 1e-5, "band {m} sums to {sum}");
        }
    }

    #[test]
    fn unnormalised_filters_peak_at_one() {
        let bank = MelFilterbank::with_options(
            16000.0,
            512,
            20,
            0.0,
            8000.0,
            MelScale::Htk,
            MelNorm::None,
        )
        .unwrap();
        for m in 0..20 {
            let peak = bank.band(m).unwrap().iter().fold(0.0f32, |a, &w| a.max(w));
            assert!(peak > 0.5 && peak <= 1.0, "band {m} peaks at {peak}");
        }
        let slaney = MelFilterbank::new(16000.0, 512, 20, 0.0, 8000.0).unwrap();
        let explicit = MelFilterbank::with_options(
            16000.0,
            512,
            20,
            0.0,
            8000.0,
            MelScale::Slaney,
            MelNorm::Slaney,
        )
        .unwrap();
        assert_eq!(slaney, explicit);
    }

    #[test]
    fn log_mel_matches_audioldm() {
        let fx = fixtures::load("mel_audioldm.safetensors");
        let input = fx["input"].as_f32();
        let reference = &fx["log_mel"];
        let extractor = MelExtractor::audioldm().unwrap();
        let mel = extractor.log_mel(&input).unwrap();
        assert_eq!(vec![mel.n_frames, mel.n_mels], reference.shape);
        let err = max_scaled_error(&mel.data, &reference.values);
        assert!(err <= 1e-4, "log-mel max |err| / (1 + |ref|) = {err:e}");
    }

    #[test]
    fn hifigan_front_end_matches_jik876() {
        // `tests/parity/hifigan_reference.py`: meldataset.mel_spectrogram at 22.05 kHz.
        let fx = fixtures::load("mel_hifigan.safetensors");
        let extractor = MelExtractor::new(MelConfig::hifigan()).unwrap();
        let reference = sparse_filterbank(&fx, 80 * 513);
        let max_err = extractor
            .filterbank()
            .weights()
            .iter()
            .zip(&reference)
            .map(|(&w, &r)| (w as f64 - r).abs())
            .fold(0.0, f64::max);
        let max_weight = reference.iter().fold(0.0f64, |m, &v| m.max(v));
        assert!(max_err <= 1e-7 * max_weight, "filterbank error {max_err:e}");

        let input = fx["input"].as_f32();
        let mel = extractor.log_mel(&input).unwrap();
        assert_eq!(vec![mel.n_frames, mel.n_mels], fx["log_mel"].shape);
        // 11025 samples are 43 whole hops: HiFi-GAN framing gives one frame per hop.
        assert_eq!(mel.n_frames, input.len() / 256);
        let err = max_scaled_error(&mel.data, &fx["log_mel"].values);
        assert!(err <= 1e-4, "log-mel max |err| / (1 + |ref|) = {err:e}");
        assert!((extractor.config().frame_centre_s(0.0) - 128.0 / 22050.0).abs() < 1e-12);
    }

    #[test]
    fn mel_configs_read_from_json() {
        let json = serde_json::to_string(&MelConfig::hifigan()).unwrap();
        let back: MelConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, MelConfig::hifigan());
        // Without the framing fields: AudioLDM's centred frames, plain magnitudes.
        let plain: MelConfig = serde_json::from_str(
            r#"{"sample_rate":16000,"n_fft":1024,"hop_length":160,"win_length":1024,
                "n_mels":64,"fmin":0.0,"fmax":8000.0}"#,
        )
        .unwrap();
        assert_eq!(plain, MelConfig::audioldm());
        let bad = MelConfig {
            power_offset: -1.0,
            ..MelConfig::hifigan()
        };
        assert!(MelExtractor::new(bad).is_err());
        let hifigan = MelExtractor::new(MelConfig::hifigan()).unwrap();
        assert!(hifigan.log_mel(&[]).is_err());
        assert!(hifigan.log_mel(&[0.1; 100]).is_err());
    }

    #[test]
    fn tango_preprocessing_matches_reference() {
        let fx = fixtures::load("mel_audioldm.safetensors");
        let input = fx["input"].as_f32();
        let normalized = normalize_wav(&input).unwrap();
        let err = normalized
            .iter()
            .zip(&fx["tango_normalized"].values)
            .map(|(&a, &b)| (a as f64 - b).abs())
            .fold(0.0, f64::max);
        assert!(err <= 1e-6, "normalize_wav max abs error {err:e}");

        let extractor = MelExtractor::audioldm().unwrap();
        for (key, target) in [("tango_fbank_256", 256), ("tango_fbank_128", 128)] {
            let fbank = extractor.tango_fbank(&input, target).unwrap();
            assert_eq!(vec![fbank.n_frames, fbank.n_mels], fx[key].shape, "{key}");
            let err = max_scaled_error(&fbank.data, &fx[key].values);
            assert!(err <= 1e-4, "{key}: max |err| / (1 + |ref|) = {err:e}");
        }

        let log_mel = extractor.log_mel(&input).unwrap();
        let head = MelSpectrogram {
            n_frames: 50,
            data: log_mel.data[..50 * 64].to_vec(),
            ..log_mel
        };
        let padded = pad_spec(&head, 64);
        let err = max_scaled_error(&padded.data, &fx["tango_pad_spec_64"].values);
        assert!(err <= 1e-4, "pad_spec: {err:e}");
        assert!(padded.data[50 * 64..].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn pad_spec_drops_an_odd_band() {
        let mel = MelSpectrogram {
            n_mels: 3,
            n_frames: 2,
            hop_seconds: 0.01,
            data: vec![1., 2., 3., 4., 5., 6.],
        };
        let out = pad_spec(&mel, 3);
        assert_eq!(out.n_mels, 2);
        assert_eq!(out.data, vec![1., 2., 4., 5., 0., 0.]);
        assert_eq!(pad_spec(&mel, 1).data, vec![1., 2.]);
        assert_eq!(pad_spec(&mel, 0).data, Vec::<f32>::new());
    }

    #[test]
    fn layouts_and_accessors() {
        let mel = MelSpectrogram {
            n_mels: 2,
            n_frames: 3,
            hop_seconds: 0.01,
            data: vec![1., 2., 3., 4., 5., 6.],
        };
        assert_eq!(mel.to_mel_major(), vec![1., 3., 5., 2., 4., 6.]);
        assert_eq!(mel.frame(1), Some(&[3.0f32, 4.0][..]));
        assert_eq!(mel.frame(3), None);
        assert_eq!(mel.get(2, 1), Some(6.0));
        assert_eq!(mel.get(0, 2), None);
        assert!((mel.frame_time_s(2) - 0.02).abs() < 1e-12);
    }

    #[test]
    fn edge_cases() {
        let extractor = MelExtractor::audioldm().unwrap();
        assert!(extractor.log_mel(&[]).is_err());
        assert!(extractor.log_mel(&[1.5]).is_err());
        assert!(extractor.log_mel(&[f32::NAN]).is_err());
        let one = extractor.log_mel(&[0.25]).unwrap();
        assert_eq!((one.n_frames, one.n_mels), (1, 64));
        assert!(one.data.iter().all(|v| v.is_finite()));
        let silent = extractor.log_mel(&[0.0; 800]).unwrap();
        assert!(silent.data.iter().all(|&v| v == LOG_MEL_FLOOR.ln()));

        assert!(normalize_wav(&[]).is_err());
        assert_eq!(normalize_wav(&[0.0; 4]).unwrap(), vec![0.0; 4]);
        assert_eq!(tango_waveform(&[0.0; 4], 6).unwrap(), vec![0.0; 6]);
        let fbank = extractor.tango_fbank(&[0.0; 100], 8).unwrap();
        assert_eq!(fbank.n_frames, 8);
        assert!(
            extractor
                .tango_fbank(&[0.1, 0.2], 0)
                .unwrap()
                .data
                .is_empty()
        );
        let mut wav = [f32::NAN, 2.0, -3.0, 0.5];
        sanitize_wav(&mut wav);
        assert_eq!(wav, [0.0, 1.0, -1.0, 0.5]);
        assert_eq!(pad_wav(&[1.0, 2.0, 3.0], 2), vec![1.0, 2.0]);
        assert_eq!(pad_wav(&[1.0], 3), vec![1.0, 0.0, 0.0]);

        assert!(MelFilterbank::new(16000.0, 1024, 0, 0.0, 8000.0).is_err());
        assert!(MelFilterbank::new(16000.0, 1024, 64, 8000.0, 100.0).is_err());
        assert!(MelFilterbank::new(f64::NAN, 1024, 64, 0.0, 8000.0).is_err());
        let buffer = AudioBuffer::new(44100, 1, vec![0.0; 100]);
        assert!(extractor.log_mel_buffer(&buffer).is_err());
    }
}
