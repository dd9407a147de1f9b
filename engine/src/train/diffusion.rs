//! Stage (c): the U-Net with its adapters (paper section 3.4). The encoders (MiniLM, motion
//! features, the mel reference tokens) and the VAE are frozen; the latent of each synthetic
//! clip is noised at a random timestep and the network predicts the schedule's target
//! (v for Tango's schedule). Condition dropout for classifier-free guidance: with
//! probability 0.1 a row gets the unconditional inputs the pipeline uses (empty text, zero
//! adapter inputs), and text and picture are also dropped on their own (0.05 each), so
//! generations with one condition ablated stay in distribution. Half the batches carry a
//! reference sound: another excerpt of the same recording.

use std::collections::BTreeSet;
use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};

use super::dataset::{SoundSet, Split};
use super::run::Run;
use super::synth::{ClipSpec, synth_clip};
use super::vae::{crop, mel_batch};
use super::{TrainProgress, fit, scalar};
use crate::audio::AudioBuffer;
use crate::dsp::mel::MelExtractor;
use crate::error::{Error, Result};
use crate::features::reference::mel_tokens;
use crate::models::adapters::{AdapterScales, ConditionInputs};
use crate::models::unet::{UNet2DConditionModel, UNetConfig};
use crate::models::weights::{ParamNames, StateDict, Weights, save_safetensors};
use crate::pipeline::model::{FrameEncoder, Model, ReferenceEncoder, SAMPLE_RATE, VideoEncoder};
use crate::schedule::Prediction;

/// Stage name.
pub const STAGE: &str = "unet";
/// Probability that a row is fully unconditional.
const DROP_ALL: f64 = 0.1;
/// Probability that only the text, or only the picture, is dropped.
const DROP_ONE: f64 = 0.05;
/// Seconds of reference sound per training row.
const REFERENCE_SECONDS: f64 = 1.28;

/// The motion-feature shape the model reads.
fn clip_spec(model: &Model) -> Result<ClipSpec> {
    let FrameEncoder::Motion { count, grid } = model.frames else {
        return Err(Error::invalid(
            "training is for the default tier (motion frame features)",
        ));
    };
    if !matches!(model.video, VideoEncoder::Motion { grid: g } if g == grid) {
        return Err(Error::invalid(
            "training needs motion video features on the frame features' grid",
        ));
    }
    Ok(ClipSpec {
        window_s: model.window_seconds(),
        frame_count: count,
        grid,
    })
}

/// The U-Net and its adapter on the training device, with their checkpoint names.
fn trainable_unet(
    model: &Model,
    run: &Run,
    device: &Device,
) -> Result<(UNet2DConditionModel, ParamNames)> {
    let adapter = model
        .adapter
        .as_ref()
        .ok_or_else(|| Error::media(&model.dir, "has no adapter to train"))?;
    let files = model.files();
    let cfg = &UNetConfig::from_file(&files.unet_config)?;
    if run.resumed() {
        let w = Weights::from_files(&[run.weights_path()], device)?;
        let unet = UNet2DConditionModel::load(cfg, &w, Some((&w, adapter)))?;
        return Ok((unet, w.param_names()));
    }
    let adapter_file = files
        .adapter
        .ok_or_else(|| Error::media(&model.dir, "has no adapter to train"))?;
    let wb = Weights::from_files(&[files.unet], device)?;
    let wa = Weights::from_files(&[adapter_file], device)?;
    let unet = UNet2DConditionModel::load(cfg, &wb, Some((&wa, adapter)))?;
    let mut names = wb.param_names();
    names.extend(wa.param_names());
    Ok((unet, names))
}

/// Split a combined U-Net state into backbone and adapter parts.
fn split_state(state: StateDict, adapter_names: &BTreeSet<String>) -> (StateDict, StateDict) {
    state
        .into_iter()
        .partition(|(name, _)| !adapter_names.contains(name))
}

/// Train the U-Net and adapters of the model in `model_dir` on synthetic clips from `set`;
/// the result is written back to the model's files.
pub fn train_unet(
    model_dir: &Path,
    set: &SoundSet,
    run: &mut Run,
    device: &Device,
    progress: &mut dyn FnMut(&TrainProgress),
) -> Result<()> {
    let model = Model::load(model_dir, device)?;
    let spec = clip_spec(&model)?;
    let prediction = model.schedule.config.prediction_type;
    let ReferenceEncoder::Mel { token_seconds } = model.reference else {
        return Err(Error::invalid("training reads mel reference tokens"));
    };
    let ad = device.clone().autodiff();
    let (unet, names) = trainable_unet(&model, run, &ad)?;
    let adapter_names: BTreeSet<String> =
        unet.adapter_state().into_iter().map(|(n, _)| n).collect();
    let mel = MelExtractor::audioldm()?;
    let frames = (spec.window_s / mel.config().hop_seconds()).round() as usize;
    let pool = set.split(Split::Train);
    if pool.is_empty() {
        return Err(Error::invalid("the sound set has no training sounds"));
    }
    let batch = run.state.settings.batch;
    let train_steps = model.schedule.config.num_train_timesteps;
    let unet = fit(
        run,
        unet,
        &names,
        |unet, rng| {
            let clips: Vec<_> = (0..batch)
                .map(|_| synth_clip(set, pool[rng.below(pool.len())], &spec, rng))
                .collect();
            // Frozen parts on the plain device: VAE latents and text states.
            let audio: Vec<Vec<f32>> = clips.iter().map(|c| c.audio.clone()).collect();
            let x = mel_batch(&mel, &audio, frames, device)?;
            let (mean, logvar) = model.vae.encode(x);
            let eps = rng.tensor(mean.dims(), device);
            let z = (mean + (logvar * 0.5).exp() * eps).mul_scalar(model.vae.scaling_factor());
            let shape = z.dims();
            let z = to_device(z, &ad)?;

            let mut captions = Vec::with_capacity(batch);
            let mut keep_visual = Vec::with_capacity(batch);
            let mut keep_any = Vec::with_capacity(batch);
            for c in &clips {
                let u = rng.uniform();
                let (text, visual) = if u < DROP_ALL {
                    (false, false)
                } else if u < DROP_ALL + DROP_ONE {
                    (false, true)
                } else if u < DROP_ALL + 2.0 * DROP_ONE {
                    (true, false)
                } else {
                    (true, true)
                };
                captions.push(if text {
                    set.index.sounds[c.sound].caption.as_str()
                } else {
                    ""
                });
                keep_visual.push(visual);
                keep_any.push(u >= DROP_ALL);
            }
            let (states, mask) = model.text.encode(&captions)?;
            let states = to_device(states, &ad)?;
            let mask = to_device(mask, &ad)?;

            let rows = |values: &dyn Fn(usize) -> Vec<f32>, keep: &[bool]| -> Vec<f32> {
                (0..batch)
                    .flat_map(|i| {
                        let v = values(i);
                        if keep[i] { v } else { vec![0.0; v.len()] }
                    })
                    .collect()
            };
            let df = clips[0].frames.len() / spec.frame_count;
            let dv = clips[0].video.len();
            let frames_t = Tensor::<3>::from_data(
                TensorData::new(
                    rows(&|i| clips[i].frames.clone(), &keep_visual),
                    [batch, spec.frame_count, df],
                ),
                &ad,
            );
            let video_t = Tensor::<2>::from_data(
                TensorData::new(rows(&|i| clips[i].video.clone(), &keep_visual), [batch, dv]),
                &ad,
            );
            let audio_t = if rng.uniform() < 0.5 {
                let mut tokens = Vec::new();
                let mut n = 0;
                for c in &clips {
                    let excerpt = crop(
                        set.samples(c.sound),
                        (REFERENCE_SECONDS * f64::from(SAMPLE_RATE)) as usize,
                        rng,
                    );
                    let buf = AudioBuffer::new(SAMPLE_RATE, 1, excerpt);
                    let (v, k) = mel_tokens(&buf, token_seconds, REFERENCE_SECONDS)?;
                    n = k;
                    tokens.push(v);
                }
                let values = rows(&|i| tokens[i].clone(), &keep_any);
                Some(Tensor::<3>::from_data(
                    TensorData::new(values, [batch, n, 64]),
                    &ad,
                ))
            } else {
                None
            };
            let cond = unet.conditions(
                states,
                Some(mask),
                &ConditionInputs {
                    video: Some(video_t),
                    frames: Some(frames_t),
                    audio: audio_t,
                },
                AdapterScales::default(),
            );

            let steps: Vec<usize> = (0..batch).map(|_| rng.below(train_steps)).collect();
            let coef = |f: &dyn Fn(f64) -> f64| -> Tensor<4> {
                let v: Vec<f32> = steps
                    .iter()
                    .map(|&t| f(model.schedule.alpha_bar(t)) as f32)
                    .collect();
                Tensor::from_data(TensorData::new(v, [batch, 1, 1, 1]), &ad)
            };
            let (sa, sb) = (coef(&|a| a.sqrt()), coef(&|a| (1.0 - a).sqrt()));
            let noise = rng.tensor(shape, &ad);
            let noisy = z.clone() * sa.clone() + noise.clone() * sb.clone();
            let target = match prediction {
                Prediction::VPrediction => noise * sa - z * sb,
                Prediction::Epsilon => noise,
            };
            let t = Tensor::<1>::from_data(
                TensorData::new(steps.iter().map(|&s| s as f32).collect::<Vec<_>>(), [batch]),
                &ad,
            );
            let pred = unet.forward(noisy, t, &cond);
            let loss = (pred - target).powi_scalar(2).mean();
            Ok((loss.clone(), vec![("loss", scalar(&loss))]))
        },
        progress,
    )?;
    let (base, adapter) = split_state(run.result(names.state_of(&unet)), &adapter_names);
    let files = model.files();
    save_safetensors(&files.unet, &base)?;
    if let Some(path) = &files.adapter {
        save_safetensors(path, &adapter)?;
    }
    Ok(())
}

/// A tensor moved to another device through the host (frozen outputs into the graph).
fn to_device<const D: usize>(t: Tensor<D>, device: &Device) -> Result<Tensor<D>> {
    Ok(Tensor::from_data(t.into_data(), device))
}
