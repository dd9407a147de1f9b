//! Stage (c): the U-Net with its adapters (paper section 3.4). The encoders (MiniLM, motion
//! features, the mel reference tokens) and the VAE are frozen; the latent of each synthetic
//! clip is noised at a random timestep and the network predicts the schedule's target
//! (v for Tango's schedule). Condition dropout for classifier-free guidance: with
//! probability 0.1 a row gets the unconditional inputs the pipeline uses (empty text, zero
//! adapter inputs), and text and picture are also dropped on their own (0.05 each), so
//! generations with one condition ablated stay in distribution. Half the batches carry a
//! reference sound, 0.32 s up to a window long: an excerpt of another recording of the same
//! kind (the same caption) where the set has one, else of the same recording, so the model
//! learns to vary a take of a sound rather than to copy the take it is given.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};

use super::dataset::{SoundSet, Split};
use super::run::Run;
use super::synth::{ClipSpec, SynthClip, synth_clip};
use super::vae::{crop, mel_batch};
use super::{TrainProgress, fit, scalar};
use crate::audio::AudioBuffer;
use crate::dsp::mel::MelExtractor;
use crate::error::{Error, Result};
use crate::features::reference::mel_tokens;
use crate::models::adapters::{AdapterScales, ConditionInputs};
use crate::models::unet::{UNet2DConditionModel, UNetConfig};
use crate::models::weights::{ParamNames, StateDict, Weights, save_safetensors};
use crate::noise::NoiseRng;
use crate::pipeline::model::{FrameEncoder, Model, ReferenceEncoder, SAMPLE_RATE, VideoEncoder};
use crate::schedule::Prediction;

/// Stage name.
pub const STAGE: &str = "unet";
/// Probability that a row is fully unconditional.
const DROP_ALL: f64 = 0.1;
/// Probability that only the text, or only the picture, is dropped.
const DROP_ONE: f64 = 0.05;
/// Shortest reference excerpt in seconds; the longest is the window, the most the pipeline
/// reads of a reference.
const MIN_REFERENCE_SECONDS: f64 = 0.32;

/// The motion-feature shape the model reads.
fn clip_spec(model: &Model) -> Result<ClipSpec> {
    let FrameEncoder::Motion { kind, count, grid } = model.frames else {
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
        tokens: kind,
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

/// One row of a batch: a clip and which of its conditions are kept.
struct Row {
    clip: SynthClip,
    text: bool,
    visual: bool,
}

/// Draw the condition dropout of a row.
fn dropout(clip: SynthClip, rng: &mut NoiseRng) -> Row {
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
    Row { clip, text, visual }
}

/// What the diffusion loss of a batch needs besides the network.
struct Objective<'a> {
    model: &'a Model,
    set: &'a SoundSet,
    mel: MelExtractor,
    frames: usize,
    spec: ClipSpec,
    token_seconds: f64,
    device: &'a Device,
    ad: Device,
    /// Sounds of each caption and split: a row's reference is another recording of the same
    /// kind of sound where there is one, so the model learns to vary a take, not to copy it.
    kin: HashMap<(String, Split), Vec<usize>>,
}

impl Objective<'_> {
    /// The recording a row's reference is cut from: another sound with the same caption
    /// in the same split, else the row's own.
    fn reference_sound(&self, sound: usize, rng: &mut NoiseRng) -> usize {
        let s = &self.set.index.sounds[sound];
        match self.kin.get(&(s.caption.clone(), s.split)) {
            Some(kin) if kin.len() > 1 => {
                let other = kin[rng.below(kin.len() - 1)];
                // Skip the row's own sound by taking the last one in its place.
                if other == sound {
                    kin[kin.len() - 1]
                } else {
                    other
                }
            }
            _ => sound,
        }
    }

    /// The mean squared error of `unet`'s prediction over `rows` noised at `steps`; with
    /// `reference` seconds, each row also gets another excerpt of its recording as reference
    /// sound (zeros in fully unconditional rows, as in the pipeline's unconditional rows).
    fn loss(
        &self,
        unet: &UNet2DConditionModel,
        rows: &[Row],
        reference: Option<f64>,
        steps: &[usize],
        rng: &mut NoiseRng,
    ) -> Result<Tensor<1>> {
        let (batch, ad, spec) = (rows.len(), &self.ad, &self.spec);
        // Frozen parts on the plain device: VAE latents and text states.
        let audio: Vec<Vec<f32>> = rows.iter().map(|r| r.clip.audio.clone()).collect();
        let x = mel_batch(&self.mel, &audio, self.frames, self.device)?;
        let vae = &self.model.vae;
        let (mean, logvar) = vae.encode(x);
        let eps = rng.tensor(mean.dims(), self.device);
        let z = (mean + (logvar * 0.5).exp() * eps).mul_scalar(vae.scaling_factor());
        let shape = z.dims();
        let z = to_device(z, ad)?;

        let captions: Vec<&str> = rows
            .iter()
            .map(|r| {
                if r.text {
                    self.set.index.sounds[r.clip.sound].caption.as_str()
                } else {
                    ""
                }
            })
            .collect();
        let (states, mask) = self.model.text.encode(&captions)?;
        let (states, mask) = (to_device(states, ad)?, to_device(mask, ad)?);
        let keep = |values: &[f32], kept: bool| -> Vec<f32> {
            if kept {
                values.to_vec()
            } else {
                vec![0.0; values.len()]
            }
        };
        let df = rows[0].clip.frames.len() / spec.frame_count;
        let dv = rows[0].clip.video.len();
        let frames: Vec<f32> = rows
            .iter()
            .flat_map(|r| keep(&r.clip.frames, r.visual))
            .collect();
        let video: Vec<f32> = rows
            .iter()
            .flat_map(|r| keep(&r.clip.video, r.visual))
            .collect();
        let audio_t = if let Some(seconds) = reference {
            let mut tokens = Vec::new();
            let mut n = 0;
            for r in rows {
                let source = self.reference_sound(r.clip.sound, rng);
                let excerpt = crop(
                    self.set.samples(source),
                    (seconds * f64::from(SAMPLE_RATE)) as usize,
                    rng,
                );
                let buf = AudioBuffer::new(SAMPLE_RATE, 1, excerpt);
                let (v, k) = mel_tokens(&buf, self.token_seconds, seconds)?;
                n = k;
                tokens.extend(keep(&v, r.text || r.visual));
            }
            Some(Tensor::<3>::from_data(
                TensorData::new(tokens, [batch, n, 64]),
                ad,
            ))
        } else {
            None
        };
        let cond = unet.conditions(
            states,
            Some(mask),
            &ConditionInputs {
                video: Some(Tensor::from_data(TensorData::new(video, [batch, dv]), ad)),
                frames: Some(Tensor::from_data(
                    TensorData::new(frames, [batch, spec.frame_count, df]),
                    ad,
                )),
                audio: audio_t,
            },
            AdapterScales::default(),
        );

        let schedule = &self.model.schedule;
        let coef = |f: &dyn Fn(f64) -> f64| -> Tensor<4> {
            let v: Vec<f32> = steps
                .iter()
                .map(|&t| f(schedule.alpha_bar(t)) as f32)
                .collect();
            Tensor::from_data(TensorData::new(v, [batch, 1, 1, 1]), ad)
        };
        let (sa, sb) = (coef(&|a| a.sqrt()), coef(&|a| (1.0 - a).sqrt()));
        let noise = rng.tensor(shape, ad);
        let noisy = z.clone() * sa.clone() + noise.clone() * sb.clone();
        let target = match schedule.config.prediction_type {
            Prediction::VPrediction => noise * sa - z * sb,
            Prediction::Epsilon => noise,
        };
        let t = Tensor::<1>::from_data(
            TensorData::new(steps.iter().map(|&s| s as f32).collect::<Vec<_>>(), [batch]),
            ad,
        );
        let pred = unet.forward(noisy, t, &cond);
        Ok((pred - target).powi_scalar(2).mean())
    }
}

/// The objective for `model`, after checking that it is a default-tier model.
fn objective<'a>(
    model: &'a Model,
    set: &'a SoundSet,
    device: &'a Device,
    ad: Device,
) -> Result<Objective<'a>> {
    let spec = clip_spec(model)?;
    let ReferenceEncoder::Mel { token_seconds } = model.reference else {
        return Err(Error::invalid("training reads mel reference tokens"));
    };
    let mel = MelExtractor::audioldm()?;
    let mut kin: HashMap<(String, Split), Vec<usize>> = HashMap::new();
    for (i, s) in set.index.sounds.iter().enumerate() {
        kin.entry((s.caption.clone(), s.split)).or_default().push(i);
    }
    Ok(Objective {
        kin,
        frames: (spec.window_s / mel.config().hop_seconds()).round() as usize,
        mel,
        model,
        set,
        spec,
        token_seconds,
        device,
        ad,
    })
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
    let ad = device.clone().autodiff();
    let obj = objective(&model, set, device, ad.clone())?;
    let (unet, names) = trainable_unet(&model, run, &ad)?;
    let adapter_names: BTreeSet<String> =
        unet.adapter_state().into_iter().map(|(n, _)| n).collect();
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
            let rows: Vec<Row> = (0..batch)
                .map(|_| {
                    let clip = synth_clip(set, pool[rng.below(pool.len())], &obj.spec, rng);
                    dropout(clip, rng)
                })
                .collect();
            let reference = if rng.uniform() < 0.5 {
                Some(rng.range(MIN_REFERENCE_SECONDS, obj.spec.window_s))
            } else {
                None
            };
            let steps: Vec<usize> = (0..batch).map(|_| rng.below(train_steps)).collect();
            let loss = obj.loss(unet, &rows, reference, &steps, rng)?;
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

/// Diffusion loss on validation clips with every condition, and with the picture or the
/// text removed: the gaps say how much the model reads each.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DiffusionValidation {
    /// Clips scored (each at several timesteps).
    pub clips: usize,
    /// Mean loss with text and picture.
    pub loss: f64,
    /// Mean loss with the picture features zeroed.
    pub loss_without_picture: f64,
    /// Mean loss with an empty description.
    pub loss_without_text: f64,
}

/// Score the U-Net of `model_dir` on `count` fixed validation clips, each at timesteps
/// spread over the schedule with the same noise for every variant.
pub fn validate_unet(
    model_dir: &Path,
    set: &SoundSet,
    count: usize,
    device: &Device,
) -> Result<DiffusionValidation> {
    let model = Model::load(model_dir, device)?;
    let obj = objective(&model, set, device, device.clone())?;
    let pool = super::vae::validation_pool(set)?;
    let train_steps = model.schedule.config.num_train_timesteps;
    let mut rng = NoiseRng::new(0xE7A3);
    let clips: Vec<SynthClip> = (0..count)
        .map(|k| synth_clip(set, pool[k % pool.len()], &obj.spec, &mut rng))
        .collect();
    let mut sums = [0.0f64; 3];
    let levels = [0.1, 0.3, 0.5, 0.7, 0.9];
    for (v, (text, visual)) in [(true, true), (true, false), (false, true)]
        .into_iter()
        .enumerate()
    {
        let mut noise_rng = NoiseRng::new(0xE7A4);
        for chunk in clips.chunks(8) {
            for level in levels {
                let rows: Vec<Row> = chunk
                    .iter()
                    .map(|c| Row {
                        clip: c.clone(),
                        text,
                        visual,
                    })
                    .collect();
                let steps = vec![(level * train_steps as f64) as usize; rows.len()];
                let loss = obj.loss(&model.unet, &rows, None, &steps, &mut noise_rng)?;
                sums[v] += scalar(&loss) * rows.len() as f64;
            }
        }
    }
    let n = (clips.len() * levels.len()).max(1) as f64;
    Ok(DiffusionValidation {
        clips: clips.len(),
        loss: sums[0] / n,
        loss_without_picture: sums[1] / n,
        loss_without_text: sums[2] / n,
    })
}

/// A tensor moved to another device through the host (frozen outputs into the graph).
fn to_device<const D: usize>(t: Tensor<D>, device: &Device) -> Result<Tensor<D>> {
    Ok(Tensor::from_data(t.into_data(), device))
}
