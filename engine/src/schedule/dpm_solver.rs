//! DPM-Solver++ (2M) ("DPM-Solver++: Fast Solver for Guided Sampling of Diffusion
//! Probabilistic Models", Lu et al. 2022), as diffusers' `DPMSolverMultistepScheduler` with
//! `dpmsolver++`, order 2, midpoint update, linspace timesteps, first-order first and last
//! steps and a final sigma of zero (the last step returns the clean-sample estimate).

use burn::tensor::Tensor;

use super::{NoiseSchedule, Sampler};

/// The DPM-Solver++ (2M) sampler.
pub struct DpmSolverMultistep {
    schedule: NoiseSchedule,
    timesteps: Vec<usize>,
    /// Noise levels `sqrt((1 - a) / a)` at each timestep, then 0.
    sigmas: Vec<f64>,
    /// The previous step's clean-sample estimate.
    previous_x0: Option<Tensor<4>>,
}

impl DpmSolverMultistep {
    /// Sample in `steps` steps.
    pub fn new(schedule: NoiseSchedule, steps: usize) -> Self {
        let last = schedule.config.num_train_timesteps - 1;
        let timesteps: Vec<usize> = (0..=steps)
            .rev()
            .take(steps)
            .map(|k| (last as f64 * k as f64 / steps as f64).round_ties_even() as usize)
            .collect();
        let mut sigmas: Vec<f64> = timesteps
            .iter()
            .map(|&t| {
                let a = schedule.alphas_cumprod[t];
                f64::from(((1.0 - a) / a).sqrt())
            })
            .collect();
        sigmas.push(0.0);
        Self {
            schedule,
            timesteps,
            sigmas,
            previous_x0: None,
        }
    }

    /// `(alpha_t, sigma_t, lambda_t)` of a noise level.
    fn coefficients(sigma: f64) -> (f64, f64, f64) {
        let alpha = 1.0 / (sigma * sigma + 1.0).sqrt();
        let s = sigma * alpha;
        (alpha, s, alpha.ln() - s.ln())
    }
}

impl Sampler for DpmSolverMultistep {
    fn timesteps(&self) -> &[usize] {
        &self.timesteps
    }

    fn schedule(&self) -> &NoiseSchedule {
        &self.schedule
    }

    fn step(
        &mut self,
        index: usize,
        model_output: Tensor<4>,
        sample: Tensor<4>,
        _noise: Option<Tensor<4>>,
    ) -> Tensor<4> {
        let (alpha_s0, sigma_s0, lambda_s0) = Self::coefficients(self.sigmas[index]);
        let (alpha_t, sigma_t, lambda_t) = Self::coefficients(self.sigmas[index + 1]);
        let (x0, _) = self
            .schedule
            .x0_and_eps(model_output, sample.clone(), alpha_s0 * alpha_s0);
        let h = lambda_t - lambda_s0;
        let decay = alpha_t * ((-h).exp() - 1.0);
        let first_order = index == 0 || index + 1 == self.timesteps.len();
        let prev = match (&self.previous_x0, first_order) {
            (Some(x0_prev), false) => {
                let (_, _, lambda_s1) = Self::coefficients(self.sigmas[index - 1]);
                let r0 = (lambda_s0 - lambda_s1) / h;
                let d1 = (x0.clone() - x0_prev.clone()).div_scalar(r0);
                sample.mul_scalar(sigma_t / sigma_s0)
                    - x0.clone().mul_scalar(decay)
                    - d1.mul_scalar(0.5 * decay)
            }
            _ => sample.mul_scalar(sigma_t / sigma_s0) - x0.clone().mul_scalar(decay),
        };
        self.previous_x0 = Some(x0);
        prev
    }
}
