//! A pretrained vocoder trained on a mel front end other than the diffusion model's: the
//! bundled universal HiFi-GAN (`assets/models/hifigan-universal`, 80 bands at 22.05 kHz).
//! The model's 64-band 16 kHz log-mels are mapped onto its front end ([`MelMap`]), vocoded
//! in one batch, and the waveforms resampled to the model's rate and cut to the model's
//! `hop * frames` samples, so the rest of the pipeline cannot tell it from the model's own
//! vocoder.

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use crate::audio::AudioBuffer;
use crate::dsp::mel::{MelConfig, MelSpectrogram};
use crate::dsp::mel_map::{MelMap, NNLS_ITERATIONS};
use crate::error::{Error, Result};
use crate::models::checkpoint::{config_path, safetensors_files};
use crate::models::vocoder::{HifiGan, VocoderConfig};
use crate::models::weights::Weights;

/// Folder of the bundled universal vocoder under `assets/models/`.
pub const BUNDLED: &str = "hifigan-universal";

/// A vocoder with its own mel front end.
pub struct PretrainedVocoder {
    net: HifiGan,
    map: MelMap,
    config: VocoderConfig,
    dir: PathBuf,
}

impl PretrainedVocoder {
    /// Load a vocoder directory whose `config.json` names its `mel` front end; the model's
    /// spectrograms come from `model_mel`.
    pub fn from_dir(dir: &Path, model_mel: MelConfig, device: &Device) -> Result<Self> {
        let config_file = config_path(dir)?;
        let config = VocoderConfig::from_file(&config_file)?;
        if config.mel.is_none() {
            return Err(Error::media(
                &config_file,
                "a pretrained vocoder's config needs its `mel` front end",
            ));
        }
        let w = Weights::from_files(&safetensors_files(dir, "model")?, device)?;
        let net = HifiGan::load(&config, &w)?;
        Self::new(net, config, model_mel, dir)
    }

    /// A loaded network with its configuration (which must name its `mel` front end), for
    /// spectrograms from `model_mel`; `dir` only names it in messages.
    pub fn new(
        net: HifiGan,
        config: VocoderConfig,
        model_mel: MelConfig,
        dir: &Path,
    ) -> Result<Self> {
        let Some(mel) = config.mel else {
            return Err(Error::media(
                dir,
                "a pretrained vocoder's config needs its `mel` front end",
            ));
        };
        Ok(Self {
            net,
            map: MelMap::new(model_mel, mel, NNLS_ITERATIONS)
                .map_err(|e| Error::media(dir, e.to_string()))?,
            config,
            dir: dir.to_path_buf(),
        })
    }

    /// The directory it was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The network's output rate.
    pub fn sample_rate(&self) -> u32 {
        self.config.sampling_rate
    }

    /// The mel map in front of the network.
    pub fn map(&self) -> &MelMap {
        &self.map
    }

    /// The network.
    pub fn net(&self) -> &HifiGan {
        &self.net
    }

    /// Waveforms at the model's rate, `hop * frames` samples each, from the model's log-mels
    /// (all of one shape).
    pub fn vocode(&self, mels: &[&MelSpectrogram], device: &Device) -> Result<Vec<Vec<f32>>> {
        let Some(first) = mels.first() else {
            return Ok(Vec::new());
        };
        if mels
            .iter()
            .any(|m| m.n_frames != first.n_frames || m.n_mels != first.n_mels)
        {
            return Err(Error::invalid(
                "spectrograms vocoded together must have one shape",
            ));
        }
        let mapped = mels
            .iter()
            .map(|m| self.map.map(m))
            .collect::<Result<Vec<_>>>()?;
        let waves = self.vocode_own(&mapped.iter().collect::<Vec<_>>(), device)?;
        let from = self.map.from_config();
        let length = first.n_frames * from.hop_length;
        waves
            .into_iter()
            .map(|w| {
                let audio = AudioBuffer::new(self.config.sampling_rate, 1, w);
                let mut out = crate::media::resample(&audio, from.sample_rate, 1)?.samples;
                out.resize(length, 0.0);
                Ok(out)
            })
            .collect()
    }

    /// Waveforms at the network's own rate from log-mels of its own front end (all of one
    /// shape): `hop * frames` samples each.
    pub fn vocode_own(&self, mels: &[&MelSpectrogram], device: &Device) -> Result<Vec<Vec<f32>>> {
        let Some(first) = mels.first() else {
            return Ok(Vec::new());
        };
        let (frames, bands) = (first.n_frames, first.n_mels);
        if bands != self.config.model_in_dim
            || mels
                .iter()
                .any(|m| m.n_frames != frames || m.n_mels != bands)
        {
            return Err(Error::invalid(format!(
                "{}: the vocoder takes {}-band spectrograms of one shape",
                self.dir.display(),
                self.config.model_in_dim
            )));
        }
        self.net.vocode(mels, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An untrained 80-band, hop-256 network at 22.05 kHz (4 -> 2 -> 1 channels).
    fn tiny(device: &Device) -> (HifiGan, VocoderConfig) {
        let config = VocoderConfig {
            model_in_dim: 80,
            sampling_rate: 22_050,
            upsample_initial_channel: 8,
            upsample_rates: vec![16, 16],
            upsample_kernel_sizes: vec![32, 32],
            resblock_kernel_sizes: vec![3],
            resblock_dilation_sizes: vec![vec![1, 3]],
            mel: Some(MelConfig::hifigan()),
            ..VocoderConfig::audioldm()
        };
        (
            HifiGan::load(&config, &Weights::fresh(device)).unwrap(),
            config,
        )
    }

    #[test]
    fn vocodes_model_mels_at_the_model_rate_and_length() {
        let device = Device::flex();
        let (net, config) = tiny(&device);
        let voc =
            PretrainedVocoder::new(net, config, MelConfig::audioldm(), Path::new("tiny")).unwrap();
        assert_eq!(voc.sample_rate(), 22_050);
        let quiet = MelSpectrogram {
            n_mels: 64,
            n_frames: 10,
            hop_seconds: 0.01,
            data: vec![-6.0; 640],
        };
        let loud = MelSpectrogram {
            data: (0..640).map(|i| -4.0 + (i % 64) as f32 * 0.05).collect(),
            ..quiet.clone()
        };
        let waves = voc.vocode(&[&quiet, &loud], &device).unwrap();
        assert_eq!(waves.len(), 2);
        assert!(waves.iter().all(|w| w.len() == 10 * 160));
        assert!(waves.iter().flatten().all(|v| v.is_finite()));
        assert_ne!(waves[0], waves[1]);
        // One batch or one at a time: the same waveform.
        let alone = voc.vocode(&[&loud], &device).unwrap();
        let err = alone[0]
            .iter()
            .zip(&waves[1])
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(err < 1e-5, "batching changes a waveform by {err}");
        assert!(voc.vocode(&[], &device).unwrap().is_empty());

        let short = MelSpectrogram {
            n_frames: 5,
            data: vec![-6.0; 320],
            ..quiet.clone()
        };
        assert!(voc.vocode(&[&quiet, &short], &device).is_err());
        let wrong = MelSpectrogram {
            n_mels: 80,
            n_frames: 8,
            hop_seconds: 0.01,
            data: vec![-6.0; 640],
        };
        assert!(voc.vocode(&[&wrong], &device).is_err());
        assert!(voc.vocode_own(&[&quiet], &device).is_err());

        let (net, plain) = tiny(&device);
        let no_mel = VocoderConfig { mel: None, ..plain };
        assert!(
            PretrainedVocoder::new(net, no_mel, MelConfig::audioldm(), Path::new("x")).is_err()
        );
    }

    #[test]
    fn the_bundled_vocoder_loads_with_its_front_end() {
        let dir = crate::pipeline::model::assets_dir()
            .join("models")
            .join(BUNDLED);
        let config = VocoderConfig::from_file(&dir.join("config.json")).unwrap();
        assert_eq!(config.mel, Some(MelConfig::hifigan()));
        assert_eq!(config.hop(), 256);
        assert!(!config.normalize_before);
        let err = PretrainedVocoder::from_dir(
            &dir.join("missing"),
            MelConfig::audioldm(),
            &Device::flex(),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("missing"), "{err}");
    }
}
