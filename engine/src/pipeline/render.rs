//! Rendering candidates: initial noises to latents (guided denoising, all candidates in one
//! batch), latents to log-mel spectrograms (VAE), spectrograms to 16 kHz waveforms (vocoder).
//! Scoring needs only the first two stages, so a search vocodes just its final picks.

use burn::tensor::{Device, Tensor, TensorData};

use super::denoise::{GuidedConditions, denoise};
use super::pretrained_vocoder::PretrainedVocoder;
use crate::dsp::MelSpectrogram;
use crate::dsp::griffin_lim::{GriffinLimConfig, log_mel_to_audio};
use crate::dsp::mel::MelExtractor;
use crate::error::{Error, Result};
use crate::models::unet::{ProjectedConditions, UNet2DConditionModel};
use crate::models::vae::AutoencoderKL;
use crate::models::vocoder::HifiGan;
use crate::noise::NoiseRng;
use crate::schedule::{NoiseSchedule, SamplerKind, sampler};

/// The networks of one model.
pub struct Networks<'a> {
    /// Denoiser.
    pub unet: &'a UNet2DConditionModel,
    /// Mel VAE.
    pub vae: &'a AutoencoderKL,
    /// Vocoder.
    pub vocoder: Vocoding<'a>,
    /// Training noise schedule.
    pub schedule: &'a NoiseSchedule,
}

/// Sampler settings of one render.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SamplerSettings {
    /// Which sampler.
    pub kind: SamplerKind,
    /// Steps.
    pub steps: usize,
    /// Classifier-free guidance scale.
    pub guidance: f64,
}

/// Latent shape `[C, T, F]` of one candidate.
pub type LatentShape = [usize; 3];

/// What to denoise under.
pub struct LatentJob<'a> {
    /// Unconditional and conditional rows of each window (batch `2W`, see
    /// [`ProjectedConditions::expand_pairs`]), projected once for every step and candidate.
    pub cond: &'a ProjectedConditions,
    /// Latent shape of one window.
    pub shape: LatentShape,
    /// Sampler settings.
    pub settings: SamplerSettings,
    /// Drives the fresh noise of stochastic samplers.
    pub seed: u64,
    /// Most candidates run through the network together (memory bound); 0 = all.
    pub max_batch: usize,
    /// Start from a draft instead of pure noise.
    pub variation: Option<Variation<'a>>,
}

/// SDEdit ("SDEdit: Guided Image Synthesis and Editing with Stochastic Differential
/// Equations", Meng et al. 2021): the draft's latents noised to the level of a point in the
/// schedule and denoised from there, so only the last `strength` of the steps run. Low
/// strengths keep the draft's timing and timbre; 1 is generation from noise.
#[derive(Debug, Clone, Copy)]
pub struct Variation<'a> {
    /// The draft's scaled latents, window by window (`W * C * T * F` values).
    pub draft: &'a [f32],
    /// Fraction of the schedule that runs, in (0, 1].
    pub strength: f64,
}

impl Variation<'_> {
    /// The index of the first of `steps` sampler steps that runs at `strength`: at least one
    /// step runs.
    pub fn first_step(strength: f64, steps: usize) -> usize {
        let run = ((strength.clamp(0.0, 1.0) * steps as f64).round() as usize).clamp(1, steps);
        steps - run
    }
}

/// Sampler steps a job runs per row: all of them from noise, the last `strength` of them
/// from a draft.
pub fn steps_run(settings: &SamplerSettings, strength: Option<f64>) -> usize {
    match strength {
        Some(s) => settings.steps - Variation::first_step(s, settings.steps),
        None => settings.steps,
    }
}

/// Reports rows (candidate windows) that advanced one step; returning `false` cancels.
pub type RowCallback<'a> = dyn FnMut(usize) -> bool + 'a;

/// Denoise `noises` (one per candidate window, candidate by candidate, each `C * T * F`
/// values) into latents `[n W, C, T, F]`, at most `max_batch` candidates at a time. Returns
/// `None` when `on_rows` cancels.
pub fn latents(
    nets: &Networks<'_>,
    job: &LatentJob<'_>,
    noises: &[&[f32]],
    device: &Device,
    on_rows: &mut RowCallback<'_>,
) -> Result<Option<Tensor<4>>> {
    let (shape, settings) = (job.shape, &job.settings);
    let w = (job.cond.rows() / 2).max(1);
    let per = shape.iter().product::<usize>();
    if noises.is_empty() || noises.len() % w != 0 || noises.iter().any(|x| x.len() != per) {
        return Err(Error::invalid(
            "every candidate window needs one noise of the latent's size",
        ));
    }
    if let Some(v) = &job.variation
        && v.draft.len() != w * per
    {
        return Err(Error::invalid(
            "the draft needs one latent of the latent's size per window",
        ));
    }
    let candidates = noises.len() / w;
    let chunk = if job.max_batch == 0 {
        candidates
    } else {
        job.max_batch.min(candidates)
    };
    let mut parts = Vec::with_capacity(candidates.div_ceil(chunk));
    for group in noises.chunks(chunk * w) {
        let rows = group.len();
        let mut s = sampler(settings.kind, nets.schedule, settings.steps)?;
        // Rows are candidate by candidate, window by window: row `r` varies window `r % w`.
        let (start, flat): (usize, Vec<f32>) = match &job.variation {
            None => (0, group.iter().flat_map(|x| x.iter().copied()).collect()),
            Some(v) => {
                let start = Variation::first_step(v.strength, settings.steps);
                let a = nets.schedule.alpha_bar(s.timesteps()[start]);
                let (keep, fresh) = (a.sqrt() as f32, (1.0 - a).sqrt() as f32);
                let flat = group
                    .iter()
                    .enumerate()
                    .flat_map(|(r, noise)| {
                        let draft = &v.draft[(r % w) * per..(r % w + 1) * per];
                        noise
                            .iter()
                            .zip(draft)
                            .map(move |(e, x)| keep * x + fresh * e)
                    })
                    .collect();
                (start, flat)
            }
        };
        let x = Tensor::from_data(
            TensorData::new(flat, [rows, shape[0], shape[1], shape[2]]),
            device,
        );
        let guided = GuidedConditions {
            both: job.cond.expand_pairs(rows / w),
            guidance: settings.guidance,
        };
        let mut rngs: Vec<NoiseRng> = group
            .iter()
            .map(|x| NoiseRng::new(job.seed ^ fingerprint(x)))
            .collect();
        let done = denoise(
            nets.unet,
            &guided,
            x,
            s.as_mut(),
            start,
            &mut rngs,
            device,
            &mut |_, _| on_rows(rows),
        );
        match done {
            Some(z) => parts.push(z),
            None => return Ok(None),
        }
    }
    Ok(Some(Tensor::cat(parts, 0)))
}

/// A 64-bit fingerprint of a noise (FNV-1a over its first values), naming the candidate.
pub(super) fn fingerprint(noise: &[f32]) -> u64 {
    noise
        .iter()
        .take(64)
        .fold(0xcbf2_9ce4_8422_2325u64, |h, v| {
            (h ^ u64::from(v.to_bits())).wrapping_mul(0x0100_0000_01b3)
        })
}

/// Decode latents `[n, C, T, F]` into log-mel spectrograms (`T * f` frames of `F * f` bands).
pub fn mels(
    vae: &AutoencoderKL,
    latents: Tensor<4>,
    hop_seconds: f64,
) -> Result<Vec<MelSpectrogram>> {
    let image = vae.decode(latents.div_scalar(vae.scaling_factor()));
    let [n, _, frames, bands] = image.dims();
    let values: Vec<f32> = image
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| Error::invalid(format!("cannot read the decoded spectrogram: {e:?}")))?;
    Ok(values
        .chunks_exact(frames * bands)
        .take(n)
        .map(|v| MelSpectrogram {
            n_mels: bands,
            n_frames: frames,
            hop_seconds,
            data: v.to_vec(),
        })
        .collect())
}

/// How spectrograms become waveforms.
#[derive(Clone, Copy)]
pub enum Vocoding<'a> {
    /// The model's neural vocoder (all spectrograms in one batch).
    Neural(&'a HifiGan),
    /// A pretrained vocoder with its own mel front end: the spectrograms are mapped onto it,
    /// vocoded in one batch and resampled to the model's rate.
    Pretrained(&'a PretrainedVocoder),
    /// Griffin-Lim phase reconstruction (seeded), for models whose vocoder measures worse
    /// than it.
    GriffinLim(GriffinLimConfig),
}

impl Vocoding<'_> {
    /// Griffin-Lim with librosa's defaults (32 iterations).
    pub const GRIFFIN_LIM: Self = Vocoding::GriffinLim(GriffinLimConfig::LIBROSA);

    /// The vocoding a search scores with. The verifiers read the sound through an embedding
    /// of its mel spectrogram, which phase detail barely moves, so Griffin-Lim runs a few
    /// iterations instead of the full reconstruction; neural vocoders are unchanged.
    pub fn draft(self) -> Self {
        match self {
            Vocoding::GriffinLim(c) => Vocoding::GriffinLim(GriffinLimConfig {
                n_iter: DRAFT_GRIFFIN_LIM_ITERATIONS.min(c.n_iter),
                nnls_iterations: DRAFT_NNLS_ITERATIONS.min(c.nnls_iterations),
                ..c
            }),
            other => other,
        }
    }
}

/// Griffin-Lim iterations of a search's draft waveforms.
pub const DRAFT_GRIFFIN_LIM_ITERATIONS: usize = 4;
/// Mel-to-linear NNLS iterations of a search's draft waveforms.
pub const DRAFT_NNLS_ITERATIONS: usize = 50;

/// Vocode log-mel spectrograms into waveforms, `hop` samples per frame or more.
pub fn waveforms(
    vocoder: Vocoding<'_>,
    mels: &[&MelSpectrogram],
    device: &Device,
) -> Result<Vec<Vec<f32>>> {
    match vocoder {
        Vocoding::Neural(v) => v.vocode(mels, device),
        Vocoding::Pretrained(v) => v.vocode(mels, device),
        Vocoding::GriffinLim(config) => {
            let extractor = MelExtractor::audioldm()?;
            let hop = extractor.config().hop_length;
            mels.iter()
                .map(|m| {
                    let mut wave = log_mel_to_audio(&extractor, m, &config)?;
                    wave.resize(m.n_frames * hop, 0.0);
                    Ok(wave)
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::adapters::Conditions;
    use crate::models::unet::{BlockKind, UNetConfig};
    use crate::models::vae::VaeConfig;
    use crate::models::vocoder::VocoderConfig;
    use crate::models::weights::Weights;
    use crate::schedule::ScheduleConfig;

    struct Tiny {
        unet: UNet2DConditionModel,
        vae: AutoencoderKL,
        vocoder: HifiGan,
        schedule: NoiseSchedule,
    }

    fn tiny(device: &Device) -> Tiny {
        let unet = UNetConfig {
            block_out_channels: vec![16, 16],
            down_block_types: vec![BlockKind::CrossAttnDownBlock2D, BlockKind::DownBlock2D],
            up_block_types: vec![BlockKind::UpBlock2D, BlockKind::CrossAttnUpBlock2D],
            layers_per_block: 1,
            attention_head_dim: vec![2],
            cross_attention_dim: 12,
            norm_num_groups: 4,
            ..UNetConfig::tango2()
        };
        let vae = VaeConfig {
            block_out_channels: vec![8, 8],
            layers_per_block: 1,
            norm_num_groups: 4,
            ..VaeConfig::audioldm()
        };
        let vocoder = VocoderConfig {
            model_in_dim: 16,
            upsample_initial_channel: 8,
            upsample_rates: vec![4, 2],
            upsample_kernel_sizes: vec![8, 4],
            resblock_kernel_sizes: vec![3],
            resblock_dilation_sizes: vec![vec![1, 3]],
            ..VocoderConfig::audioldm()
        };
        Tiny {
            unet: UNet2DConditionModel::load(&unet, &Weights::fresh(device), None).unwrap(),
            vae: AutoencoderKL::load(&vae, &Weights::fresh(device)).unwrap(),
            vocoder: HifiGan::load(&vocoder, &Weights::fresh(device)).unwrap(),
            schedule: NoiseSchedule::new(&ScheduleConfig::tango2()).unwrap(),
        }
    }

    impl Tiny {
        fn nets(&self) -> Networks<'_> {
            Networks {
                unet: &self.unet,
                vae: &self.vae,
                vocoder: Vocoding::Neural(&self.vocoder),
                schedule: &self.schedule,
            }
        }

        /// Text-only conditions of one window (its unconditional and conditional rows).
        fn conditions(&self, device: &Device) -> ProjectedConditions {
            let text: Tensor<3> = NoiseRng::new(5).tensor([2, 3, 12], device);
            self.unet.project(&Conditions::text(text, None))
        }
    }

    /// Without guidance only the conditional rows run, and the result is what guidance at
    /// 1 computes from both halves.
    #[test]
    fn unguided_sampling_skips_the_unconditional_rows() {
        let device = Device::flex();
        let t = tiny(&device);
        let nets = t.nets();
        let cond = t.conditions(&device);
        let noise = NoiseRng::new(1).normals(8 * 8 * 4);
        let run = |guidance: f64| {
            let job = LatentJob {
                cond: &cond,
                shape: [8, 8, 4],
                settings: SamplerSettings {
                    kind: SamplerKind::DpmSolver,
                    steps: 3,
                    guidance,
                },
                seed: 9,
                max_batch: 0,
                variation: None,
            };
            let z = latents(&nets, &job, &[&noise], &device, &mut |_| true)
                .unwrap()
                .unwrap();
            z.into_data().try_into_vec::<f32>().unwrap()
        };
        let (unguided, both) = (run(1.0), run(1.0 + 1e-12));
        let err = unguided
            .iter()
            .zip(&both)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(err < 1e-5, "{err}");
    }

    #[test]
    fn renders_shapes_deterministically_and_cancels_within_a_step() {
        let device = Device::flex();
        let t = tiny(&device);
        let nets = t.nets();
        let cond = t.conditions(&device);
        let shape = [8, 8, 4];
        let noise = NoiseRng::new(1).normals(8 * 8 * 4);
        let other = NoiseRng::new(2).normals(8 * 8 * 4);
        for kind in [SamplerKind::DpmSolver, SamplerKind::Ddpm] {
            let job = LatentJob {
                cond: &cond,
                shape,
                settings: SamplerSettings {
                    kind,
                    steps: 3,
                    guidance: 3.0,
                },
                seed: 9,
                max_batch: 0,
                variation: None,
            };
            let mut steps = Vec::new();
            let z = latents(&nets, &job, &[&noise, &other], &device, &mut |rows| {
                steps.push(rows);
                true
            })
            .unwrap()
            .unwrap();
            assert_eq!(z.dims(), [2, 8, 8, 4]);
            assert_eq!(steps, vec![2, 2, 2]);
            // The same noise gives the same candidate, alone or in a batch.
            let alone = latents(&nets, &job, &[&noise], &device, &mut |_| true)
                .unwrap()
                .unwrap();
            let a: Vec<f32> = alone.into_data().try_into_vec().unwrap();
            let b: Vec<f32> = z
                .clone()
                .narrow(0, 0, 1)
                .into_data()
                .try_into_vec()
                .unwrap();
            let err = a
                .iter()
                .zip(&b)
                .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(err < 1e-4, "{kind:?}: batch changes a candidate by {err}");

            let mels = mels(&t.vae, z, 0.01).unwrap();
            assert_eq!((mels.len(), mels[0].n_frames, mels[0].n_mels), (2, 16, 8));
        }
        let job = LatentJob {
            cond: &cond,
            shape,
            settings: SamplerSettings {
                kind: SamplerKind::Ddim,
                steps: 5,
                guidance: 1.0,
            },
            seed: 0,
            max_batch: 1,
            variation: None,
        };
        let mut calls = 0;
        let cancelled = latents(&nets, &job, &[&noise, &other], &device, &mut |_| {
            calls += 1;
            false
        })
        .unwrap();
        assert!(cancelled.is_none() && calls == 1);
        assert!(latents(&nets, &job, &[&noise[..5]], &device, &mut |_| true).is_err());
    }

    /// A variation runs only the last `strength` of the schedule, from the draft noised to
    /// that step; at a tiny strength the result stays near the draft.
    #[test]
    fn variations_run_the_last_part_of_the_schedule_from_the_draft() {
        assert_eq!(Variation::first_step(1.0, 25), 0);
        assert_eq!(Variation::first_step(0.5, 25), 12);
        assert_eq!(Variation::first_step(0.0, 25), 24, "at least one step runs");
        let settings = SamplerSettings {
            kind: SamplerKind::Ddim,
            steps: 20,
            guidance: 1.0,
        };
        assert_eq!(steps_run(&settings, None), 20);
        assert_eq!(steps_run(&settings, Some(0.25)), 5);

        let device = Device::flex();
        let t = tiny(&device);
        let nets = t.nets();
        let cond = t.conditions(&device);
        let noise = NoiseRng::new(4).normals(8 * 8 * 4);
        fn job<'a>(
            cond: &'a ProjectedConditions,
            settings: SamplerSettings,
            draft: &'a [f32],
            strength: f64,
        ) -> LatentJob<'a> {
            LatentJob {
                cond,
                shape: [8, 8, 4],
                settings,
                seed: 0,
                max_batch: 0,
                variation: Some(Variation { draft, strength }),
            }
        }
        let draft = NoiseRng::new(3).normals(8 * 8 * 4);
        let run = |strength: f64| {
            let job = job(&cond, settings, &draft, strength);
            let mut steps = 0;
            let z = latents(&nets, &job, &[&noise], &device, &mut |_| {
                steps += 1;
                true
            })
            .unwrap()
            .unwrap();
            (steps, z.into_data().try_into_vec::<f32>().unwrap())
        };
        let (steps, near) = run(0.05);
        assert_eq!(steps, 1);
        let (steps, far) = run(0.5);
        assert_eq!(steps, 10);
        let dist = |z: &[f32]| {
            (z.iter()
                .zip(&draft)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f32>()
                / z.len() as f32)
                .sqrt()
        };
        assert!(dist(&near) < dist(&far), "{} {}", dist(&near), dist(&far));
        // A draft of the wrong size is refused.
        let short = job(&cond, settings, &draft[..10], 0.5);
        assert!(latents(&nets, &short, &[&noise], &device, &mut |_| true).is_err());
    }

    #[test]
    fn vocoder_batches_spectrograms() {
        let device = Device::flex();
        let t = tiny(&device);
        let mel = MelSpectrogram {
            n_mels: 16,
            n_frames: 10,
            hop_seconds: 0.01,
            data: vec![-5.0; 160],
        };
        let waves = waveforms(Vocoding::Neural(&t.vocoder), &[&mel, &mel], &device).unwrap();
        assert_eq!(waves.len(), 2);
        assert_eq!(waves[0], waves[1]);
        assert_eq!(waves[0].len(), 80);
        assert!(
            waveforms(Vocoding::Neural(&t.vocoder), &[], &device)
                .unwrap()
                .is_empty()
        );
        // Griffin-Lim gives a hop of samples per frame too, from the model's 64-band mels.
        let mel64 = MelSpectrogram {
            n_mels: 64,
            n_frames: 10,
            hop_seconds: 0.01,
            data: vec![-5.0; 640],
        };
        let gl = waveforms(Vocoding::GRIFFIN_LIM, &[&mel64], &device).unwrap();
        assert_eq!(gl[0].len(), 10 * 160);
        assert!(gl[0].iter().all(|v| v.is_finite()) && gl[0].iter().any(|v| *v != 0.0));
    }
}
