//! Stage (b): the vocoder, a small HiFi-GAN generator trained on real recordings with the
//! log-mel L1 of HiFi-GAN and the multi-resolution STFT loss of Parallel WaveGAN. The
//! discriminators (and their adversarial and feature-matching terms) are left out: they
//! double the cost of a step and pay off only after far more steps than a CPU budget allows,
//! while the spectral losses alone already give an intelligible, artefact-limited vocoder.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};

use super::dataset::{SoundSet, Split};
use super::run::Run;
use super::spectral::{Spectral, stft_loss};
use super::vae::{random_crops, starting_weights};
use super::{TrainProgress, fit, scalar};
use crate::dsp::mel::{MelExtractor, sanitize_wav, tango_waveform};
use crate::error::{Error, Result};
use crate::models::vocoder::{HifiGan, VocoderConfig};
use crate::models::weights::save_safetensors;

/// Stage name.
pub const STAGE: &str = "vocoder";
/// Mel frames per training segment (0.32 s).
const SEGMENT_FRAMES: usize = 32;
/// STFT sizes of the multi-resolution loss (at 16 kHz).
const RESOLUTIONS: [(usize, usize); 3] = [(256, 64), (512, 128), (1024, 256)];

/// Train the vocoder of the model in `model_dir` on `set`; the result is written back.
pub fn train_vocoder(
    model_dir: &Path,
    set: &SoundSet,
    run: &mut Run,
    device: &Device,
    progress: &mut dyn FnMut(&TrainProgress),
) -> Result<()> {
    let dir = model_dir.join("vocoder");
    let cfg = VocoderConfig::from_file(&dir.join("config.json"))?;
    let weights_path = dir.join("model.safetensors");
    let ad = device.clone().autodiff();
    let w = starting_weights(run, &weights_path, &ad)?;
    let vocoder = HifiGan::load(&cfg, &w)?;
    let names = w.param_names();
    let mel = MelExtractor::audioldm()?;
    let hop = mel.config().hop_length;
    if cfg.hop() != hop {
        return Err(Error::media(
            &dir,
            format!("vocoder hop {} differs from the mel hop {hop}", cfg.hop()),
        ));
    }
    let mel_loss = Spectral::new(1024, hop, Some(mel.filterbank()), &ad);
    let stfts: Vec<Spectral> = RESOLUTIONS
        .iter()
        .map(|&(n, h)| Spectral::new(n, h, None, &ad))
        .collect();
    let pool = set.split(Split::Train);
    if pool.is_empty() {
        return Err(Error::invalid("the sound set has no training sounds"));
    }
    let batch = run.state.settings.batch;
    let samples = SEGMENT_FRAMES * hop;
    let vocoder = fit(
        run,
        vocoder,
        &names,
        |voc, rng| {
            let mut waves = Vec::with_capacity(batch * samples);
            let mut mels = Vec::with_capacity(batch * SEGMENT_FRAMES * 64);
            for c in random_crops(set, &pool, batch, samples, rng) {
                let mut wave = tango_waveform(&c, samples)?;
                sanitize_wav(&mut wave);
                mels.extend(mel.tango_fbank(&wave, SEGMENT_FRAMES)?.data);
                waves.extend(wave);
            }
            let n_mels = mels.len() / (batch * SEGMENT_FRAMES);
            let input =
                Tensor::<3>::from_data(TensorData::new(mels, [batch, SEGMENT_FRAMES, n_mels]), &ad);
            let target = Tensor::<2>::from_data(TensorData::new(waves, [batch, samples]), &ad);
            let pred = voc.forward(input).narrow(1, 0, samples);
            let mel_l1 = (mel_loss.log_mel(pred.clone()) - mel_loss.log_mel(target.clone()))
                .abs()
                .mean();
            let mut sc_sum: Option<Tensor<1>> = None;
            let mut mag_sum: Option<Tensor<1>> = None;
            for s in &stfts {
                let (sc, mag) = stft_loss(s, pred.clone(), target.clone());
                sc_sum = Some(sc_sum.map_or(sc.clone(), |a| a + sc));
                mag_sum = Some(mag_sum.map_or(mag.clone(), |a| a + mag));
            }
            let k = RESOLUTIONS.len() as f64;
            let sc = sc_sum.expect("resolutions").div_scalar(k);
            let mag = mag_sum.expect("resolutions").div_scalar(k);
            let loss = mel_l1.clone() + sc.clone() + mag.clone();
            let terms = vec![
                ("loss", scalar(&loss)),
                ("mel_l1", scalar(&mel_l1)),
                ("sc", scalar(&sc)),
                ("log_mag", scalar(&mag)),
            ];
            Ok((loss, terms))
        },
        progress,
    )?;
    save_safetensors(&weights_path, &run.result(names.state_of(&vocoder)))
}

/// Vocoder quality on validation audio.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VocoderValidation {
    /// Segments scored.
    pub segments: usize,
    /// Mean L1 between the log-mel of the vocoded and the real audio.
    pub mel_l1: f64,
    /// The same for Griffin-Lim phase reconstruction (32 iterations) of the same mels: the
    /// vocoder-free baseline.
    pub griffin_lim_mel_l1: f64,
}

/// Score the vocoder of `model_dir` on `count` fixed 1.28 s validation segments.
pub fn validate_vocoder(
    model_dir: &Path,
    set: &SoundSet,
    count: usize,
    device: &Device,
) -> Result<VocoderValidation> {
    use crate::dsp::griffin_lim::{GriffinLimConfig, log_mel_to_audio};
    let dir = model_dir.join("vocoder");
    let cfg = VocoderConfig::from_file(&dir.join("config.json"))?;
    let w = crate::models::weights::Weights::from_files(&[dir.join("model.safetensors")], device)?;
    let voc = HifiGan::load(&cfg, &w)?;
    let mel = MelExtractor::audioldm()?;
    let frames = 128;
    let samples = frames * mel.config().hop_length;
    let pool = super::vae::validation_pool(set)?;
    let mut rng = crate::noise::NoiseRng::new(0xE7A2);
    let (mut ours, mut gl) = (0.0, 0.0);
    let l1 = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| f64::from((x - y).abs()))
            .sum::<f64>()
            / a.len().max(1) as f64
    };
    for c in random_crops(set, &pool, count, samples, &mut rng) {
        let mut wave = tango_waveform(&c, samples)?;
        sanitize_wav(&mut wave);
        let m = mel.tango_fbank(&wave, frames)?;
        let input = Tensor::<3>::from_data(
            TensorData::new(m.data.clone(), [1, frames, m.n_mels]),
            device,
        );
        let out = voc
            .forward(input)
            .narrow(1, 0, samples)
            .into_data()
            .try_into_vec::<f32>()
            .map_err(|e| Error::invalid(format!("{e:?}")))?;
        let mut out = out;
        sanitize_wav(&mut out);
        ours += l1(&mel.tango_fbank(&out, frames)?.data, &m.data);
        let mut g = log_mel_to_audio(&mel, &m, &GriffinLimConfig::default())?;
        g.resize(samples, 0.0);
        sanitize_wav(&mut g);
        gl += l1(&mel.tango_fbank(&g, frames)?.data, &m.data);
    }
    Ok(VocoderValidation {
        segments: count,
        mel_l1: ours / count.max(1) as f64,
        griffin_lim_mel_l1: gl / count.max(1) as f64,
    })
}
