//! DDPM ancestral sampling ("Denoising Diffusion Probabilistic Models", Ho et al. 2020), as
//! diffusers' `DDPMScheduler` with "leading" spacing and the fixed-small variance.

use burn::tensor::Tensor;

use super::{NoiseSchedule, Sampler};

/// The DDPM sampler.
pub struct Ddpm {
    schedule: NoiseSchedule,
    timesteps: Vec<usize>,
    stride: usize,
}

impl Ddpm {
    /// Sample in `steps` steps.
    pub fn new(schedule: NoiseSchedule, steps: usize) -> Self {
        let timesteps = schedule.leading_timesteps(steps);
        let stride = schedule.config.num_train_timesteps / steps;
        Self {
            schedule,
            timesteps,
            stride,
        }
    }
}

impl Sampler for Ddpm {
    fn timesteps(&self) -> &[usize] {
        &self.timesteps
    }

    fn is_stochastic(&self) -> bool {
        true
    }

    fn schedule(&self) -> &NoiseSchedule {
        &self.schedule
    }

    fn step(
        &mut self,
        index: usize,
        model_output: Tensor<4>,
        sample: Tensor<4>,
        noise: Option<Tensor<4>>,
    ) -> Tensor<4> {
        let t = self.timesteps[index];
        let a_t = self.schedule.alpha_bar(t);
        let a_prev = t
            .checked_sub(self.stride)
            .map_or(1.0, |p| self.schedule.alpha_bar(p));
        let (beta_t, beta_prev) = (1.0 - a_t, 1.0 - a_prev);
        let alpha_t = a_t / a_prev;
        let current_beta = 1.0 - alpha_t;
        let (x0, _) = self.schedule.x0_and_eps(model_output, sample.clone(), a_t);
        let mean = x0.mul_scalar(a_prev.sqrt() * current_beta / beta_t)
            + sample.mul_scalar(alpha_t.sqrt() * beta_prev / beta_t);
        match noise {
            Some(noise) if t > 0 => {
                let variance = (beta_prev / beta_t * current_beta).max(1e-20);
                mean + noise.mul_scalar(variance.sqrt())
            }
            _ => mean,
        }
    }
}
