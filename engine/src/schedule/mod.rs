//! Noise schedules and samplers, separate from the network as in diffusers: a sampler knows
//! the schedule and how to take one step from a model prediction, nothing about the model.
//!
//! One interface ([`Sampler`]): `timesteps()` for the chosen number of steps, then `step` once
//! per timestep, in order. Implementations: DDPM (Tango's default), DDIM (deterministic), and
//! DPM-Solver++ (2M) for few-step sampling. Both epsilon and v-prediction models are supported.

mod ddim;
mod ddpm;
mod dpm_solver;

use std::path::Path;

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

pub use ddim::Ddim;
pub use ddpm::Ddpm;
pub use dpm_solver::DpmSolverMultistep;

use crate::error::{Error, Result};

/// What the network predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prediction {
    /// The added noise.
    Epsilon,
    /// The velocity `sqrt(a) * noise - sqrt(1 - a) * x0` (Salimans and Ho, 2022).
    VPrediction,
}

/// Which sampler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SamplerKind {
    /// Ancestral DDPM sampling (stochastic; Tango's default, many steps).
    Ddpm,
    /// DDIM with eta = 0 (deterministic).
    Ddim,
    /// DPM-Solver++ second-order multistep (deterministic, good in 10-25 steps).
    DpmSolver,
}

impl std::str::FromStr for SamplerKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "ddpm" => Ok(Self::Ddpm),
            "ddim" => Ok(Self::Ddim),
            "dpm" | "dpm-solver" | "dpmsolver" | "dpm++" => Ok(Self::DpmSolver),
            other => Err(format!(
                "unknown scheduler `{other}` (ddpm, ddim, dpm-solver)"
            )),
        }
    }
}

/// The training noise schedule (a diffusers `scheduler_config.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleConfig {
    /// Training timesteps.
    pub num_train_timesteps: usize,
    /// First beta.
    pub beta_start: f64,
    /// Last beta.
    pub beta_end: f64,
    /// `scaled_linear` (betas linear in their square root) or `linear`.
    pub beta_schedule: String,
    /// What the model predicts.
    pub prediction_type: Prediction,
    /// Offset added to the inference timesteps ("leading" spacing).
    #[serde(default)]
    pub steps_offset: usize,
    /// DDIM: use alpha = 1 after the last step (else the first training alpha).
    #[serde(default)]
    pub set_alpha_to_one: bool,
}

impl ScheduleConfig {
    /// Stable Diffusion 2.1's schedule, which Tango-2 uses: scaled-linear betas
    /// 0.00085-0.012 over 1000 steps, v-prediction, steps offset 1.
    pub fn tango2() -> Self {
        Self {
            num_train_timesteps: 1000,
            beta_start: 0.00085,
            beta_end: 0.012,
            beta_schedule: "scaled_linear".into(),
            prediction_type: Prediction::VPrediction,
            steps_offset: 1,
            set_alpha_to_one: false,
        }
    }

    /// Read a diffusers `scheduler_config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let cfg: Self = serde_json::from_str(&text)
            .map_err(|e| Error::media(path, format!("invalid scheduler config: {e}")))?;
        NoiseSchedule::new(&cfg).map_err(|e| Error::media(path, e.to_string()))?;
        Ok(cfg)
    }
}

/// Betas and cumulative alphas, computed in f32 like the reference.
#[derive(Debug, Clone)]
pub struct NoiseSchedule {
    /// `alpha_bar_t` for t in 0..T.
    pub alphas_cumprod: Vec<f32>,
    /// The configuration it was built from.
    pub config: ScheduleConfig,
}

impl NoiseSchedule {
    /// Build the schedule.
    pub fn new(cfg: &ScheduleConfig) -> Result<Self> {
        let n = cfg.num_train_timesteps;
        if n < 2 || !(cfg.beta_start > 0.0 && cfg.beta_end < 1.0 && cfg.beta_start <= cfg.beta_end)
        {
            return Err(Error::invalid(
                "betas must satisfy 0 < beta_start <= beta_end < 1 over >= 2 steps",
            ));
        }
        let lin = |a: f64, b: f64| -> Vec<f32> {
            (0..n)
                .map(|i| (a + (b - a) * i as f64 / (n - 1) as f64) as f32)
                .collect()
        };
        let betas: Vec<f32> = match cfg.beta_schedule.as_str() {
            "scaled_linear" => lin(cfg.beta_start.sqrt(), cfg.beta_end.sqrt())
                .into_iter()
                .map(|b| b * b)
                .collect(),
            "linear" => lin(cfg.beta_start, cfg.beta_end),
            other => {
                return Err(Error::invalid(format!(
                    "unsupported beta schedule `{other}`"
                )));
            }
        };
        let mut acc = 1.0f32;
        let alphas_cumprod = betas
            .iter()
            .map(|b| {
                acc *= 1.0 - b;
                acc
            })
            .collect();
        Ok(Self {
            alphas_cumprod,
            config: cfg.clone(),
        })
    }

    /// `alpha_bar_t`.
    pub fn alpha_bar(&self, t: usize) -> f64 {
        f64::from(self.alphas_cumprod[t.min(self.alphas_cumprod.len() - 1)])
    }

    /// `x_t = sqrt(a) x0 + sqrt(1 - a) noise` (the forward process, for training).
    pub fn add_noise<const D: usize>(
        &self,
        x0: Tensor<D>,
        noise: Tensor<D>,
        t: usize,
    ) -> Tensor<D> {
        let a = self.alpha_bar(t);
        x0.mul_scalar(a.sqrt()) + noise.mul_scalar((1.0 - a).sqrt())
    }

    /// The v-prediction target `sqrt(a) noise - sqrt(1 - a) x0`.
    pub fn velocity<const D: usize>(&self, x0: Tensor<D>, noise: Tensor<D>, t: usize) -> Tensor<D> {
        let a = self.alpha_bar(t);
        noise.mul_scalar(a.sqrt()) - x0.mul_scalar((1.0 - a).sqrt())
    }

    /// The clean-sample and noise estimates from a model output at `t` with `alpha_bar = a`.
    pub fn x0_and_eps(
        &self,
        model_output: Tensor<4>,
        sample: Tensor<4>,
        a: f64,
    ) -> (Tensor<4>, Tensor<4>) {
        let (sa, sb) = (a.sqrt(), (1.0 - a).sqrt());
        match self.config.prediction_type {
            Prediction::Epsilon => {
                let x0 = (sample - model_output.clone().mul_scalar(sb)).div_scalar(sa);
                (x0, model_output)
            }
            Prediction::VPrediction => {
                let x0 = sample.clone().mul_scalar(sa) - model_output.clone().mul_scalar(sb);
                let eps = model_output.mul_scalar(sa) + sample.mul_scalar(sb);
                (x0, eps)
            }
        }
    }

    /// "Leading" inference timesteps: `k * (T / n) + offset`, descending.
    fn leading_timesteps(&self, n: usize) -> Vec<usize> {
        let ratio = self.config.num_train_timesteps / n.max(1);
        (0..n)
            .rev()
            .map(|k| k * ratio + self.config.steps_offset)
            .collect()
    }
}

/// "Leading" timesteps and their stride, shared by DDPM and DDIM.
struct LeadingSteps {
    schedule: NoiseSchedule,
    timesteps: Vec<usize>,
    stride: usize,
}

impl LeadingSteps {
    fn new(schedule: NoiseSchedule, steps: usize) -> Self {
        let timesteps = schedule.leading_timesteps(steps);
        let stride = schedule.config.num_train_timesteps / steps;
        Self {
            schedule,
            timesteps,
            stride,
        }
    }

    /// The timestep one stride before `t` (`None` past the start).
    fn previous(&self, t: usize) -> Option<usize> {
        t.checked_sub(self.stride)
    }
}

/// One sampling trajectory's stepping rule.
pub trait Sampler: Send {
    /// The timesteps to visit, in order.
    fn timesteps(&self) -> &[usize];
    /// Whether [`Sampler::step`] needs fresh Gaussian noise.
    fn is_stochastic(&self) -> bool {
        false
    }
    /// From the model output at `timesteps()[index]` and the current sample, the next sample.
    /// `noise` (same shape) is used by stochastic samplers only.
    fn step(
        &mut self,
        index: usize,
        model_output: Tensor<4>,
        sample: Tensor<4>,
        noise: Option<Tensor<4>>,
    ) -> Tensor<4>;
    /// The schedule it samples.
    fn schedule(&self) -> &NoiseSchedule;
}

/// A sampler of `kind` over `steps` steps.
pub fn sampler(
    kind: SamplerKind,
    schedule: &NoiseSchedule,
    steps: usize,
) -> Result<Box<dyn Sampler>> {
    if steps == 0 || steps > schedule.config.num_train_timesteps {
        return Err(Error::invalid(format!(
            "steps must be between 1 and {}",
            schedule.config.num_train_timesteps
        )));
    }
    Ok(match kind {
        SamplerKind::Ddpm => Box::new(Ddpm::new(schedule.clone(), steps)),
        SamplerKind::Ddim => Box::new(Ddim::new(schedule.clone(), steps)),
        SamplerKind::DpmSolver => Box::new(DpmSolverMultistep::new(schedule.clone(), steps)),
    })
}
