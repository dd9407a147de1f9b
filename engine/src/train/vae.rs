//! Stage (a): the mel VAE. Reconstruction (L1 on the log-mel) plus a small KL term, as the
//! latent-diffusion autoencoders are trained; no adversarial term, which needs a
//! discriminator and many more steps than a CPU budget allows. At the end the latent scale
//! is measured and written to the configuration, so diffusion sees unit-variance latents.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};

use super::dataset::{SoundSet, Split};
use super::run::Run;
use super::{TrainProgress, fit, scalar};
use crate::dsp::mel::MelExtractor;
use crate::error::{Error, Result};
use crate::models::vae::{AutoencoderKL, VaeConfig};
use crate::models::weights::{Weights, save_safetensors};
use crate::noise::NoiseRng;
use crate::pipeline::presets::write_json;

/// Stage name.
pub const STAGE: &str = "vae";
/// Weight of the KL term (AudioLDM's order of magnitude).
const KL_WEIGHT: f64 = 1e-6;
/// Mel frames per training crop (1.28 s; the network is convolutional up to its middle
/// attention, and shorter crops halve the cost of a step).
pub const CROP_FRAMES: usize = 128;

/// A random excerpt of `sound` placed in a `samples`-long window of silence (a long sound is
/// cut at a random point, a short one starts at a random point).
pub fn crop(sound: &[f32], samples: usize, rng: &mut NoiseRng) -> Vec<f32> {
    let mut out = vec![0f32; samples];
    if sound.len() >= samples {
        let start = rng.below(sound.len() - samples + 1);
        out.copy_from_slice(&sound[start..start + samples]);
    } else {
        let at = rng.below(samples - sound.len() + 1);
        out[at..at + sound.len()].copy_from_slice(sound);
    }
    out
}

/// Log-mel spectrograms `[B, 1, frames, n_mels]` of waveform crops, as the pipeline's
/// training and Tango's data loader compute them (normalised, then AudioLDM's log-mel).
pub fn mel_batch(
    mel: &MelExtractor,
    crops: &[Vec<f32>],
    frames: usize,
    device: &Device,
) -> Result<Tensor<4>> {
    let mut data = Vec::with_capacity(crops.len() * frames * 64);
    let mut n_mels = 0;
    for c in crops {
        let m = mel.tango_fbank(c, frames)?;
        n_mels = m.n_mels;
        data.extend_from_slice(&m.data);
    }
    Ok(Tensor::from_data(
        TensorData::new(data, [crops.len(), 1, frames, n_mels]),
        device,
    ))
}

/// Random training crops of `samples` samples from `split`.
pub fn random_crops(
    set: &SoundSet,
    pool: &[usize],
    batch: usize,
    samples: usize,
    rng: &mut NoiseRng,
) -> Vec<Vec<f32>> {
    (0..batch)
        .map(|_| crop(set.samples(pool[rng.below(pool.len())]), samples, rng))
        .collect()
}

/// The weights a stage starts from: the run's last checkpoint, else the model's own file.
pub fn starting_weights(run: &Run, model_file: &Path, device: &Device) -> Result<Weights> {
    let file = if run.resumed() {
        run.weights_path()
    } else {
        model_file.to_path_buf()
    };
    Weights::from_files(&[file], device)
}

/// Train the VAE of the model in `model_dir` on `set`; the result (and the measured latent
/// scale) is written back to the model.
pub fn train_vae(
    model_dir: &Path,
    set: &SoundSet,
    run: &mut Run,
    device: &Device,
    progress: &mut dyn FnMut(&TrainProgress),
) -> Result<()> {
    let dir = model_dir.join("vae");
    let config_path = dir.join("config.json");
    let weights_path = dir.join("diffusion_pytorch_model.safetensors");
    let mut cfg = VaeConfig::from_file(&config_path)?;
    let ad = device.clone().autodiff();
    let w = starting_weights(run, &weights_path, &ad)?;
    let vae = AutoencoderKL::load(&cfg, &w)?;
    let names = w.param_names();
    let mel = MelExtractor::audioldm()?;
    let pool = set.split(Split::Train);
    if pool.is_empty() {
        return Err(Error::invalid("the sound set has no training sounds"));
    }
    let batch = run.state.settings.batch;
    let samples = CROP_FRAMES * mel.config().hop_length;
    let vae = fit(
        run,
        vae,
        &names,
        |vae, rng| {
            let crops = random_crops(set, &pool, batch, samples, rng);
            let x = mel_batch(&mel, &crops, CROP_FRAMES, &ad)?;
            let (mean, logvar) = vae.encode(x.clone());
            let eps = rng.tensor(mean.dims(), &ad);
            let z = mean.clone() + (logvar.clone() * 0.5).exp() * eps;
            let recon = vae.decode(z);
            let l1 = (recon - x).abs().mean();
            let kl = (mean.powi_scalar(2) + logvar.clone().exp() - logvar)
                .sub_scalar(1.0)
                .sum()
                .mul_scalar(0.5 / batch as f64);
            let loss = l1.clone() + kl.clone() * KL_WEIGHT;
            let terms = vec![
                ("loss", scalar(&loss)),
                ("l1", scalar(&l1)),
                ("kl", scalar(&kl)),
            ];
            Ok((loss, terms))
        },
        progress,
    )?;
    // The weights handed on (the average, when kept), and the latent scale measured on them:
    // one over the standard deviation of posterior means of training crops.
    save_safetensors(&weights_path, &run.result(names.state_of(&vae)))?;
    let vae = AutoencoderKL::load(
        &cfg,
        &Weights::from_files(std::slice::from_ref(&weights_path), device)?,
    )?;
    let mut rng = NoiseRng::new(run.state.settings.seed ^ 0x5CA1E);
    let crops = random_crops(set, &pool, 32, samples, &mut rng);
    let mut values = Vec::new();
    for chunk in crops.chunks(8) {
        let (mean, _) = vae.encode(mel_batch(&mel, chunk, CROP_FRAMES, device)?);
        values.extend(
            mean.into_data()
                .try_into_vec::<f32>()
                .map_err(|e| Error::invalid(format!("{e:?}")))?,
        );
    }
    let n = values.len() as f64;
    let mu = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|&v| (f64::from(v) - mu).powi(2))
        .sum::<f64>()
        / n;
    cfg.scaling_factor = 1.0 / var.sqrt().max(1e-6);
    write_json(&config_path, &cfg)
}

/// Mean L1 of the log-mel reconstruction (posterior mean, no sampling) over `count` fixed
/// validation crops of the model in `model_dir`.
pub fn validate_vae(
    model_dir: &Path,
    set: &SoundSet,
    count: usize,
    device: &Device,
) -> Result<f64> {
    let dir = model_dir.join("vae");
    let cfg = VaeConfig::from_file(&dir.join("config.json"))?;
    let w = Weights::from_files(&[dir.join("diffusion_pytorch_model.safetensors")], device)?;
    let vae = AutoencoderKL::load(&cfg, &w)?;
    let mel = MelExtractor::audioldm()?;
    let pool = validation_pool(set)?;
    let mut rng = NoiseRng::new(0xE7A1);
    let samples = CROP_FRAMES * mel.config().hop_length;
    let crops = random_crops(set, &pool, count, samples, &mut rng);
    let mut total = 0.0;
    for chunk in crops.chunks(8) {
        let x = mel_batch(&mel, chunk, CROP_FRAMES, device)?;
        let (mean, _) = vae.encode(x.clone());
        let l1 = (vae.decode(mean) - x).abs().mean();
        total += scalar(&l1) * chunk.len() as f64;
    }
    Ok(total / crops.len().max(1) as f64)
}

/// The validation sounds (the training sounds when the set holds out none).
pub fn validation_pool(set: &SoundSet) -> Result<Vec<usize>> {
    let val = set.split(Split::Validation);
    let pool = if val.is_empty() {
        set.split(Split::Train)
    } else {
        val
    };
    if pool.is_empty() {
        return Err(Error::invalid("the sound set is empty"));
    }
    Ok(pool)
}
