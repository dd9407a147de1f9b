//! Training the default model (paper section 3.4), stage by stage: the mel VAE, the vocoder,
//! the U-Net with its adapters (encoders frozen, condition dropout for classifier-free
//! guidance), and the verifier heads that score audio against text. Every stage runs the same
//! loop ([`fit`]): AdamW with warm-up and gradient clipping, a loss log, checkpoints that
//! resume exactly, and an optional weight average. Data come from a [`dataset::SoundSet`]
//! built from any folder of sound files; the picture is synthesised ([`synth`]).

pub mod captions;
pub mod dataset;
pub mod diffusion;
pub mod heads;
pub mod run;
pub mod spectral;
pub mod synth;
pub mod vae;
pub mod vocoder;
pub mod vocoder_compare;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

use crate::error::{Error, Result};
use crate::models::weights::ParamNames;
use crate::noise::NoiseRng;
use run::Run;

pub use dataset::{DatasetOptions, SoundSet, Split, build_dataset};
pub use run::{Run as TrainRun, TrainSettings};

/// Steps between updates of the weight average (its decay is raised to this power).
const EMA_EVERY: usize = 5;

/// Where a stage is, for progress display.
#[derive(Debug, Clone)]
pub struct TrainProgress {
    /// Steps done.
    pub step: usize,
    /// Steps to reach.
    pub steps: usize,
    /// Loss terms of the last step.
    pub losses: Vec<(&'static str, f64)>,
    /// Training seconds so far (all sessions).
    pub seconds: f64,
}

/// The random generator of `step`: a function of the seed and the step only, so a resumed run
/// sees the data, noise and dropout it would have seen without the interruption.
pub fn step_rng(seed: u64, step: usize) -> NoiseRng {
    NoiseRng::new(seed ^ (step as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03))
}

/// Optimise `module` until the run's step target: `loss_of` builds one batch's loss (the
/// first term of its list is the total that is minimised). Checkpoints go to the run.
pub fn fit<M: Module>(
    run: &mut Run,
    mut module: M,
    names: &ParamNames,
    mut loss_of: impl FnMut(&M, &mut NoiseRng) -> Result<(Tensor<1>, Vec<(&'static str, f64)>)>,
    progress: &mut dyn FnMut(&TrainProgress),
) -> Result<M> {
    let mut optim = run.optimizer()?;
    let settings = run.state.settings.clone();
    while run.state.step < settings.steps {
        let mut rng = step_rng(settings.seed, run.state.step);
        let (loss, terms) = loss_of(&module, &mut rng)?;
        if terms.iter().any(|(_, v)| !v.is_finite()) {
            return Err(Error::invalid(format!(
                "the loss diverged at step {} ({terms:?}); resume from the last checkpoint \
                 with a lower learning rate",
                run.state.step
            )));
        }
        let grads = GradientsParams::from_grads(loss.backward(), &module);
        let lr = settings.learning_rate_at(run.state.step);
        module = optim.step(lr, module, grads);
        run.state.step += 1;
        run.record(&terms)?;
        let step = run.state.step;
        if settings.ema_decay > 0.0 && step % EMA_EVERY == 0 {
            let decay = settings.ema_decay.powi(EMA_EVERY as i32);
            run.ema.update(&names.state_of(&module), decay)?;
        }
        if step % settings.checkpoint_every == 0 || step == settings.steps {
            run.checkpoint(&names.state_of(&module), &optim)?;
        }
        progress(&TrainProgress {
            step,
            steps: settings.steps,
            losses: terms,
            seconds: run.seconds(),
        });
    }
    Ok(module)
}

/// The scalar value of a one-element tensor.
pub fn scalar(t: &Tensor<1>) -> f64 {
    t.clone()
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .ok()
        .and_then(|v| v.first().copied())
        .map_or(f64::NAN, f64::from)
}
